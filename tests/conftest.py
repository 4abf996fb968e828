"""Shared fixtures: a fake Trakt, settings pointing at it, the App, and in-process MCP client sessions.

Every test talks to the fake (an httpx transport, no sockets); nothing reaches the real Trakt or the network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, types

from tests.memory_keyring import MemoryKeyring
from tests.postgres_support import postgres_cluster, postgres_url
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.wire import IssuedToken
from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.settings import SANDBOX_API_URL, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings

__all__ = ["postgres_cluster", "postgres_url"]  # the PostgreSQL fixtures (tests/postgres_support.py)

#: Running on several workers (pytest-xdist): the `alone` mark and the `figure` fixture.
pytest_plugins = ["tests.parallel_support"]


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Run every `async def` test under anyio (asyncio backend) without a marker on each."""
    if isinstance(collector, pytest.Module):
        collector.add_marker(pytest.mark.anyio)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's real Trakt settings, keyring or state folder, or opens a dialog on their screen
    (a test that wants the desktop channel starts its own virtual display)."""
    for name in ("TRAKT_CLIENT_ID", "TRAKT_CLIENT_SECRET", "TRAKT_API_URL", "TRAKT_MCP_POLICY", "TRAKT_MCP_STATE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAKT_MCP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.memory_keyring.MemoryKeyring")
    MemoryKeyring.store.clear()


class FakeTime:
    """A clock and sleep that never wait: sleeping advances the clock and is recorded.

    It starts at a realistic unix time and is shared by the fake Trakt and the server (pacing, retries and token
    expiry), so "expires in an hour" means the same to both."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fake(fake_time: FakeTime) -> FakeTrakt:
    return FakeTrakt(clock=fake_time.clock)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,  # type: ignore[arg-type]
        api_url=SANDBOX_API_URL,
        home=tmp_path / "home",
    )


@pytest.fixture
async def app(settings: Settings, fake: FakeTrakt, fake_time: FakeTime) -> AsyncIterator[App]:
    application = create_app(settings, fake=fake, sleep=fake_time.sleep, clock=fake_time.clock)
    yield application
    await application.aclose()


Session = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def session(app: App) -> Session:
    """`async with session() as client:` an in-process MCP client session on a server bound to `app`.

    Options: mode="legacy" (handshake era, default) or "auto" (modern era); elicitation_callback=...
    """

    @asynccontextmanager
    async def open_session(mode: str = "legacy", **options: Any) -> AsyncIterator[Client]:
        server = build_server(app)
        async with Client(server, mode=mode, **options) as client:  # type: ignore[arg-type]
            yield client

    return open_session


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


@pytest.fixture
async def signed_in(app: App, fake: FakeTrakt) -> IssuedToken:
    """The user is signed in: the fake issued a fresh token and the server stored it. Returns the fake's token."""
    token = fake.issue_token()
    await app.auth.accept_token(fake.token_json(token))
    return token
