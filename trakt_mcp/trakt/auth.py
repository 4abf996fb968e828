"""Sign-in: the OAuth device flow, the stored token, refresh (one at a time) and revoke.

AuthManager is the client's TokenSource. Trakt rotates refresh tokens, so a refreshed pair is saved before it is
used, and at most one refresh is in flight: every caller waiting on it gets its result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import httpx

from trakt_mcp.settings import Settings, how_to_configure
from trakt_mcp.trakt.client import Report, unreported
from trakt_mcp.trakt.errors import (
    InvalidClient,
    MalformedResponse,
    NotConfigured,
    NotSignedIn,
    Redirected,
    TraktError,
    TraktHTTPError,
    error_for_status,
    transport_failure,
)
from trakt_mcp.trakt.signins import DeviceFlow, InMemorySignIns, PendingSignIns
from trakt_mcp.trakt.tokens import Token, TokenStore, TokenStoreError, UnreadableToken, open_token_store

#: Refresh this long before the access token expires.
REFRESH_MARGIN = 300.0
#: After a refresh failed while the token is still valid, keep using it this long before trying again.
REFRESH_RETRY_DELAY = 60.0
#: A pending device code is given again by start_device_auth while it has at least this long left.
REUSE_FLOW_FOR = 60.0
#: Trakt's "slow down" (429) adds this many seconds to the polling interval.
SLOW_DOWN_STEP = 5.0
REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"

Now = Callable[[], float]
State = Literal["signed_in", "pending", "wait", "slow_down", "invalid", "used", "expired", "denied", "no_flow"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceState:
    state: State
    message: str
    #: The device code is finished with (forget it).
    final: bool = False


#: What each answer of POST /oauth/device/token means.
DEVICE_STATES: dict[int, DeviceState] = {
    400: DeviceState("pending", "Waiting for you to enter the code on Trakt."),
    404: DeviceState("invalid", "Trakt does not know this device code. Start again with start_device_auth.", True),
    409: DeviceState("used", "This code was already used. Start again with start_device_auth.", True),
    410: DeviceState("expired", "The code expired before it was approved. Start again with start_device_auth.", True),
    418: DeviceState("denied", "The sign-in was denied on Trakt. Start again with start_device_auth to retry.", True),
    429: DeviceState("slow_down", "Trakt asked to poll less often."),
}
NO_FLOW = DeviceState("no_flow", "Not signed in and no sign-in in progress: call start_device_auth first.")
LOCALLY_EXPIRED = DEVICE_STATES[410]


@dataclass(frozen=True)
class PollResult:
    state: DeviceState
    #: Seconds until the next poll is allowed (pending, too early, slow down).
    wait: float = 0.0
    token: Token | None = None


@dataclass(frozen=True)
class SignOut:
    had_token: bool
    had_flow: bool
    #: Why revoking at Trakt failed (the local token was removed anyway), or None.
    revoke_error: str | None = None


def _invalid_token_answer(field: str) -> MalformedResponse:
    return MalformedResponse(f"Trakt's token answer has no valid {field}; sign in again with start_device_auth.")


def parse_token(data: Any, now: float) -> Token:
    """Validate a token answer (access_token, refresh_token, expires_in, created_at). Never echoes values."""
    if not isinstance(data, dict):
        raise _invalid_token_answer("body")
    for field in ("access_token", "refresh_token"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise _invalid_token_answer(field)
    expires_in = data.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise _invalid_token_answer("expires_in")
    created_at = data.get("created_at", now)
    if isinstance(created_at, bool) or not isinstance(created_at, int | float):
        raise _invalid_token_answer("created_at")
    scope = data.get("scope")
    return Token(
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        expires_at=float(created_at) + float(expires_in),
        created_at=float(created_at),
        scope=scope if isinstance(scope, str) else "public",
    )


class AuthManager:
    """Device flow + token lifecycle for one client ID. Implements the client's TokenSource protocol."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        store: TokenStore | None = None,
        now: Now = time.time,
        pending: PendingSignIns | None = None,
        redirect_uri: str = REDIRECT_URI,
    ) -> None:
        self.settings = settings
        #: The redirect URI the token was obtained with (Trakt wants it again on refresh): the device flow's
        #: out-of-band one, or multi-user mode's callback.
        self.redirect_uri = redirect_uri
        self.http = http
        self.now = now
        self._store = store
        self._token: Token | None = None
        #: The refresh token the store held when this process last read or wrote it.
        self._seen_in_store: str | None = None
        self._pending: PendingSignIns = pending if pending is not None else InMemorySignIns()
        self._refresh_lock = anyio.Lock()
        #: Tells the MCP client a device code is being polled (wired in by trakt_mcp.server.guarded).
        self.progress: Report = unreported
        #: A refreshed pair the store refused: saved again on each later use until it is kept.
        self._unsaved: Token | None = None
        #: Refresh attempts so far, and how the last one failed: callers who waited on it share its outcome.
        self._attempts = 0
        self._failure: TraktError | None = None
        self._failed_at: float | None = None

    @property
    def store(self) -> TokenStore:
        """Opened on first use, so a keyring problem is reported where the token is needed, not at start-up."""
        if self._store is None:
            self._store = open_token_store(self.settings)
        return self._store

    @property
    def pending(self) -> DeviceFlow | None:
        return self._pending.load()

    def token(self) -> Token | None:
        """The signed-in token (read from the store the first time), or None. Never calls Trakt."""
        if self._token is None:
            self._token = self.store.load()
            self._seen_in_store = self._token.refresh_token if self._token else None
        return self._token

    # -- TokenSource ------------------------------------------------------------------------------------------

    async def access_token(self) -> str:
        token = self.token()
        if token is None:
            raise NotSignedIn(sandbox=self.settings.sandbox)
        self._save_unsaved_quietly()
        if self._fresh(token) or self._resting(token):
            return token.access_token
        attempts = self._attempts
        async with self._refresh_lock:
            token = self._adopt_stored() or self.token()
            if token is None:
                raise NotSignedIn(sandbox=self.settings.sandbox)
            if self._fresh(token):
                return token.access_token
            try:
                return (await self._refresh_unless_failed(token, attempts)).access_token
            except (NotSignedIn, TokenStoreError):
                raise
            except TraktError:
                if token.expires_at > self.now():
                    log.warning("Could not refresh the Trakt token; the current one is still valid.")
                    return token.access_token
                raise

    async def refresh_after_unauthorized(self, rejected: str) -> str:
        attempts = self._attempts
        async with self._refresh_lock:
            token = self._adopt_stored() or self.token()
            if token is None:
                raise NotSignedIn(sandbox=self.settings.sandbox)
            if token.access_token != rejected:
                return token.access_token
            return (await self._refresh_unless_failed(token, attempts)).access_token

    def _fresh(self, token: Token) -> bool:
        return token.expires_at - REFRESH_MARGIN > self.now()

    def _resting(self, token: Token) -> bool:
        """A refresh failed moments ago and the token still works: do not make every call wait on Trakt again."""
        now = self.now()
        return self._failed_at is not None and now - self._failed_at < REFRESH_RETRY_DELAY and token.expires_at > now

    async def _refresh_unless_failed(self, token: Token, attempts: int) -> Token:
        """Refresh, unless a refresh this caller was waiting on has just failed: then that failure is its answer
        too (50 calls waiting on an unreachable Trakt get one attempt, not 50 in a row)."""
        if self._attempts != attempts and self._failure is not None:
            raise self._failure
        return await self._refresh(token)

    def _adopt_stored(self) -> Token | None:
        """Another process (`trakt-mcp login`, another server) may have stored a newer pair since: use it."""
        stored = self.store.load()
        if stored is None or stored.refresh_token == self._seen_in_store:
            return None
        self._token, self._seen_in_store = stored, stored.refresh_token
        return stored

    async def _refresh(self, token: Token) -> Token:
        self._attempts += 1
        self._failure = None
        try:
            response = await self._post(
                "/oauth/token",
                {
                    "refresh_token": token.refresh_token,
                    **self._credentials(),
                    "redirect_uri": self.redirect_uri,
                    "grant_type": "refresh_token",
                },
            )
            if response.status_code in (400, 401) and _error_code(response) == "invalid_grant":
                return self._after_invalid_grant()
            if response.status_code >= 400:
                raise _oauth_error(response)
            fresh = parse_token(_json(response), self.now())
        except NotSignedIn:
            raise
        except TraktError as exc:
            self._failure, self._failed_at = exc, self.now()
            raise
        self._failed_at = None
        log.info("Refreshed the Trakt token.")
        return self._keep(fresh)

    def _after_invalid_grant(self) -> Token:
        """Trakt refused the refresh token. Another process may have stored a newer pair meanwhile: use that;
        otherwise the sign-in is over (only then is the store cleared)."""
        newer = self._adopt_stored()
        if newer is not None:
            return newer
        self._forget_token()
        raise NotSignedIn(
            "Trakt no longer accepts your sign-in (invalid_grant); it was removed.", sandbox=self.settings.sandbox
        )

    # -- sign-in ----------------------------------------------------------------------------------------------

    async def accept_token(self, token_json: dict[str, Any]) -> None:
        """Validate a token answer from Trakt and store it (the tests' `signed_in` fixture uses this)."""
        self._keep(parse_token(token_json, self.now()))

    def _keep(self, token: Token) -> Token:
        """Store first, then use: a refreshed pair that is used but not stored would log the user out.

        Trakt has already retired the previous pair, so a new one the store refuses is still kept in memory (and
        the failure raised); later calls try to store it again."""
        self._token = self._unsaved = token
        self._save_unsaved()
        return token

    def _save_unsaved(self) -> None:
        token = self._unsaved
        if token is not None:
            self.store.save(token)
            self._unsaved, self._seen_in_store = None, token.refresh_token

    def _save_unsaved_quietly(self) -> None:
        """Retry storing a refused pair. Its first failure was already raised to the caller; now only logged."""
        try:
            self._save_unsaved()
        except TokenStoreError as exc:
            log.warning("The refreshed Trakt token is still not saved (it is kept in memory): %s", exc)

    def _token_unless_unreadable(self) -> Token | None:
        """The token, or None when the store holds something unreadable (signing in again replaces it)."""
        try:
            return self.token()
        except UnreadableToken:
            return None

    async def start_device(self) -> DeviceFlow | Token:
        """Ask Trakt for a device code; the current token when already signed in; the pending code when one was
        given moments ago (the user may be typing it)."""
        token = self._token_unless_unreadable()
        if token is not None:
            return token
        current = self._pending.load()
        if current is not None and current.expires_at - self.now() > REUSE_FLOW_FOR:
            return current
        response = await self._post("/oauth/device/code", {"client_id": self._credentials()["client_id"]})
        if response.status_code >= 400:
            raise _oauth_error(response)
        data = _json(response)
        try:
            interval = float(data.get("interval", 5))
            now = self.now()
            flow = DeviceFlow(
                device_code=str(data["device_code"]),
                user_code=str(data["user_code"]),
                verification_url=str(data["verification_url"]),
                expires_at=now + float(data["expires_in"]),
                interval=interval,
                next_poll_at=now + interval,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise MalformedResponse("Trakt's device code answer is incomplete; try again.") from None
        self._pending.save(flow)
        return flow

    async def poll(self) -> PollResult:
        """Poll Trakt once for the pending device code, unless it is too early (then say how long to wait)."""
        token = self._token_unless_unreadable()
        if token is not None:
            return PollResult(DeviceState("signed_in", "Signed in to Trakt."), token=token)
        flow = self._pending.load()
        if flow is None:
            return PollResult(NO_FLOW)
        now = self.now()
        if now >= flow.expires_at:
            self._pending.clear()
            return PollResult(LOCALLY_EXPIRED)
        if now < flow.next_poll_at:
            return PollResult(DeviceState("wait", "Too early to ask Trakt again."), wait=flow.next_poll_at - now)
        flow.next_poll_at = now + flow.interval  # taken now, so a concurrent check cannot poll twice
        left = max(flow.expires_at - now, 0.0)
        await self.progress(f"Asking Trakt whether the sign-in code was approved ({left:.0f} s left to approve)")
        self._pending.save(flow)
        response = await self._post("/oauth/device/token", {"code": flow.device_code, **self._credentials()})
        if response.status_code == 200:
            self._pending.clear()
            token = self._keep(parse_token(_json(response), self.now()))
            return PollResult(DeviceState("signed_in", "Signed in to Trakt."), token=token)
        state = DEVICE_STATES.get(response.status_code)
        if state is None:
            raise _oauth_error(response)
        if state.final:
            self._pending.clear()
            return PollResult(state)
        if state.state == "slow_down":
            flow.interval += SLOW_DOWN_STEP
        flow.next_poll_at = self.now() + flow.interval
        self._pending.save(flow)
        return PollResult(state, wait=flow.interval)

    async def sign_out(self) -> SignOut:
        """Revoke at Trakt, remove locally (even when the revoke fails) and forget any pending device code.

        It waits for a refresh in flight, so the pair that refresh brings is the one revoked and removed."""
        had_flow = self._pending.load() is not None
        self._pending.clear()
        async with self._refresh_lock:
            try:
                token = self.token()
            except UnreadableToken:
                self._forget_token()
                unreadable = "the stored token was unreadable, so it could not be sent to Trakt to revoke."
                return SignOut(had_token=True, had_flow=had_flow, revoke_error=unreadable)
            if token is None:
                return SignOut(had_token=False, had_flow=had_flow)
            revoke_error: str | None = None
            try:
                response = await self._post("/oauth/revoke", {"token": token.access_token, **self._credentials()})
                if response.status_code >= 400:
                    revoke_error = str(_oauth_error(response))
            except TraktError as exc:
                revoke_error = str(exc)
            self._forget_token()
        return SignOut(had_token=True, had_flow=had_flow, revoke_error=revoke_error)

    def _forget_token(self) -> None:
        self._token = self._seen_in_store = self._unsaved = None
        self.store.clear()

    # -- HTTP -------------------------------------------------------------------------------------------------

    def check_credentials(self) -> None:
        """Raise what stops a sign-in from starting: no client ID, or no client secret (the message says how)."""
        self._credentials()

    def _credentials(self) -> dict[str, str]:
        if not self.settings.client_id:
            raise NotConfigured()
        if not self.settings.secret:
            raise TraktError(f"Trakt sign-in needs the client secret (TRAKT_CLIENT_SECRET). {how_to_configure()}")
        return {"client_id": self.settings.client_id, "client_secret": self.settings.secret}

    async def _post(self, path: str, body: dict[str, str]) -> httpx.Response:
        """One OAuth call, never retried: a poll or a rotating refresh must not be sent twice by accident.
        A redirect is refused here (never read as a success: a revoke that was redirected did not happen)."""
        try:
            response = await self.http.post(path, json=body)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise transport_failure(exc, write=False) from None
        if 300 <= response.status_code < 400:
            raise Redirected(response.status_code)
        return response


def _error_code(response: httpx.Response) -> str | None:
    """The OAuth `error` field of an answer ("invalid_grant", "invalid_client"...), when there is one."""
    try:
        data = response.json()
    except ValueError:
        return None
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) else None


def _oauth_error(response: httpx.Response) -> TraktHTTPError:
    """A failed sign-in call. A 401 here is about the app's credentials, not the user's sign-in (signing in
    again would not help), unless Trakt says the refresh token itself was refused."""
    if response.status_code == 401 and _error_code(response) != "invalid_grant":
        return InvalidClient()
    return error_for_status(response.status_code)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise MalformedResponse(f"Trakt answered {response.status_code} with a body that is not JSON.") from None


__all__ = ["AuthManager", "DeviceFlow", "PollResult", "SignOut", "TokenStoreError"]
