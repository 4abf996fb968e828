"""Helpers for the MCP Apps tests: a client extension that declares Apps, and a server bound to a policy file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.extension import ClientExtension
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.settings import Settings


class AppsHost(ClientExtension):
    """What an MCP Apps host (Claude Desktop, VS Code, ...) declares in its capabilities."""

    identifier = EXTENSION_ID

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": [APP_MIME_TYPE]}


def with_policy(settings: Settings, policy: dict[str, Any] | None, home: Path) -> Settings:
    if policy is None:
        return settings
    path = home / "policy.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(policy))
    return settings.model_copy(update={"policy": path})


@asynccontextmanager
async def apps_client(
    settings: Settings, fake: FakeTrakt, *, apps: bool = True, mode: str = "legacy", **options: Any
) -> AsyncIterator[tuple[Client, App]]:
    """A client session (an Apps host unless `apps=False`) on a fresh server bound to `fake`."""
    app = create_app(settings, fake=fake)
    try:
        extensions = [AppsHost()] if apps else None
        async with Client(build_server(app), mode=mode, extensions=extensions, **options) as client:  # type: ignore[arg-type]
            yield client, app
    finally:
        await app.aclose()
