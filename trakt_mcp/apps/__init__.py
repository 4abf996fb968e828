"""MCP Apps cards: posters and buttons in the conversation for hosts that render `ui://` resources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guard.channels.app import AppChannel
from guard.preview import may_confirm, preview
from trakt_mcp.apps.layer import AppsLayer, CardData, Context

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App

__all__ = ["AppsLayer", "CardData", "install"]


def install(server: MCPServer, app: App) -> AppsLayer:
    """Put the Apps layer just outside the guard, so it sees what the guard lets this caller see, and the cards'
    data just inside it, so a card fetches only inside the admission of the call it decorates (guard.gate); the
    guard's `app` channel's questions are drawn by the approval card, whose answer tool Apps hosts get listed."""
    guard = app.guard
    assert guard is not None, "install the guard first"
    answer_tools = []
    for channel in guard.channels:
        if isinstance(channel, AppChannel):
            answer_tools.append(channel.tool())

    def previewer(ctx: Context) -> tuple[Any, Any]:
        view = guard.view_for(ctx)

        def ask(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
            shown = preview(view, tool, arguments)
            return {"state": shown.state, "reason": shown.reason}

        return (lambda tool: may_confirm(view, tool)), ask

    layer = AppsLayer(app, previewer, answer_tools)
    server.middleware.insert(server.middleware.index(guard), layer)
    server.middleware.append(CardData(app, previewer))
    return layer
