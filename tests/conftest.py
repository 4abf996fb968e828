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
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.server import build_server, create_app
from trakt_mcp.settings import SANDBOX_API_URL, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Run every `async def` test under anyio (asyncio backend) without a marker on each."""
    if isinstance(collector, pytest.Module):
        collector.add_marker(pytest.mark.anyio)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's real Trakt settings, keyring or state folder."""
    for name in ("TRAKT_CLIENT_ID", "TRAKT_CLIENT_SECRET", "TRAKT_API_URL", "TRAKT_MCP_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAKT_MCP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.memory_keyring.MemoryKeyring")
    MemoryKeyring.store.clear()


class FakeTime:
    """A clock and sleep that never wait: sleeping advances the clock and is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
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
def fake() -> FakeTrakt:
    return FakeTrakt()


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


class StaticTokens:
    """A token source holding one fixed token (used until the sign-in module is wired into the App)."""

    def __init__(self, access_token: str) -> None:
        self.token = access_token

    async def access_token(self) -> str:
        return self.token

    async def refresh_after_unauthorized(self, rejected: str) -> str:
        from trakt_mcp.errors import NotSignedIn

        raise NotSignedIn("Trakt refused the stored token.")


@pytest.fixture
async def signed_in(app: App, fake: FakeTrakt) -> Any:
    """The user is signed in: the fake knows a fresh token and the App holds it. Returns the fake's token."""
    token = fake.issue_token()
    accept = getattr(app.auth, "accept_token", None)
    if accept is not None:
        await accept(fake.token_json(token))
    else:
        app.client.tokens = StaticTokens(token.access_token)
    return token
