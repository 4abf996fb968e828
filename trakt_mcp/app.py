"""The running server's shared objects: settings, the Trakt client, sign-in, the guard, and the sandbox when on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trakt_mcp.settings import Settings
from trakt_mcp.trakt.client import TraktClient

if TYPE_CHECKING:
    from guard.middleware import Guard
    from guard.store import Store
    from trakt_mcp.remote.routes import Remote
    from trakt_mcp.sandbox import FakeTrakt
    from trakt_mcp.trakt.auth import AuthManager


@dataclass
class App:
    settings: Settings
    client: TraktClient
    #: Sign-in: device flow, token store, refresh (also the client's token source).
    auth: AuthManager
    #: What every process on this state folder shares: rate-limit windows, approvals, pending sign-ins.
    store: Store | None = None
    fake: FakeTrakt | None = None
    #: Set when the server is built (trakt_mcp.server.guarded.install).
    guard: Guard | None = None
    #: Multi-user mode (settings.public_url): the OAuth server and each person's Trakt access.
    remote: Remote | None = None
    #: The MCP client is `trakt-mcp call` in this process, asking the owner at this terminal: the audit records its
    #: answers as the owner's at the terminal, not as a host application's.
    owner_terminal: bool = False

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.store is not None:
            self.store.close()
