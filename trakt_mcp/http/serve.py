"""Serving MCP over streamable HTTP, safely: loopback unless told otherwise, Host/Origin checked against an
allow-list (the SDK's DNS-rebinding protection), bearer tokens of the policy's identities, the owner's own token on
loopback (`http_token`; other accounts on the machine reach 127.0.0.1 too), limits on what strangers may hold
(`http_limits`), and a health endpoint.

Tokens are checked against the policy in force on every request, so a hot reload adds or revokes identities at
once. The identity a token names is attached to the request (`scope["user"]`, the SDK's `AuthenticatedUser`), which
also binds each MCP session to the identity that opened it; `identity.request_identity` reads it back for the guard.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from guard.policy import Policy, identity_for_token
from guard.store import StoreError
from trakt_mcp import __version__
from trakt_mcp.http.identity import LOCAL_USER
from trakt_mcp.http.limits import BodyLimit, ConnectionLimits
from trakt_mcp.http.owner_token import LocalTokenError, ensure_token, token_path
from trakt_mcp.http.sessions import SessionLimits, cap_sessions
from trakt_mcp.settings import is_loopback
from trakt_mcp.terminal import command

log = logging.getLogger("trakt_mcp.http.serve")

MCP_PATH = "/mcp"
HEALTH_PATH = "/health"
#: For load balancers: the process lives (/healthz); it can serve, its shared state answering (/readyz).
LIVE_PATH, READY_PATH = "/healthz", "/readyz"
OPEN_PATHS = frozenset({HEALTH_PATH, LIVE_PATH, READY_PATH})


def not_ready() -> str:
    """The readiness probe's reason: an operator reads it, so it names this installation's command."""
    return f"the shared state store does not answer or its schema is not current (`{command('state status')}` says why)"


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Stands in for the token in the request's AccessToken: the secret itself is never kept past the check.
REDACTED = "[redacted]"

PolicySource = Callable[[], Policy]
#: Checks that the shared state can be used (a store's `health`): raises StoreError when it cannot.
Readiness = Callable[[], str]


@dataclass(frozen=True)
class HttpOptions:
    """Where to listen, and Host / Origin values to accept beyond those derived from it (e.g. behind a proxy)."""

    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    #: The owner chose to serve loopback without any token (`--no-auth`): every local account gets in, as
    #: `(unauthenticated)`: the top level's rules, its own windows, and its client never approves its calls ...
    no_auth: bool = False
    #: ... unless the owner also says those callers are the owner (`--trust-unauthenticated`).
    trust_unauthenticated: bool = False
    #: The owner's loopback token (`http_token`): it stands for the local user, as stdio does.
    local_token: str | None = None
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    sessions: SessionLimits = field(default_factory=SessionLimits)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def _authority_name(host: str) -> str:
    """How a host appears in a Host header: IPv6 addresses in brackets."""
    bare = host.strip("[]")
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare
    except ValueError:
        return host.lower()


def _bind_names(host: str) -> tuple[str, ...]:
    """Host names a client may use for this bind address. A wildcard bind (0.0.0.0, ::) is reachable on loopback;
    its public names are not knowable here, so they come from --allowed-host."""
    try:
        unspecified = ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        unspecified = False
    if is_loopback(host) or unspecified:
        return LOOPBACK_NAMES
    return (_authority_name(host),)


def transport_security(options: HttpOptions) -> TransportSecuritySettings:
    """The SDK's Host/Origin allow-list: each name of the bind address with this port, plus the extra values
    (matched exactly; "name:*" matches any port)."""
    hosts = [f"{name}:{options.port}" for name in _bind_names(options.host)]
    if options.port == 80:
        hosts += list(_bind_names(options.host))
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=_unique([*hosts, *options.allowed_hosts]),
        allowed_origins=_unique([*(f"http://{host}" for host in hosts), *options.allowed_origins]),
    )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def refusal(options: HttpOptions, policy: Policy) -> str | None:
    """Why the server must not start with these options, or None."""
    if options.no_auth and not options.loopback:
        return f"refusing --no-auth on {options.host}: it is not a loopback address. Use identities instead."
    if options.trust_unauthenticated and not options.no_auth:
        return "--trust-unauthenticated only means something with --no-auth: remove it, or add --no-auth."
    if options.loopback or policy.identities:
        return None
    return (
        f"refusing to listen on {options.host}: it is not a loopback address and the policy declares no identities, "
        "so anyone who reaches the port could use your Trakt account. "
        f"Create one with `{command('identity add NAME')}` "
        'and paste the snippet into the policy\'s "identities", or listen on 127.0.0.1.'
    )


def tokens_required(options: HttpOptions, policy: Policy) -> bool:
    """A token is always required, unless the owner said `--no-auth` on loopback and the policy names no
    identities (fail closed: beyond loopback even if a reload removed every identity)."""
    return bool(policy.identities) or not options.loopback or not options.no_auth


class PolicyTokens:
    """A TokenVerifier whose tokens are the current policy's identities (compared by digest, in constant time),
    and on loopback the owner's own token, which stands for the local user."""

    def __init__(self, current_policy: PolicySource, local_token: str | None = None) -> None:
        self._current_policy = current_policy
        self._local = local_token.encode() if local_token else None

    async def verify_token(self, token: str) -> AccessToken | None:
        name = identity_for_token(self._current_policy(), token)
        if name is None and self._local is not None and hmac.compare_digest(token.encode(), self._local):
            name = LOCAL_USER
        return None if name is None else AccessToken(token=REDACTED, client_id=name, scopes=[])


class RequireIdentity:
    """Answers 401 (with `WWW-Authenticate: Bearer`, via the SDK) to a request without a known identity whenever
    tokens are required; the open paths (health) always pass."""

    def __init__(self, app: ASGIApp, *, required: Callable[[], bool]) -> None:
        self._app = app
        self._required = required
        self._checked = RequireAuthMiddleware(app, required_scopes=[])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS and self._required():
            await self._checked(scope, receive, send)
        else:
            await self._app(scope, receive, send)


class TrustUnauthenticated:
    """`--no-auth --trust-unauthenticated`: the owner says every caller on this machine is the owner, so a request
    without a token is the owner's (its client may answer its questions; the audit shows the local user)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not isinstance(scope.get("user"), AuthenticatedUser):
            scope["user"] = AuthenticatedUser(AccessToken(token=REDACTED, client_id=LOCAL_USER, scopes=[]))
        await self._app(scope, receive, send)


def session_identity(requestor: Any) -> str | None:
    """The identity that opened a session, from the SDK's record of it (None: the owner)."""
    name = requestor.get("client_id") if isinstance(requestor, dict) else None
    return None if name is None or name == LOCAL_USER else str(name)


Endpoint = Callable[[Request], Awaitable[JSONResponse]]


def balancer_probes(ready: Readiness | None) -> list[tuple[str, Endpoint]]:
    """GET /healthz (the process lives) and /readyz (the shared state answers, schema current), for balancers: open,
    and why the state is not ready goes to the server's log, not to whoever asks."""

    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readiness(request: Request) -> JSONResponse:
        if ready is not None:
            try:
                await anyio.to_thread.run_sync(ready)
            except StoreError as exc:
                log.warning("not ready: %s", exc)
                return JSONResponse({"status": "not ready", "reason": not_ready()}, status_code=503)
        return JSONResponse({"status": "ready"})

    return [(LIVE_PATH, live), (READY_PATH, readiness)]


def build_http_app(
    server: MCPServer, options: HttpOptions, current_policy: PolicySource, ready: Readiness | None = None
) -> Starlette:
    """The ASGI app: MCP at /mcp behind the bearer check, and GET /health, /healthz and /readyz (open, no secrets:
    why the state is not ready goes to the server's log, not to whoever asks)."""

    async def health(request: Request) -> JSONResponse:
        auth = "bearer" if tokens_required(options, current_policy()) else "none"
        return JSONResponse({"status": "ok", "server": "trakt-mcp", "version": __version__, "auth": auth})

    for path, endpoint in [(HEALTH_PATH, health), *balancer_probes(ready)]:
        server.custom_route(path, methods=["GET"], include_in_schema=False)(endpoint)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(options),
        host=options.host,
        session_idle_timeout=options.sessions.idle_timeout,
        max_sessions=options.sessions.total,
    )
    cap_sessions(server._lowlevel_server._session_manager, options.sessions, session_identity)
    if options.no_auth and options.trust_unauthenticated:
        app.add_middleware(TrustUnauthenticated)
    app.add_middleware(RequireIdentity, required=lambda: tokens_required(options, current_policy()))
    tokens = PolicyTokens(current_policy, options.local_token if options.loopback else None)
    app.add_middleware(AuthenticationMiddleware, backend=BearerAuthBackend(tokens))
    app.add_middleware(BodyLimit, max_bytes=options.limits.max_body_bytes)
    return app


def uvicorn_config(app: ASGIApp, options: HttpOptions, **extra: Any) -> Any:
    """uvicorn's configuration with the connection limits (`http_limits`) for these options."""
    import uvicorn

    limits = options.limits.fitted().uvicorn_options()
    # "auto": uvloop (a dependency off Windows) when it imports, else asyncio's own loop.
    return uvicorn.Config(
        app, host=options.host, port=options.port, log_level="warning", loop="auto", **limits, **extra
    )


def with_local_token(options: HttpOptions, home: Path) -> HttpOptions:
    """On loopback (unless --no-auth): the owner's token, made and shown once on first start (to stderr: stdout
    may be a pipe to a log). Raises LocalTokenError when the stored token cannot be trusted."""
    if not options.loopback or options.no_auth:
        return options
    token, created = ensure_token(home)
    if created:
        print(
            "trakt-mcp: HTTP clients must send this bearer token, even on 127.0.0.1 (other accounts on this machine "
            f"can reach it too). Shown only now; `{command('identity show-local')}` shows it again:\n\n    {token}\n\n"
            "Clients send `Authorization: Bearer <token>`. To serve without a token, start with --no-auth.",
            file=sys.stderr,
        )
    else:
        print(
            f"trakt-mcp: HTTP clients need the bearer token in {token_path(home)} (`{command('identity show-local')}`)",
            file=sys.stderr,
        )
    return replace(options, local_token=token)


def serve_http(
    server: MCPServer, options: HttpOptions, current_policy: PolicySource, home: Path, ready: Readiness | None = None
) -> int:
    """Run until interrupted; exit code 2 when the options are refused (nothing is bound then)."""

    problem = refusal(options, current_policy())
    if problem is None:
        try:
            options = with_local_token(options, home)
        except LocalTokenError as exc:
            problem = str(exc)
    if problem is not None:
        print(f"trakt-mcp: {problem}", file=sys.stderr)
        return 2
    if not options.loopback and not options.allowed_hosts:
        log.warning("listening on %s: add --allowed-host for each name clients use to reach it", options.host)
    announcing_server(uvicorn_config(build_http_app(server, options, current_policy, ready), options)).run()
    return 0


def announcing_server(config: Any) -> Any:
    """A uvicorn server that says on stderr where it listens once its socket is bound (stdout stays quiet)."""
    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            for listener in self.servers:
                for sock in listener.sockets:
                    host, port = sock.getsockname()[:2]
                    shown = f"[{host}]" if ":" in host else host
                    print(f"trakt-mcp: serving MCP at http://{shown}:{port}/mcp (Ctrl-C stops)", file=sys.stderr)

    return Announcing(config)
