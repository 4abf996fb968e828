"""The running server's shared objects: settings, the Trakt client, sign-in, and the sandbox when it is on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trakt_mcp.client import TraktClient
from trakt_mcp.settings import Settings

if TYPE_CHECKING:
    from trakt_mcp.sandbox import FakeTrakt


@dataclass
class App:
    settings: Settings
    client: TraktClient
    fake: FakeTrakt | None = None
    #: Set by the sign-in module (trakt_mcp.auth): device flow, token store, refresh.
    auth: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.client.aclose()
