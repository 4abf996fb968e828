"""Fixtures and helpers for the sign-in tests: one clock for the fake and the server, a recorded token history."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from mcp import types

from tests.conftest import FakeTime
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.routes.oauth import OAuthState, oauth_state
from trakt_mcp.sandbox.wire import IssuedToken
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from trakt_mcp.trakt.tokens import SERVICE, Token


@pytest.fixture
def fake(fake_time: FakeTime) -> FakeTrakt:
    trakt = FakeTrakt(clock=fake_time.clock)
    issued: list[IssuedToken] = []
    original = trakt.issue_token

    def recording(expires_in: int = 7776000) -> IssuedToken:
        token = original(expires_in)
        issued.append(token)
        return token

    trakt.issue_token = recording  # type: ignore[method-assign]
    trakt.issued = issued  # type: ignore[attr-defined]
    return trakt


def issued(fake: FakeTrakt) -> list[IssuedToken]:
    """Every token pair the fake has handed out in this test."""
    result: list[IssuedToken] = fake.issued  # type: ignore[attr-defined]
    return result


def secrets_of(fake: FakeTrakt) -> list[str]:
    values = [SANDBOX_CLIENT_SECRET]
    for token in issued(fake):
        values += [token.access_token, token.refresh_token]
    return values


def assert_no_secrets(fake: FakeTrakt, *texts: str) -> None:
    for text in texts:
        for secret in secrets_of(fake):
            assert secret not in text


async def sign_in(app: App, fake: FakeTrakt, expires_in: int = 7776000) -> IssuedToken:
    token = fake.issue_token(expires_in)
    await app.auth.accept_token(fake.token_json(token))
    return token


def stored(app: App) -> Token | None:
    """What the token store holds now (read afresh, not the server's memory)."""
    token: Token | None = app.auth.store.load()
    return token


def keyring_entry() -> str | None:
    from tests.memory_keyring import MemoryKeyring

    return MemoryKeyring.store.get((SERVICE, SANDBOX_CLIENT_ID))


def flow(fake: FakeTrakt) -> OAuthState:
    return oauth_state(fake)


def auth_calls(fake: FakeTrakt, path: str) -> int:
    return len(fake.calls_to("POST", path))


def bearer(call: Any) -> str:
    return str(call.headers.get("authorization", "")).removeprefix("Bearer ")


async def accept(context: Any, params: Any) -> types.ElicitResult:
    """A human who confirms (clear_auth is destructive: a guard may ask)."""
    return types.ElicitResult(action="accept", content={"confirm": True})


class SlowOAuth:
    """The server's OAuth HTTP client, yielding to other tasks before each call so waiters really pile up."""

    def __init__(self, http: httpx.AsyncClient, only: str | None = None) -> None:
        self.http = http
        self.only = only

    async def post(self, path: str, **options: Any) -> httpx.Response:
        for _ in range(10 if self.only in (None, path) else 0):
            await anyio.sleep(0)
        return await self.http.post(path, **options)
