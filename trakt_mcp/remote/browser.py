"""Browser sessions: who is at the pages a person opens on this server (consent, approvals, account), and the CSRF
token each of their forms carries.

A session starts when the person finishes the Trakt sign-in (`start`, then `set_cookie` on the response). Its cookie
is a random secret: HttpOnly, SameSite=Lax, Path=/, and `Secure` with the `__Host-` prefix when the public URL is
https. The store keeps only its SHA-256 digest, the person and the expiry (`PeopleStore.put_browser_session`), so
every process and replica knows the session and a stolen database opens none.

The API, all on `BrowserSessions`:
- `start(username)` -> `BrowserSession`; `set_cookie(response, session)` (a session the request already had ends);
- `session(request)` -> the live `BrowserSession` of a Starlette request, or None; `person(request)` -> its username;
- `BrowserSession.csrf(form)`: the token a form named `form` carries in its hidden `csrf` field (an HMAC of the form
  name keyed by the cookie's secret: bound to the session, different per form, never stored);
- `await posted(request, form)` -> `Posted` (the session and the form's fields) when the request carries a live
  session, the form's own token and no cross-site origin; else a 403 page (`refused`), and the caller changes nothing;
- `end(request, response)`: the session ends (row deleted, cookie cleared); `end_person(username, response)` ends
  every session of that person (log out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from trakt_mcp.remote import pages
from trakt_mcp.remote.store import BrowserSessionRecord, PeopleStore, digest

#: How long a browser session lasts after the sign-in that started it.
SESSION_SECONDS = 12 * 3600
#: The hidden field every form of a signed-in page carries.
CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True)
class BrowserSession:
    username: str
    #: The cookie's value (never stored, never logged).
    secret: str

    def csrf(self, form: str) -> str:
        """The CSRF token of the form named `form` in this session."""
        mac = hmac.new(self.secret.encode(), f"csrf {form}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@dataclass(frozen=True)
class Posted:
    """A form posted from one of this server's pages by the person signed in to the session."""

    session: BrowserSession
    fields: list[tuple[str, str]]

    def get(self, name: str, default: str = "") -> str:
        return next((value for key, value in self.fields if key == name), default)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]


class BrowserSessions:
    def __init__(self, store: PeopleStore, public_url: str, now: Callable[[], float]) -> None:
        self.store, self.now = store, now
        public = urlsplit(public_url)
        self.secure = public.scheme == "https"
        self.origin = f"{public.scheme}://{public.netloc}"
        self.cookie = "__Host-trakt-mcp-session" if self.secure else "trakt-mcp-session"

    def start(self, username: str) -> BrowserSession:
        secret = secrets.token_urlsafe(32)
        now = self.now()
        self.store.put_browser_session(BrowserSessionRecord(digest(secret), username, now, now + SESSION_SECONDS))
        return BrowserSession(username, secret)

    def set_cookie(self, request: Request, response: Response, session: BrowserSession) -> None:
        """Send the session's cookie; a session the browser already had (someone else's, or an older one) ends."""
        previous = request.cookies.get(self.cookie)
        if previous and previous != session.secret:
            self.store.end_browser_session(digest(previous))
        response.set_cookie(
            self.cookie,
            session.secret,
            max_age=SESSION_SECONDS,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def session(self, request: Request) -> BrowserSession | None:
        secret = request.cookies.get(self.cookie)
        if not secret or len(secret) > 256:
            return None
        record = self.store.browser_session(digest(secret), self.now())
        return None if record is None else BrowserSession(record.username, secret)

    def person(self, request: Request) -> str | None:
        session = self.session(request)
        return None if session is None else session.username

    def cross_site(self, request: Request) -> bool:
        """The browser says the request does not come from this server's own pages: Sec-Fetch-Site other than
        same-origin (or none: typed by the person), or an Origin that is not this server's."""
        fetched_from = request.headers.get("sec-fetch-site")
        if fetched_from is not None and fetched_from not in ("same-origin", "none"):
            return True
        origin = request.headers.get("origin")
        return origin is not None and origin != self.origin

    async def posted(self, request: Request, form: str) -> Posted | HTMLResponse:
        """The person and fields of a form post from their own page, or a 403 page (nothing may change)."""
        if self.cross_site(request):
            return refused("This form was sent from another site.")
        session = self.session(request)
        if session is None:
            return refused("You are not signed in on this browser (or the session expired). Open the page again.")
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return refused("The form is too large.")
        fields = parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
        given = next((value for key, value in fields if key == CSRF_FIELD), "")
        if not hmac.compare_digest(given.encode(), session.csrf(form).encode()):
            return refused("The form's security token is missing or does not match this session. Open the page again.")
        return Posted(session, fields)

    def end(self, request: Request, response: Response) -> None:
        secret = request.cookies.get(self.cookie)
        if secret:
            self.store.end_browser_session(digest(secret))
        self.clear_cookie(response)

    def end_person(self, username: str, response: Response) -> None:
        self.store.end_browser_sessions(username)
        self.clear_cookie(response)

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True, samesite="lax")


def refused(detail: str) -> HTMLResponse:
    """403: a form post that is not the person's own (no session, no or wrong CSRF token, another site)."""
    return pages.page(
        "Refused",
        f'<h1>Refused</h1><p id="detail">{pages.escape(detail)}</p><p class="muted">Nothing was changed.</p>',
        403,
    )


def csrf_input(session: BrowserSession, form: str) -> str:
    """The hidden field for a form's CSRF token (HTML)."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{session.csrf(form)}">'
