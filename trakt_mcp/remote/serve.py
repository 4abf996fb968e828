"""Multi-user mode put together: `install` (at app creation: the people store, the key, each person's Trakt
access in place of the operator's), `server_options` (the SDK's resource-server pieces for `build_server`), and
`build_app` / `serve` (the HTTP app: MCP at <public-url>/mcp behind the bearer check, the OAuth routes, health)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from mcp.server.auth.settings import AuthSettings
from mcp.server.request_state import RequestStateSecurity
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guard.store import StoreError
from trakt_mcp import __version__
from trakt_mcp.remote.browser import BrowserSessions
from trakt_mcp.remote.client_documents import ClientDocuments
from trakt_mcp.remote.oauth import MultiUserServer
from trakt_mcp.remote.people import CallerAuth, People, bind_person
from trakt_mcp.remote.routes import MCP_PATH, SIGN_IN_PATH, PeopleTokenVerifier, Remote, RemoteRoutes
from trakt_mcp.remote.sealing import load_sealer
from trakt_mcp.remote.sqlite import open_people_store
from trakt_mcp.remote.store import PeopleStore
from trakt_mcp.remote.trakt_signin import DEVICE_REDIRECT, SANDBOX_TRAKT_PATH, callback_url

log = logging.getLogger("trakt_mcp.remote")

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from guard.capabilities import Capabilities
    from trakt_mcp.app import App
    from trakt_mcp.http.serve import HttpOptions


def install(app: App, *, documents_transport: httpx.AsyncBaseTransport | None = None) -> Remote:
    """Multi-user mode for this app: `app.auth` (and the Trakt client's token source) act for the request's person;
    the operator's own sign-in is never read."""
    settings = app.settings
    assert settings.public_url is not None
    base = settings.public_url
    store = people_store(app)
    redirect = DEVICE_REDIRECT if settings.trakt_signin == "device" else callback_url(base)
    people = People(settings, app.client.http, store, load_sealer(settings.home), redirect, time.time)
    caller = CallerAuth(people)
    app.auth = caller
    app.client.tokens = caller
    server = MultiUserServer(store, issuer=base, resource=f"{base}{MCP_PATH}")
    documents = ClientDocuments(store, sandbox=settings.sandbox, transport=documents_transport)
    remote = Remote(base, server, people, documents, BrowserSessions(store, base, time.time))
    app.remote = remote
    return remote


def people_store(app: App) -> PeopleStore:
    """The people file in the state folder, or with a postgresql:// state the database every replica shares (on the
    guard's store's connections)."""
    from guard.store.postgres import PostgresStore

    if isinstance(app.store, PostgresStore):
        from trakt_mcp.remote.postgres import PostgresPeopleStore

        return PostgresPeopleStore(app.store)
    return open_people_store(app.settings.home)


def server_options(remote: Remote) -> dict[str, Any]:
    """For MCPServer: the SDK answers 401 with `WWW-Authenticate: Bearer resource_metadata=...`, serves the RFC 9728
    metadata for the exact MCP URL, and refuses a token bound to another resource; the requestState of modern-era
    questions is sealed with keys every replica shares (from the people key), so the client's retry may reach any."""
    auth = AuthSettings(
        issuer_url=remote.base,  # type: ignore[arg-type]
        resource_server_url=remote.resource,  # type: ignore[arg-type]
        validate_token_resource=True,
    )
    request_state = RequestStateSecurity(keys=remote.people.sealer.request_state_keys())
    return {"auth": auth, "token_verifier": PeopleTokenVerifier(remote.server), "request_state_security": request_state}


def bind(server: MCPServer, app: App) -> None:
    """Every MCP request acts for the person its token names (outermost, before the guard decides), and a person's
    call that needs confirmation asks that person on their approvals page (never the operator's desktop or
    terminal, never their own client: guard.channels.page)."""
    from trakt_mcp.remote.approvals import page_channel

    server.middleware.insert(0, bind_person)
    assert app.guard is not None, "install the guard first"
    app.guard.channels.insert(0, page_channel(app))


def _sandbox_trakt(app: App) -> Route:
    """Sandbox mode: the fake Trakt's sign-in page (alice, bob), reached by the person's browser through us."""
    fake = app.fake
    assert fake is not None

    async def handle(request: Request) -> Response:
        body = await request.body()
        path = request.url.path.removeprefix(SANDBOX_TRAKT_PATH)
        forwarded = httpx.Request(
            request.method,
            f"https://sandbox.trakt.invalid{path}?{request.url.query}",
            headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"],
            content=body,
        )
        answer = fake.handle(forwarded)
        skip = {"content-length", "content-encoding", "transfer-encoding"}
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in skip}
        return Response(answer.content, status_code=answer.status_code, headers=headers)

    return Route(f"{SANDBOX_TRAKT_PATH}/oauth/authorize", handle, methods=["GET", "POST"])


def capabilities_in_force(app: App) -> Callable[[], Capabilities | None]:
    """The capabilities of the policy in force (an edit is picked up, and left for the guard to announce)."""
    from trakt_mcp.server.guarded import policy_in_force

    assert app.guard is not None, "the guard is installed when the server is built"
    watcher, policy = app.guard.watcher, policy_in_force(app)

    def capabilities() -> Capabilities | None:
        policy()
        return watcher.engine.capabilities

    return capabilities


def build_app(server: MCPServer, app: App, options: HttpOptions) -> Starlette:
    from trakt_mcp.http.limits import BodyLimit
    from trakt_mcp.http.serve import balancer_probes, transport_security

    remote = app.remote
    assert remote is not None
    from trakt_mcp.remote.account import AccountRoutes
    from trakt_mcp.remote.approval_pages import STYLE, ApprovalRoutes, approvals_html
    from trakt_mcp.remote.approvals import channel_of
    from trakt_mcp.remote.consent import ConsentRoutes

    remote.capabilities = capabilities_in_force(app)
    remote.audit = app.guard.audit if app.guard is not None else None
    channel = channel_of(app)
    changed = app.guard.grant_changed if app.guard is not None else None
    account = AccountRoutes(remote, pending=lambda session: STYLE + approvals_html(session, channel), changed=changed)
    routes = RemoteRoutes(remote).routes() + ConsentRoutes(remote).routes() + account.routes()
    routes += ApprovalRoutes(channel, remote.sessions, SIGN_IN_PATH).routes()
    if app.settings.sandbox and app.fake is not None:
        routes.append(_sandbox_trakt(app))

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "server": "trakt-mcp", "version": __version__, "auth": "oauth"})

    routes.append(Route("/health", health, methods=["GET"]))
    ready = app.store.health if app.store is not None else None
    routes += [Route(path, endpoint, methods=["GET"]) for path, endpoint in balancer_probes(ready)]
    for route in routes:
        server.custom_route(route.path, methods=sorted(route.methods or ()), include_in_schema=False)(route.endpoint)
    public = urlsplit(remote.base)
    host = public.netloc
    security = transport_security(options)
    security.allowed_hosts = list(dict.fromkeys([*security.allowed_hosts, host]))
    security.allowed_origins = list(dict.fromkeys([*security.allowed_origins, f"{public.scheme}://{host}"]))
    asgi = server.streamable_http_app(streamable_http_path=MCP_PATH, transport_security=security, host=options.host)
    asgi.add_middleware(BodyLimit, max_bytes=options.limits.max_body_bytes)
    asgi.add_exception_handler(StoreError, _store_unavailable)
    asgi.add_middleware(StoreFailsClosed)
    return asgi


class StoreFailsClosed:
    """The same 503 with the fix where no route answers: the bearer check on /mcp reads the people store before any
    route runs, and a failure there would otherwise leave the server as a bare 500."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, sending)
        except StoreError as exc:
            if started:
                raise
            response = await _store_unavailable(Request(scope), exc)
            await response(scope, receive, send)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    """Fail closed when the people store cannot be used: nothing is issued, the message names the fix."""
    log.error("people store unavailable: %s", exc)
    body = {"error": "temporarily_unavailable", "error_description": str(exc)}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "30", "Cache-Control": "no-store"})


def serve(server: MCPServer, app: App, options: HttpOptions) -> int:
    from trakt_mcp.http.serve import announcing_server, uvicorn_config

    if app.remote is None:
        print("trakt-mcp: --public-url is needed for multi-user mode", file=sys.stderr)
        return 2
    print(
        f"trakt-mcp: multi-user mode: people add {app.remote.resource} in their app and sign in with their own "
        "Trakt account",
        file=sys.stderr,
    )
    announcing_server(uvicorn_config(build_app(server, app, options), options)).run()
    return 0
