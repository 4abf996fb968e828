"""OAuth endpoints: device code, device token polling, refresh with rotating refresh tokens, revoke.

Tests steer the device flow through `oauth_state(fake)`: approve(), deny(), expire(), and `slow_down` (how many
polls answer 429). With `fake.auto_approve` (sandbox mode) a device code is approved after its first poll.
"""

from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.wire import FakeRequest, FakeServer, IssuedToken, Reply, error
from trakt_mcp.trakt.errors import TraktError
from trakt_mcp.trakt.tokens import TokenStore, TokenStoreError

if TYPE_CHECKING:
    from trakt_mcp.trakt.auth import AuthManager

VERIFICATION_URL = "https://trakt.tv/activate"
DEVICE_CODE_LIFETIME = 600
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

CodeStatus = Literal["pending", "approved", "denied", "used"]


@dataclass
class DeviceCode:
    user_code: str
    expires_at: float
    status: CodeStatus = "pending"
    polls: int = 0


@dataclass
class OAuthState:
    """The fake's device codes, and the knobs tests turn."""

    interval: int = 5
    #: The next this-many polls answer 429 (slow down).
    slow_down: int = 0
    codes: dict[str, DeviceCode] = field(default_factory=dict)

    def latest(self) -> DeviceCode:
        return list(self.codes.values())[-1]

    def approve(self) -> None:
        self.latest().status = "approved"

    def deny(self) -> None:
        self.latest().status = "denied"

    def expire(self) -> None:
        self.latest().expires_at = float("-inf")


_STATES: weakref.WeakKeyDictionary[FakeServer, OAuthState] = weakref.WeakKeyDictionary()


def oauth_state(fake: FakeServer) -> OAuthState:
    """The fake's OAuth state; the sandbox (auto-approve) polls every second so nobody waits long."""
    return _STATES.setdefault(fake, OAuthState(interval=1 if fake.auto_approve else 5))


def trust_stored(fake: FakeServer, store: TokenStore) -> None:
    """Accept the token an earlier sandbox run stored (each run starts a new fake)."""
    try:
        token = store.load()
    except TokenStoreError:
        return  # reported when the token is first needed
    if token is None:
        return
    issued = IssuedToken(token.access_token, token.refresh_token, token.expires_at, int(token.created_at))
    fake.tokens[issued.access_token] = issued
    fake.refresh_tokens[issued.refresh_token] = issued


def trust_pending(fake: FakeServer, auth: AuthManager) -> None:
    """Know the device code of a sign-in an earlier sandbox process started (it finishes in this one)."""
    try:
        flow = auth.pending
    except TraktError:
        return  # reported when sign-in next uses it
    if flow is not None:
        status: CodeStatus = "approved" if fake.auto_approve else "pending"
        oauth_state(fake).codes.setdefault(flow.device_code, DeviceCode(flow.user_code, flow.expires_at, status))


def _body(request: FakeRequest) -> dict[str, Any]:
    return request.body if isinstance(request.body, dict) else {}


def _client_ok(request: FakeRequest, *, secret: bool = True) -> bool:
    body = _body(request)
    fake = request.fake
    return body.get("client_id") == fake.client_id and (not secret or body.get("client_secret") == fake.client_secret)


def _invalid_client() -> Reply:
    return error(401, "invalid_client", error_description="unknown client ID or wrong client secret")


@route("POST", "/oauth/device/code")
def device_code(request: FakeRequest) -> Reply:
    if not _client_ok(request, secret=False):
        return _invalid_client()
    state = oauth_state(request.fake)
    code = secrets.token_hex(32)
    user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    state.codes[code] = DeviceCode(user_code, request.fake.clock() + DEVICE_CODE_LIFETIME)
    return Reply(
        {
            "device_code": code,
            "user_code": user_code,
            "verification_url": request.fake.verification_url or VERIFICATION_URL,
            "expires_in": DEVICE_CODE_LIFETIME,
            "interval": state.interval,
        }
    )


@route("POST", "/oauth/device/token")
def device_token(request: FakeRequest) -> Reply:
    if not _client_ok(request):
        return _invalid_client()
    state = oauth_state(request.fake)
    code = state.codes.get(str(_body(request).get("code", "")))
    if code is None:
        return error(404, "invalid device code")
    code.polls += 1
    if code.status == "used":
        return error(409, "code already used")
    if code.expires_at <= request.fake.clock():
        return error(410, "code expired")
    if code.status == "denied":
        return error(418, "denied by user")
    if state.slow_down > 0:
        state.slow_down -= 1
        return error(429, "slow down")
    if code.status == "approved":
        code.status = "used"
        return Reply(request.fake.token_json(request.fake.issue_token()))
    if request.fake.auto_approve:
        code.status = "approved"
    return error(400, "pending")


@route("POST", "/oauth/token")
def refresh(request: FakeRequest) -> Reply:
    if not _client_ok(request):
        return _invalid_client()
    body = _body(request)
    old = request.fake.refresh_tokens.get(str(body.get("refresh_token", "")))
    if body.get("grant_type") != "refresh_token" or old is None:
        return error(401, "invalid_grant", error_description="the refresh token is invalid, expired or revoked")
    request.fake.revoke(old.access_token)
    return Reply(request.fake.token_json(request.fake.issue_token()))


@route("POST", "/oauth/revoke")
def revoke(request: FakeRequest) -> Reply:
    if not _client_ok(request):
        return _invalid_client()
    request.fake.revoke(str(_body(request).get("token", "")))
    return Reply({})
