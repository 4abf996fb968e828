"""The person's Trakt sign-in, with the operator's Trakt app: the authorization-code flow (redirect back to
`<public-url>/oauth/trakt/callback`), then who they are (`/users/settings`). The tokens stay on the server."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from trakt_mcp.settings import DEFAULT_API_URL, Settings
from trakt_mcp.trakt.auth import parse_token
from trakt_mcp.trakt.errors import TraktError
from trakt_mcp.trakt.gate import signing_in
from trakt_mcp.trakt.tokens import Token

TRAKT_AUTHORIZE = "https://trakt.tv/oauth/authorize"
CALLBACK_PATH = "/oauth/trakt/callback"
DEVICE_PATH = "/oauth/trakt/device"
#: In sandbox mode the fake Trakt's sign-in page is served by this server, under this path.
SANDBOX_TRAKT_PATH = "/sandbox/trakt"


def callback_url(public_base: str) -> str:
    return f"{public_base}{CALLBACK_PATH}"


def authorize_url(settings: Settings, public_base: str, state: str) -> str:
    """Trakt's sign-in page: trakt.tv's for Trakt's API; the sandbox's through this server; another API (a test
    server on loopback) serves its own."""
    if settings.sandbox:
        base = f"{public_base}{SANDBOX_TRAKT_PATH}/oauth/authorize"
    elif settings.api_url == DEFAULT_API_URL:
        base = TRAKT_AUTHORIZE
    else:
        base = f"{settings.api_url}/oauth/authorize"
    query = {
        "response_type": "code",
        "client_id": settings.client_id or "",
        "redirect_uri": callback_url(public_base),
        "state": state,
    }
    return f"{base}?{urlencode(query)}"


async def exchange(http: httpx.AsyncClient, settings: Settings, code: str, public_base: str) -> Token:
    """Trakt's code for the person's token pair."""
    body = {
        "code": code,
        "client_id": settings.client_id or "",
        "client_secret": settings.secret or "",
        "redirect_uri": callback_url(public_base),
        "grant_type": "authorization_code",
    }
    try:
        with signing_in():  # the one gate: this page's own requests to Trakt (trakt.gate)
            response = await http.post("/oauth/token", json=body)
    except httpx.HTTPError as exc:
        raise TraktError(f"Trakt could not be reached to finish the sign-in ({type(exc).__name__}).") from None
    if response.status_code != 200:
        raise TraktError(f"Trakt refused the sign-in (HTTP {response.status_code}). Start again from your app.")
    try:
        return parse_token(response.json(), time.time())
    except ValueError:
        raise TraktError("Trakt's answer to the sign-in was not understood. Start again from your app.") from None


async def revoke(http: httpx.AsyncClient, settings: Settings, token: Token) -> None:
    """Best effort: a Trakt token the person no longer uses (replaced by a new sign-in) is revoked at Trakt."""
    body = {"token": token.access_token, "client_id": settings.client_id or "", "client_secret": settings.secret or ""}
    with contextlib.suppress(httpx.HTTPError), signing_in():  # the one gate (trakt.gate)
        await http.post("/oauth/revoke", json=body)


async def username(http: httpx.AsyncClient, token: Token) -> str:
    """The signed-in person's Trakt username: their identity on this server."""
    try:
        with signing_in():  # the one gate: this page's own requests to Trakt (trakt.gate)
            response = await http.get("/users/settings", headers={"Authorization": f"Bearer {token.access_token}"})
        name = response.json()["user"]["username"] if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        name = None
    if not isinstance(name, str) or not name.strip():
        raise TraktError("Trakt did not say who signed in. Start again from your app.")
    return name


#: What the sign-in page offers: Trakt's redirect back to us, or (an app with only the out-of-band redirect) a code.
DEVICE_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_url: str
    expires_at: float

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DeviceCode:
        return cls(**json.loads(text))


async def start_device(http: httpx.AsyncClient, settings: Settings) -> DeviceCode:
    try:
        with signing_in():  # the one gate: this page's own requests to Trakt (trakt.gate)
            response = await http.post("/oauth/device/code", json={"client_id": settings.client_id or ""})
        data: Any = response.json() if response.status_code == 200 else None
        return DeviceCode(
            str(data["device_code"]),
            str(data["user_code"]),
            str(data["verification_url"]),
            time.time() + float(data["expires_in"]),
        )
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        raise TraktError("Trakt did not give a sign-in code. Try again in a minute.") from None


async def poll_device(http: httpx.AsyncClient, settings: Settings, device: DeviceCode) -> Token | None:
    """The person's token once they entered the code at Trakt; None while Trakt still waits for them."""
    body = {"code": device.device_code, "client_id": settings.client_id or "", "client_secret": settings.secret or ""}
    try:
        with signing_in():  # the one gate: this page's own requests to Trakt (trakt.gate)
            response = await http.post("/oauth/device/token", json=body)
    except httpx.HTTPError as exc:
        raise TraktError(f"Trakt could not be reached ({type(exc).__name__}). Try again.") from None
    if response.status_code in (400, 429):
        return None
    if response.status_code != 200:
        raise TraktError("The code expired or was refused at Trakt. Start again from your app.")
    try:
        return parse_token(response.json(), time.time())
    except ValueError:
        raise TraktError("Trakt's answer to the sign-in was not understood. Start again from your app.") from None
