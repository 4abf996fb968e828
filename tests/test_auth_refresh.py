"""Refresh: ahead of expiry, after a 401, one at a time, stored before use; failures; no secret ever shown."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx
import pytest

from guard.gate import Admission, admitting
from tests import auth_support
from tests.auth_support import SlowOAuth, accept, assert_no_secrets, auth_calls, bearer, flow, sign_in, stored
from tests.conftest import FakeTime, Session, text_of
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.fake import Fault
from trakt_mcp.trakt.auth import REFRESH_MARGIN
from trakt_mcp.trakt.errors import NetworkError, NotSignedIn, TraktError
from trakt_mcp.trakt.tokens import TokenStoreError

TOKEN = "/oauth/token"
HOUR = 3600

#: The sign-in tests record every token the fake issues (see auth_support).
fake = auth_support.fake


async def user_call(app: App) -> str:
    """An authenticated call, admitted as the guard admits a tool call (guard.gate); returns its access token."""
    with admitting(Admission("fetch_trending_shows", None, "call")):
        await app.client.get("/shows/trending", auth=True)
    return bearer(app.fake.calls[-1])  # type: ignore[union-attr]


async def test_token_near_expiry_is_refreshed_transparently(app: App, fake: FakeTrakt, fake_time: FakeTime) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    assert await user_call(app) == old.access_token
    assert auth_calls(fake, TOKEN) == 0
    fake_time.now += HOUR - REFRESH_MARGIN + 1
    used = await user_call(app)
    assert used != old.access_token and fake.token_valid(used)
    assert auth_calls(fake, TOKEN) == 1
    body = fake.calls_to("POST", TOKEN)[0].body
    assert body["refresh_token"] == old.refresh_token and body["grant_type"] == "refresh_token"
    assert body["redirect_uri"] == "urn:ietf:wg:oauth:2.0:oob"


async def test_401_mid_call_refreshes_and_retries_once(app: App, fake: FakeTrakt) -> None:
    old = await sign_in(app, fake)
    fake.inject(Fault(status=401, path_prefix="/shows/trending"))
    used = await user_call(app)
    trending = fake.calls_to("GET", "/shows/trending")
    assert [bearer(c) for c in trending] == [old.access_token, used]
    assert used != old.access_token and auth_calls(fake, TOKEN) == 1


async def test_401_again_after_refresh_is_reported_not_looped(app: App, fake: FakeTrakt) -> None:
    await sign_in(app, fake)
    fake.inject(Fault(status=401, path_prefix="/shows/trending", times=5))
    with pytest.raises(TraktError, match="401"):
        await user_call(app)
    assert len(fake.calls_to("GET", "/shows/trending")) == 2 and auth_calls(fake, TOKEN) == 1


async def test_fifty_concurrent_calls_share_one_refresh(app: App, fake: FakeTrakt, fake_time: FakeTime) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    app.auth.http = SlowOAuth(app.auth.http)
    fake_time.now += 2 * HOUR
    used: list[str] = []

    async def one() -> None:
        used.append(await user_call(app))

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(one)
    assert auth_calls(fake, TOKEN) == 1
    assert len(used) == 50 and len(set(used)) == 1 and old.access_token not in used


async def test_fifty_concurrent_401s_share_one_refresh(app: App, fake: FakeTrakt) -> None:
    await sign_in(app, fake)
    app.auth.http = SlowOAuth(app.auth.http)
    results: list[str] = []

    async def one() -> None:
        results.append(await user_call(app))

    fake.inject(Fault(status=401, path_prefix="/shows/trending", times=50))
    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(one)
    assert auth_calls(fake, TOKEN) == 1 and len(set(results)) == 1


async def test_rotated_pair_is_stored_before_it_is_used(
    app: App, fake: FakeTrakt, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    store = app.auth.store
    save = store.save
    sent_before_save: list[int] = []

    def watching_save(token: Any) -> None:
        sent_before_save.append(sum(bearer(c) == token.access_token for c in fake.calls))
        save(token)

    monkeypatch.setattr(store, "save", watching_save)
    fake_time.now += 2 * HOUR
    used = await user_call(app)
    assert sent_before_save == [0]
    kept = stored(app)
    assert kept is not None and kept.access_token == used and kept.refresh_token != old.refresh_token
    assert old.refresh_token not in fake.refresh_tokens, "Trakt rotated the refresh token"


async def test_refreshed_pair_that_cannot_be_saved_is_reported_and_kept(
    app: App, fake: FakeTrakt, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    store = app.auth.store

    def locked(token: Any) -> None:
        raise TokenStoreError("Could not save the Trakt token in keyring: KeyringLocked: locked")

    monkeypatch.setattr(store, "save", locked)
    fake_time.now += 2 * HOUR
    with pytest.raises(TokenStoreError, match="KeyringLocked"):
        await user_call(app)
    kept = stored(app)
    assert kept is not None and kept.refresh_token == old.refresh_token, "the store still holds the retired pair"
    used = await user_call(app)
    assert fake.token_valid(used) and auth_calls(fake, TOKEN) == 1, "the unsaved new pair is used, not the dead one"


async def test_network_failure_during_refresh_keeps_the_old_refresh_token(
    app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    fake_time.now += 2 * HOUR
    fake.inject(Fault(exception=httpx.ConnectError, path_prefix=TOKEN))
    with pytest.raises(NetworkError, match="Could not reach Trakt"):
        await user_call(app)
    kept = stored(app)
    assert kept is not None and kept.refresh_token == old.refresh_token
    used = await user_call(app)
    assert fake.token_valid(used) and auth_calls(fake, TOKEN) == 2


async def test_network_failure_before_expiry_keeps_using_the_valid_token(
    app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    fake_time.now += HOUR - 60
    fake.inject(Fault(exception=httpx.ReadTimeout, path_prefix=TOKEN))
    assert await user_call(app) == old.access_token


@pytest.mark.parametrize("status", [400, 401])
async def test_invalid_grant_clears_the_token(app: App, fake: FakeTrakt, fake_time: FakeTime, status: int) -> None:
    await sign_in(app, fake, expires_in=HOUR)
    fake.inject(Fault(status=status, path_prefix=TOKEN, body=b'{"error": "invalid_grant"}'))
    fake_time.now += 2 * HOUR
    with pytest.raises(NotSignedIn, match=r"invalid_grant.*start_device_auth"):
        await user_call(app)
    assert stored(app) is None
    with pytest.raises(NotSignedIn):
        await user_call(app)
    assert auth_calls(fake, TOKEN) == 1


async def test_token_stored_by_another_process_is_adopted(app: App, fake: FakeTrakt, fake_time: FakeTime) -> None:
    """`trakt-mcp login` (another process) stored a new pair: the server uses it instead of refreshing."""
    await sign_in(app, fake, expires_in=HOUR)
    newer = fake.issue_token()
    app.auth.store.save(_token_of(app, fake.token_json(newer)))
    fake_time.now += 2 * HOUR
    assert await user_call(app) == newer.access_token
    assert auth_calls(fake, TOKEN) == 0


def _token_of(app: App, answer: dict[str, Any]) -> Any:
    from trakt_mcp.trakt.auth import parse_token

    return parse_token(answer, app.auth.now())


async def test_no_secret_in_logs_results_or_errors(
    session: Session,
    app: App,
    fake: FakeTrakt,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    async with session(elicitation_callback=accept) as client:
        for tool in ("start_device_auth", "check_auth_status"):
            seen.append(text_of(await client.call_tool(tool, {})))
        device_code = next(iter(flow(fake).codes))
        assert device_code not in repr(app.auth.pending) and all(device_code not in text for text in seen)
        flow(fake).approve()
        fake_time.now += 5
        seen.append(text_of(await client.call_tool("check_auth_status", {})))
        seen.append(text_of(await client.call_tool("start_device_auth", {})))
        seen.append(str((await client.read_resource("trakt://user/auth/status")).contents))
        fake.inject(Fault(status=401, path_prefix="/shows/trending"))
        await user_call(app)
        fake_time.now += 100 * 86400
        await user_call(app)
        fake_time.now += 100 * 86400
        for failing in (
            Fault(exception=httpx.ConnectError, path_prefix=TOKEN),
            Fault(status=401, path_prefix=TOKEN, body=b'{"error": "invalid_grant"}'),
        ):
            fake.inject(failing)
            with pytest.raises(TraktError) as caught:
                await user_call(app)
            seen += [str(caught.value), repr(caught.value)]
        await sign_in(app, fake)
        fake.inject(Fault(exception=httpx.ConnectError, path_prefix="/oauth/revoke"))
        seen.append(text_of(await client.call_tool("clear_auth", {})))
        seen.append(repr(app.auth.token()))
    assert auth_calls(fake, TOKEN) == 4, "the scan covered two refreshes and two failed ones"
    out, err = capsys.readouterr()
    assert_no_secrets(fake, caplog.text, out, err, *seen)


async def test_callers_waiting_on_a_failed_refresh_share_its_failure(
    app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    """Trakt unreachable with an expired token: 50 waiting calls get one refresh attempt's error, not 50 attempts."""
    await sign_in(app, fake, expires_in=HOUR)
    app.auth.http = SlowOAuth(app.auth.http)
    fake_time.now += 2 * HOUR
    fake.inject(Fault(exception=httpx.ConnectError, path_prefix=TOKEN, times=99))
    errors: list[str] = []

    async def one() -> None:
        try:
            await user_call(app)
        except NetworkError as exc:
            errors.append(str(exc))

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(one)
    assert len(errors) == 50 and all("Could not reach Trakt" in e for e in errors)
    assert auth_calls(fake, TOKEN) == 1


@pytest.mark.parametrize(
    "fault", [Fault(status=503, path_prefix=TOKEN), Fault(status=200, body=b"<html>", path_prefix=TOKEN)]
)
async def test_a_failed_early_refresh_keeps_the_valid_token_and_waits_before_trying_again(
    app: App, fake: FakeTrakt, fake_time: FakeTime, fault: Fault
) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    fake_time.now += HOUR - 120
    fake.inject(fault)
    assert await user_call(app) == old.access_token
    assert await user_call(app) == old.access_token
    assert auth_calls(fake, TOKEN) == 1, "no second attempt right after a failed one"
    fake_time.now += 61
    used = await user_call(app)
    assert used != old.access_token and auth_calls(fake, TOKEN) == 2


async def test_wrong_client_secret_on_refresh_keeps_the_token_and_says_what_to_fix(
    app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    old = await sign_in(app, fake, expires_in=HOUR)
    fake.client_secret = "the secret Trakt expects"  # the server was started with another one
    fake_time.now += 2 * HOUR
    with pytest.raises(TraktError, match="TRAKT_CLIENT_SECRET") as caught:
        await user_call(app)
    assert "start_device_auth" not in str(caught.value)
    kept = stored(app)
    assert kept is not None and kept.refresh_token == old.refresh_token, "a configuration mistake costs no token"


async def test_invalid_grant_does_not_remove_a_pair_another_process_stored_meanwhile(
    app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    """`trakt-mcp login` stores a new pair while this server's refresh (with the old one) is being refused."""
    await sign_in(app, fake, expires_in=HOUR)
    newer = fake.issue_token()
    http = app.auth.http

    class LoginMeanwhile:
        async def post(self, path: str, **options: Any) -> httpx.Response:
            app.auth.store.save(_token_of(app, fake.token_json(newer)))
            return await http.post(path, **options)

    app.auth.http = LoginMeanwhile()
    fake.inject(Fault(status=401, path_prefix=TOKEN, body=b'{"error": "invalid_grant"}'))
    fake_time.now += 2 * HOUR
    assert await user_call(app) == newer.access_token
    kept = stored(app)
    assert kept is not None and kept.refresh_token == newer.refresh_token


async def test_a_pair_that_could_not_be_saved_is_saved_on_a_later_call(
    app: App, fake: FakeTrakt, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keyring was locked for a moment: the rotated pair must still reach it, or the next start logs out."""
    await sign_in(app, fake, expires_in=HOUR)
    store = app.auth.store
    save = store.save
    failures = [TokenStoreError("Could not save the Trakt token in keyring: KeyringLocked: locked")]

    def locked_once(token: Any) -> None:
        if failures:
            raise failures.pop()
        save(token)

    monkeypatch.setattr(store, "save", locked_once)
    fake_time.now += 2 * HOUR
    with pytest.raises(TokenStoreError):
        await user_call(app)
    used = await user_call(app)
    kept = stored(app)
    assert kept is not None and kept.access_token == used and fake.token_valid(used)


async def test_sign_out_during_a_refresh_leaves_nothing_stored(
    session: Session, app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    await sign_in(app, fake, expires_in=HOUR)
    http = app.auth.http
    in_flight, release = anyio.Event(), anyio.Event()

    class HeldRefresh:
        """Trakt has rotated the pair; its answer is still on the way back."""

        async def post(self, path: str, **options: Any) -> httpx.Response:
            response = await http.post(path, **options)
            if path == TOKEN:
                in_flight.set()
                await release.wait()
            return response

    app.auth.http = HeldRefresh()
    fake_time.now += 2 * HOUR
    answers: list[str] = []
    async with session(elicitation_callback=accept) as client:

        async def sign_out() -> None:
            await in_flight.wait()
            answers.append(text_of(await client.call_tool("clear_auth", {})))

        async def let_the_refresh_finish() -> None:
            await in_flight.wait()
            for _ in range(500):
                await anyio.sleep(0)
            release.set()

        async with anyio.create_task_group() as group:
            group.start_soon(user_call, app)
            group.start_soon(sign_out)
            group.start_soon(let_the_refresh_finish)
    assert "Signed out" in answers[0]
    assert stored(app) is None and app.auth.token() is None
    assert not any(fake.token_valid(t.access_token) for t in auth_support.issued(fake)), "every pair is revoked"
