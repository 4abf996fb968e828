"""Builds the MCP server: tools, resources, prompts, completions and client logging bound to one App (settings,
Trakt client, sign-in)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from mcp import types
from mcp.server.mcpserver import MCPServer

from trakt_mcp import __version__
from trakt_mcp.app import App
from trakt_mcp.apps import install as install_apps
from trakt_mcp.logs import client_logging, set_level
from trakt_mcp.server.cache_hints import CACHE_HINTS, catalogue_reads
from trakt_mcp.server.completions import register as register_completions
from trakt_mcp.server.exact_errors import name_invalid_params
from trakt_mcp.server.guarded import StoredSignIns, open_store
from trakt_mcp.server.guarded import install as install_guard
from trakt_mcp.server.prompts import register as register_prompts
from trakt_mcp.server.resources import register as register_resources
from trakt_mcp.settings import SANDBOX_VERIFICATION_URL, Settings
from trakt_mcp.tools import tools_by_name
from trakt_mcp.trakt.auth import AuthManager
from trakt_mcp.trakt.client import Clock, Sleep, TraktClient
from trakt_mcp.trakt.gate import TraktGate

if TYPE_CHECKING:
    from trakt_mcp.sandbox import FakeTrakt

INSTRUCTIONS = (
    "Trakt.tv: discover, search and track shows and movies. Use search_* to find IDs (trakt ID or slug), then "
    "pass them to other tools. Tools about the user's own account need sign-in: start_device_auth, then "
    "check_auth_status. Some actions may need the user's confirmation by policy."
)

log = logging.getLogger("trakt_mcp")


def sandbox_account(settings: Settings) -> Path:
    """Where sandbox mode keeps its account's data (`trakt-mcp sandbox reset` removes it)."""
    return settings.home / "sandbox" / "account.json"


def create_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    fake: FakeTrakt | None = None,
    sleep: Sleep | None = None,
    clock: Clock | None = None,
) -> App:
    """The shared objects. In sandbox mode (and when tests pass `fake`) Trakt is the in-process fake.
    Tests pass `sleep` and `clock` to make retries and pacing instant and observable. The fake is imported only
    in sandbox mode: serving the real Trakt never loads it."""
    if settings.sandbox and fake is None and transport is None:
        from trakt_mcp.sandbox import FakeTrakt

        fake = FakeTrakt(
            auto_approve=True, account_file=sandbox_account(settings), verification_url=SANDBOX_VERIFICATION_URL
        )
    if fake is not None and transport is None:
        transport = fake.transport
    timing: dict[str, Any] = {k: v for k, v in (("sleep", sleep), ("clock", clock)) if v is not None}
    client = trakt_client(settings, transport=transport, **timing)
    store = open_store(settings)
    now = clock or time.time
    auth = AuthManager(settings, client.http, now=now, pending=StoredSignIns(store, settings, now))
    client.tokens = auth
    if settings.sandbox and fake is not None:
        from trakt_mcp.sandbox.routes.oauth import trust_pending, trust_stored

        trust_stored(fake, auth.store)
        trust_pending(fake, auth)
    app = App(settings=settings, client=client, fake=fake, auth=auth, store=store)
    if settings.public_url is not None:
        from trakt_mcp.remote.serve import install as install_remote

        install_remote(app)
    return app


def trakt_client(settings: Settings, **options: Any) -> TraktClient:
    """The one way to make a Trakt client (Trakt's address, headers, pool and retries), always behind the one gate;
    `options` as TraktClient takes them (a transport, test clocks)."""
    return TraktClient(settings, gate=trakt_gate(), **options)


def trakt_gate() -> TraktGate:
    """The one gate to Trakt (guard.gate): each tool reaches only the endpoints it declares, when admitted."""
    return TraktGate({name: spec.endpoints for name, spec in tools_by_name().items()})


def build_server(app: App, **server_options: Any) -> MCPServer:
    tools = tools_by_name()
    if app.remote is not None:
        from trakt_mcp.remote.serve import server_options as remote_options

        server_options = {**remote_options(app.remote), **server_options}
    server: MCPServer = MCPServer(
        name="trakt-mcp",
        title="Trakt",
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=[spec.to_sdk_tool(app) for spec in tools.values()],
        cache_hints=CACHE_HINTS,
        **server_options,
    )
    register_resources(server, app, tools)
    register_prompts(server)
    register_completions(server, app)
    lowlevel = server._lowlevel_server  # methods MCPServer has no public hook for
    lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    server.middleware.extend([name_invalid_params, client_logging, catalogue_reads(tools)])
    install_guard(server, app, tools)
    install_apps(server, app)
    if app.remote is not None:
        from trakt_mcp.remote.serve import bind

        bind(server, app)
    return server
