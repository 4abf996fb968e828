"""FakeTrakt: Trakt's headers, status codes, pagination and OAuth, with state and fault injection."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx

from trakt_mcp.sandbox.router import ROUTES, Route
from trakt_mcp.sandbox.wire import FakeRequest, IssuedToken, Reply, error
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

if TYPE_CHECKING:
    from trakt_mcp.sandbox.state import SandboxState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """One request the fake received, as recorded for tests."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    """A failure to serve instead of the real answer, `times` times, for requests that match.

    Either `status` (with optional headers and raw body) or `exception` (an httpx exception class such as
    httpx.ReadTimeout or httpx.ConnectError). `body` alone (status 200) simulates malformed JSON.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    exception: type[httpx.TransportError] | None = None
    times: int = 1
    method: str | None = None
    path_prefix: str | None = None
    #: Query parameters the request must carry (a subset match), e.g. {"page": "2"}.
    query: dict[str, str] | None = None

    def matches(self, request: httpx.Request) -> bool:
        if self.method and request.method != self.method.upper():
            return False
        if self.query and any(request.url.params.get(k) != v for k, v in self.query.items()):
            return False
        return not self.path_prefix or request.url.path.startswith(self.path_prefix)


class FakeTrakt:
    """An in-process Trakt. Plug `transport` into httpx; read `calls` to see what was sent."""

    def __init__(
        self,
        *,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        auto_approve: bool = False,
        clock: Callable[[], float] = time.time,
        account_file: Path | None = None,
        verification_url: str | None = None,
    ) -> None:
        """`account_file` keeps the user's data (history, ratings, watchlist...) between processes: read before
        each request when another process changed it, written after each change. `verification_url` replaces
        trakt.tv's device page (the sandbox has none)."""
        from trakt_mcp.sandbox import routes  # noqa: F401 - registers every route module
        from trakt_mcp.sandbox.state import SandboxState, sandbox_people

        self.client_id = client_id
        self.client_secret = client_secret
        self.auto_approve = auto_approve
        self.clock = clock
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.tokens: dict[str, IssuedToken] = {}
        self.refresh_tokens: dict[str, IssuedToken] = {}
        self.state = SandboxState()
        #: The sign-in page's other accounts (alice, bob), kept in memory; authorization codes waiting for a token.
        self.people = sandbox_people()
        self.codes: dict[str, tuple[str, str, float]] = {}
        self.verification_url = verification_url
        self.account_file = account_file
        self._account_seen: tuple[int, int] | None = None
        self._account_lock = threading.Lock()

    # -- wiring -----------------------------------------------------------------------------------------------

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def inject(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.upper() and c.path == path]

    # -- tokens -----------------------------------------------------------------------------------------------

    def issue_token(self, expires_in: int = 7776000, account: str | None = None) -> IssuedToken:
        """Mint a token pair the fake accepts (what a completed sign-in or refresh returns)."""
        now = self.clock()
        token = IssuedToken(
            access_token=secrets.token_hex(32),
            refresh_token=secrets.token_hex(32),
            expires_at=now + expires_in,
            created_at=int(now),
            account=account,
        )
        self.tokens[token.access_token] = token
        self.refresh_tokens[token.refresh_token] = token
        return token

    def token_json(self, token: IssuedToken) -> dict[str, Any]:
        return {
            "access_token": token.access_token,
            "token_type": "bearer",
            "expires_in": int(token.expires_at - token.created_at),
            "refresh_token": token.refresh_token,
            "scope": "public",
            "created_at": token.created_at,
        }

    def revoke(self, access_token: str) -> None:
        token = self.tokens.pop(access_token, None)
        if token:
            self.refresh_tokens.pop(token.refresh_token, None)

    def state_for(self, access_token: str | None) -> SandboxState:
        """The account a token belongs to: alice's, bob's, or the sandbox's own user's."""
        issued = self.tokens.get(access_token or "")
        account = issued.account if issued is not None else None
        return self.people.get(account or "", self.state)

    def token_valid(self, access_token: str | None) -> bool:
        token = self.tokens.get(access_token or "")
        return token is not None and token.expires_at > self.clock()

    # -- the HTTP side ----------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = _json_body(request)
        self.calls.append(
            Call(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        for fault in self.faults:
            if fault.times > 0 and fault.matches(request):
                fault.times -= 1
                if fault.exception is not None:
                    raise fault.exception("injected fault", request=request)
                return httpx.Response(
                    fault.status, headers=fault.headers, content=fault.body if fault.body is not None else b"{}"
                )
        if request.url.path.startswith("/images/"):
            return self._image(request)
        with self._account_lock:
            self._load_account()
            reply = self._dispatch(request, body)
            if request.method != "GET" and reply.status < 400:
                self._save_account()
        if reply.html is not None or 300 <= reply.status < 400:
            page = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", **reply.headers}
            return httpx.Response(reply.status, headers=page, content=(reply.html or "").encode())
        headers = {"Content-Type": "application/json", **reply.headers}
        content = b"" if reply.status == 204 else json.dumps(reply.data).encode()
        if request.method == "GET" and reply.status == 200:
            headers = {**caching_headers(content, signed_in=_bearer(request.headers) is not None), **headers}
            if request.headers.get("If-None-Match") == headers["ETag"]:
                return httpx.Response(304, headers={k: headers[k] for k in ("ETag", "Cache-Control")})
        return httpx.Response(reply.status, headers=headers, content=content)

    def _load_account(self) -> None:
        from trakt_mcp.sandbox.state import SandboxState

        if self.account_file is None:
            return
        try:
            info = self.account_file.stat()
        except FileNotFoundError:
            if self._account_seen is not None:  # reset by `trakt-mcp sandbox reset`
                self.state, self._account_seen = SandboxState(), None
            return
        seen = (info.st_mtime_ns, info.st_size)
        if seen == self._account_seen:
            return
        try:
            self.state = SandboxState.from_json(self.account_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("The sandbox account in %s is unreadable; starting from the seeded account.", self.account_file)
            self.state = SandboxState()
        self._account_seen = seen

    def _save_account(self) -> None:
        from trakt_mcp.trakt.tokens import write_private

        if self.account_file is None:
            return
        write_private(self.account_file, self.state.to_json(), prefix=".account-")
        info = self.account_file.stat()
        self._account_seen = (info.st_mtime_ns, info.st_size)

    def _dispatch(self, request: httpx.Request, body: Any) -> Reply:
        if request.headers.get("trakt-api-key") != self.client_id and not request.url.path.startswith("/oauth/"):
            return error(403, "invalid api key")
        if request.headers.get("trakt-api-version") != "2" and not request.url.path.startswith("/oauth/"):
            return error(400, "trakt-api-version header must be 2")
        path = request.url.path
        matched: Route | None = None
        params: dict[str, str] = {}
        allowed = False
        for candidate in ROUTES:
            found = candidate.pattern.match(path)
            if not found:
                continue
            allowed = True
            if candidate.method == request.method:
                matched, params = candidate, {k: unquote(v) for k, v in found.groupdict().items()}
                break
        if matched is None:
            return error(405, "method not allowed") if allowed else error(404, "not found")
        token = _bearer(request.headers)
        if matched.auth and not self.token_valid(token):
            return error(401, "invalid or expired token")
        fake_request = FakeRequest(self, request.method, path, params, dict(request.url.params), body, token)
        return matched.handler(fake_request)

    @staticmethod
    def _image(request: httpx.Request) -> httpx.Response:
        """The image host: a poster for each show and movie (whatever host name the request was sent to, so the
        same fake serves the API on one loopback port and, routed there by the tests, Trakt's image host)."""
        from trakt_mcp.sandbox.data import MOVIES, SHOWS
        from trakt_mcp.sandbox.images import poster_svg

        titles = {item["ids"]["trakt"]: (item["title"], item.get("year", "")) for item in (*SHOWS, *MOVIES)}
        svg = poster_svg(request.url.path, titles) if request.method == "GET" else None
        if svg is None:
            return httpx.Response(404, headers={"Content-Type": "text/plain"}, content=b"no such image")
        headers = {"Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400"}
        return httpx.Response(200, headers=headers, content=svg)


#: As Trakt answers: the public catalogue may be kept a few minutes by any cache; a signed-in user's data only by
#: that user, and revalidated every time. Both carry an ETag, and `If-None-Match` with it gets `304 Not Modified`.
PUBLIC_CACHE_CONTROL = "public, max-age=300"
PRIVATE_CACHE_CONTROL = "private, max-age=0, must-revalidate"


def caching_headers(content: bytes, *, signed_in: bool) -> dict[str, str]:
    return {
        "ETag": f'W/"{hashlib.sha256(content).hexdigest()[:32]}"',
        "Cache-Control": PRIVATE_CACHE_CONTROL if signed_in else PUBLIC_CACHE_CONTROL,
    }


def _json_body(request: httpx.Request) -> Any:
    raw = request.content
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else None
