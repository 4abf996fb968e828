"""The device flow and sign-out, through an in-process MCP client session against the fake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from guard.gate import Admission, admitting
from tests import auth_support
from tests.auth_support import SlowOAuth, accept, auth_calls, flow, keyring_entry, sign_in, stored
from tests.conftest import FakeTime, Session, text_of
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.fake import Fault
from trakt_mcp.sandbox.routes.oauth import OAuthState
from trakt_mcp.trakt.errors import NotSignedIn

DEVICE_TOKEN = "/oauth/device/token"

#: The sign-in tests record every token the fake issues (see auth_support).
fake = auth_support.fake

#: What the guard admits a call of fetch_user_watched_shows as (guard.gate): these tests call the client directly.
WATCHED = Admission("fetch_user_watched_shows", None, "call")


async def call(client: Any, tool: str) -> str:
    result = await client.call_tool(tool, {})
    assert not result.is_error, text_of(result)
    return text_of(result)


async def test_sign_in_pending_then_approved(session: Session, fake: FakeTrakt, fake_time: FakeTime, app: App) -> None:
    async with session() as client:
        started = await call(client, "start_device_auth")
        code = flow(fake).latest()
        assert code.user_code in started and "https://trakt.tv/activate" in started
        assert "check_auth_status" in started and "valid until" in started

        too_early = await call(client, "check_auth_status")
        assert "Check again in 5 seconds" in too_early
        assert auth_calls(fake, DEVICE_TOKEN) == 0

        fake_time.now += 5
        pending = await call(client, "check_auth_status")
        assert "Waiting for you" in pending and code.user_code in pending
        assert auth_calls(fake, DEVICE_TOKEN) == 1

        flow(fake).approve()
        fake_time.now += 5
        done = await call(client, "check_auth_status")
        assert "Signed in" in done and "valid until" in done
        assert auth_calls(fake, DEVICE_TOKEN) == 2

        again = await call(client, "check_auth_status")
        assert "Signed in" in again and auth_calls(fake, DEVICE_TOKEN) == 2

    token = stored(app)
    assert token is not None and fake.token_valid(token.access_token)
    assert keyring_entry() is not None, "the token lives in the keyring backend"
    with admitting(Admission("fetch_trending_shows", None, "call")):
        sent = await app.client.get("/shows/trending", auth=True)
    assert sent.status == 200
    assert fake.calls[-1].headers["authorization"] == f"Bearer {token.access_token}"


def _used(state: OAuthState) -> None:
    state.latest().status = "used"


def _unknown(state: OAuthState) -> None:
    state.codes.clear()


@pytest.mark.parametrize(
    ("turn", "expected"),
    [
        (OAuthState.deny, "denied"),
        (OAuthState.expire, "expired"),
        (_used, "already used"),
        (_unknown, "does not know this device code"),
    ],
)
async def test_final_device_states_end_the_flow(
    session: Session, fake: FakeTrakt, fake_time: FakeTime, turn: Callable[[OAuthState], None], expected: str
) -> None:
    async with session() as client:
        await call(client, "start_device_auth")
        turn(flow(fake))
        fake_time.now += 5
        answer = await call(client, "check_auth_status")
        assert expected in answer and "start_device_auth" in answer
        fake_time.now += 5
        after = await call(client, "check_auth_status")
    assert "no sign-in in progress" in after
    assert auth_calls(fake, DEVICE_TOKEN) == 1, "a finished code is not polled again"


async def test_code_expired_locally_is_not_polled(session: Session, fake: FakeTrakt, fake_time: FakeTime) -> None:
    async with session() as client:
        await call(client, "start_device_auth")
        fake_time.now += 601
        answer = await call(client, "check_auth_status")
    assert "expired" in answer
    assert auth_calls(fake, DEVICE_TOKEN) == 0


async def test_slow_down_lengthens_the_interval(session: Session, fake: FakeTrakt, fake_time: FakeTime) -> None:
    flow(fake).slow_down = 1
    async with session() as client:
        await call(client, "start_device_auth")
        fake_time.now += 5
        slowed = await call(client, "check_auth_status")
        assert "poll less often" in slowed and "Check again in 10 seconds" in slowed
        fake_time.now += 5
        early = await call(client, "check_auth_status")
        assert "Check again in 5 seconds" in early
        assert auth_calls(fake, DEVICE_TOKEN) == 1
        flow(fake).approve()
        fake_time.now += 5
        assert "Signed in" in await call(client, "check_auth_status")


async def test_start_when_signed_in_says_so(session: Session, fake: FakeTrakt, app: App) -> None:
    await sign_in(app, fake)
    async with session() as client:
        answer = await call(client, "start_device_auth")
    assert "Already signed in" in answer and "clear_auth" in answer
    assert auth_calls(fake, "/oauth/device/code") == 0


async def test_user_calls_before_sign_in_point_to_start_device_auth(
    session: Session, fake: FakeTrakt, app: App
) -> None:
    with admitting(WATCHED), pytest.raises(NotSignedIn, match="call start_device_auth"):
        await app.client.get("/sync/watched/shows", auth=True)
    assert fake.calls == [], "nothing is sent without a token"
    async with session() as client:
        answer = await call(client, "check_auth_status")
    assert "start_device_auth" in answer


async def test_status_resource_reads_without_polling(
    session: Session, fake: FakeTrakt, fake_time: FakeTime, app: App
) -> None:
    async with session() as client:
        before = await client.read_resource("trakt://user/auth/status")
        await call(client, "start_device_auth")
        fake_time.now += 5
        during = await client.read_resource("trakt://user/auth/status")
        await sign_in(app, fake)
        after = await client.read_resource("trakt://user/auth/status")
    texts = [r.contents[0].text for r in (before, during, after)]  # type: ignore[union-attr]
    assert "Signed in: no" in texts[0] and "keyring" in texts[0]
    assert flow(fake).latest().user_code in texts[1]
    assert "Signed in: yes" in texts[2]
    assert auth_calls(fake, DEVICE_TOKEN) == 0, "reading the status never polls Trakt"


async def test_clear_auth_revokes_removes_and_then_has_nothing(session: Session, fake: FakeTrakt, app: App) -> None:
    token = await sign_in(app, fake)
    async with session(elicitation_callback=accept) as client:
        first = await call(client, "clear_auth")
        second = await call(client, "clear_auth")
    assert "revoked at Trakt" in first
    assert "Nothing to clear" in second
    (revoke,) = fake.calls_to("POST", "/oauth/revoke")
    assert revoke.body == {
        "token": token.access_token,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
    }
    assert not fake.token_valid(token.access_token)
    assert stored(app) is None and keyring_entry() is None


async def test_clear_auth_when_revoke_fails_still_removes(session: Session, fake: FakeTrakt, app: App) -> None:
    token = await sign_in(app, fake)
    fake.inject(Fault(exception=httpx.ConnectError, path_prefix="/oauth/revoke"))
    async with session(elicitation_callback=accept) as client:
        answer = await call(client, "clear_auth")
    assert "revoking it at Trakt failed" in answer and "Could not reach Trakt" in answer
    assert stored(app) is None
    assert fake.token_valid(token.access_token), "the fake never got the revoke"
    with admitting(WATCHED), pytest.raises(NotSignedIn):
        await app.client.get("/sync/watched/shows", auth=True)


async def test_clear_auth_forgets_a_pending_flow(session: Session, fake: FakeTrakt, fake_time: FakeTime) -> None:
    async with session(elicitation_callback=accept) as client:
        await call(client, "start_device_auth")
        answer = await call(client, "clear_auth")
        fake_time.now += 5
        after = await call(client, "check_auth_status")
    assert "pending sign-in code was forgotten" in answer
    assert "no sign-in in progress" in after
    assert fake.calls_to("POST", "/oauth/revoke") == []


async def test_auth_tools_are_declared_for_the_guard(session: Session, app: App) -> None:
    async with session() as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    clear = listed["clear_auth"].annotations
    assert clear is not None and clear.destructive_hint and not clear.read_only_hint
    for name in ("start_device_auth", "check_auth_status"):
        hints = listed[name].annotations
        assert hints is not None and not hints.read_only_hint and not hints.destructive_hint
        assert listed[name].input_schema.get("properties") == {}
    from trakt_mcp.tools import tools_by_name

    spec = tools_by_name()["clear_auth"]
    assert spec.group == "auth" and spec.risk == "destructive"
    assert await spec.describe(app, {}) == "Log out of Trakt and revoke this server's token"


async def test_a_second_start_keeps_the_code_already_given(
    session: Session, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    """The user may already be typing the first code: starting again must not silently replace it."""
    async with session() as client:
        first = await call(client, "start_device_auth")
        code = flow(fake).latest().user_code
        fake_time.now += 2
        second = await call(client, "start_device_auth")
        assert code in first and code in second
        assert auth_calls(fake, "/oauth/device/code") == 1
        flow(fake).codes[next(iter(flow(fake).codes))].status = "approved"
        fake_time.now += 5
        assert "Signed in" in await call(client, "check_auth_status")


async def test_concurrent_checks_poll_trakt_once(
    session: Session, fake: FakeTrakt, fake_time: FakeTime, app: App
) -> None:
    app.auth.http = SlowOAuth(app.auth.http)
    async with session() as client:
        await call(client, "start_device_auth")
        flow(fake).approve()
        fake_time.now += 5
        answers: list[str] = []

        async def check() -> None:
            answers.append(await call(client, "check_auth_status"))

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(check)
    assert auth_calls(fake, DEVICE_TOKEN) == 1
    assert not any("already used" in answer for answer in answers), answers


async def test_wrong_client_secret_while_polling_says_what_to_fix(
    session: Session, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    fake.client_secret = "the secret Trakt expects"
    async with session() as client:
        await call(client, "start_device_auth")
        fake_time.now += 5
        result = await client.call_tool("check_auth_status", {})
    assert result.is_error
    assert "TRAKT_CLIENT_SECRET" in text_of(result) and "start_device_auth" not in text_of(result)


async def test_clear_auth_when_trakt_refuses_the_revoke(session: Session, fake: FakeTrakt, app: App) -> None:
    await sign_in(app, fake)
    for fault in (
        Fault(status=503, path_prefix="/oauth/revoke"),
        Fault(status=301, headers={"Location": "https://api.trakt.tv/oauth/revoke"}, path_prefix="/oauth/revoke"),
        Fault(status=401, path_prefix="/oauth/revoke"),
    ):
        fake.inject(fault)
        async with session(elicitation_callback=accept) as client:
            answer = await call(client, "clear_auth")
        assert "Removed the token" in answer and "revoking it at Trakt failed" in answer
        assert f"Trakt answered {fault.status}" in answer
        assert stored(app) is None
        await sign_in(app, fake)
    assert "TRAKT_CLIENT_SECRET" in answer and "start_device_auth" not in answer
