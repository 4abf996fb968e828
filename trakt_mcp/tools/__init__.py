"""Every tool the server offers, grouped in toolsets (one module each)."""

from __future__ import annotations

from typing import Any

from trakt_mcp.tools import auth, catalogue, checkin, everyday, generic, lists, recommendations, scrobble, sync, user
from trakt_mcp.tools.spec import ToolSpec

TOOLSETS: dict[str, list[ToolSpec[Any]]] = {
    "catalogue": catalogue.TOOLS,
    "auth": auth.TOOLS,
    "user": user.TOOLS,
    "sync": sync.TOOLS,
    "recommendations": recommendations.TOOLS,
    "checkin": checkin.TOOLS + scrobble.TOOLS,
    "everyday": everyday.TOOLS,
    "lists": lists.TOOLS,
    "api": generic.TOOLS,
}


def all_tools() -> list[ToolSpec[Any]]:
    return [spec for specs in TOOLSETS.values() for spec in specs]


def tools_by_name() -> dict[str, ToolSpec[Any]]:
    return {spec.name: spec for spec in all_tools()}
