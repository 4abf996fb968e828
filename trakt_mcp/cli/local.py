"""Running the server in-process for a person at a terminal: `trakt-mcp call` goes through a real MCP client
session, so it takes exactly the path an agent's tools/call takes (guard included)."""

from __future__ import annotations

import sys
import threading
from typing import Any

from mcp import Client, types
from mcp.client.context import ClientRequestContext

from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.settings import Settings
from trakt_mcp.terminal import ask, printable_lines

#: Set when the person pressed Ctrl-C at a question: `trakt-mcp call` then exits 130 instead of printing.
INTERRUPTED = threading.Event()


async def ask_on_terminal(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
    """Answer a confirmation question at the terminal (declines when there is no terminal)."""
    question = printable_lines(params.message)
    if not sys.stdin.isatty():
        print(f"{question}\n(no terminal to answer on: declined)", file=sys.stderr)
        return types.ElicitResult(action="decline")
    try:
        answer = ask(f"{question} [y/N] ").strip().lower()
    except KeyboardInterrupt:  # raising it through the session's task groups would spill tracebacks
        INTERRUPTED.set()
        return types.ElicitResult(action="cancel")
    if answer in ("y", "yes"):
        return types.ElicitResult(action="accept", content={"confirm": True})
    return types.ElicitResult(action="decline")


async def call_tool_locally(settings: Settings, tool: str, arguments: dict[str, Any]) -> tuple[str, bool]:
    app = create_app(settings)
    try:
        server = build_server(app)
        async with Client(server, mode="legacy", elicitation_callback=ask_on_terminal) as client:
            result = await client.call_tool(tool, arguments)
    finally:
        await app.aclose()
    text = "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))
    return text, bool(result.is_error)
