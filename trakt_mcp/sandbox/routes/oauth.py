"""OAuth endpoints: device code, device token polling, refresh with rotating refresh tokens, revoke.

Tests steer the device flow through `oauth_state(fake)`: approve(), deny(), expire(), and `slow_down` (how many
polls answer 429). With `fake.auto_approve` (sandbox mode) a device code is approved after its first poll.
"""

from __future__ import annotations

import html
import secrets
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode

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
    if body.get("grant_type") == "authorization_code":
        return _code_grant(request, body)
    old = request.fake.refresh_tokens.get(str(body.get("refresh_token", "")))
    if body.get("grant_type") != "refresh_token" or old is None:
        return error(401, "invalid_grant", error_description="the refresh token is invalid, expired or revoked")
    request.fake.revoke(old.access_token)
    fake = request.fake
    # alice's stays alice's (and tests that replace issue_token with their own keep working)
    issued = fake.issue_token() if old.account is None else fake.issue_token(account=old.account)
    return Reply(fake.token_json(issued))


def _code_grant(request: FakeRequest, body: dict[str, Any]) -> Reply:
    """Trakt's authorization code for a token pair: once, with the redirect URI it was given for."""
    taken = request.fake.codes.pop(str(body.get("code", "")), None)
    if taken is None or taken[1] != body.get("redirect_uri") or taken[2] <= request.fake.clock():
        return error(401, "invalid_grant", error_description="the code is invalid, used, expired or for another URI")
    return Reply(request.fake.token_json(request.fake.issue_token(account=taken[0])))


AUTHORIZE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trakt (sandbox) sign-in</title>
<style>:root{{color-scheme:light dark}}body{{font:16px system-ui,sans-serif;max-width:30rem;margin:3rem auto}}
button{{font:inherit;padding:.5rem 1rem;margin:.25rem}}</style></head><body><main>
<h1>Trakt (sandbox)</h1><p>An app wants to use your Trakt account. Sign in as:</p>
<form method="post">{hidden}{buttons}</form></main></body></html>"""


@route("GET", "/oauth/authorize")
def authorize_page(request: FakeRequest) -> Reply:
    """The sandbox's Trakt sign-in page: one button per account (alice, bob); the choice approves at once."""
    if request.query.get("client_id") != request.fake.client_id or request.query.get("response_type") != "code":
        return Reply(html="<p>Unknown client or response type.</p>", status=400)
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(request.query.get(name, ""))}">'
        for name in ("redirect_uri", "state")
    )
    buttons = "".join(
        f'<button type="submit" name="account" value="{name}" id="sign-in-{name}">{name}</button>'
        for name in request.fake.people
    )
    return Reply(html=AUTHORIZE_PAGE.format(hidden=hidden, buttons=buttons))


@route("POST", "/oauth/authorize")
def authorize(request: FakeRequest) -> Reply:
    form = dict(parse_qsl(request.body if isinstance(request.body, str) else ""))
    account, redirect_uri = form.get("account", ""), form.get("redirect_uri", "")
    if account not in request.fake.people or not redirect_uri:
        return Reply(html="<p>Pick an account.</p>", status=400)
    code = secrets.token_hex(16)
    request.fake.codes[code] = (account, redirect_uri, request.fake.clock() + 600)
    separator = "&" if "?" in redirect_uri else "?"
    location = f"{redirect_uri}{separator}{urlencode({'code': code, 'state': form.get('state', '')})}"
    return Reply(status=302, headers={"Location": location})


@route("GET", "/users/settings", auth=True)
def user_settings(request: FakeRequest) -> Reply:
    username = request.fake.state_for(request.token).username
    return Reply({"user": {"username": username, "private": False, "name": username.title(), "vip": False}})


@route("POST", "/oauth/revoke")
def revoke(request: FakeRequest) -> Reply:
    if not _client_ok(request):
        return _invalid_client()
    request.fake.revoke(str(_body(request).get("token", "")))
    return Reply({})
