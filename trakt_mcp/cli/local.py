"""Running the server in-process for a person at a terminal: `trakt-mcp call` goes through a real MCP client
session, so it takes exactly the path an agent's tools/call takes (guard included)."""

from __future__ import annotations

import sys
import threading
from typing import Any

from mcp import Client, types
from mcp.client.context import ClientRequestContext
from mcp.shared.exceptions import MCPError

from guard.calls import DECISION_KEY
from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.settings import Settings
from trakt_mcp.terminal import ask, printable, printable_lines

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


#: `trakt-mcp call`'s exit codes: the tool ran (0), ran and failed (1), or was not run: unknown to this caller,
#: hidden, or denied by the policy (2, like a usage error).
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
REFUSING_DECISIONS = ("denied",)


async def call_tool_locally(settings: Settings, tool: str, arguments: dict[str, Any]) -> tuple[str, int]:
    """The tool's text and the exit code. With no terminal to answer on, the client declares no elicitation, so a
    confirmation goes to the owner's channels (a desktop dialog, or an approval code for `trakt-mcp approve`)
    instead of being declined unasked."""
    app = create_app(settings)
    answer = ask_on_terminal if sys.stdin.isatty() else None
    app.owner_terminal = answer is not None
    try:
        server = build_server(app)
        async with Client(server, mode="legacy", elicitation_callback=answer) as client:
            try:
                result = await client.call_tool(tool, arguments)
            except MCPError as exc:  # the server's JSON-RPC error: an unknown (or hidden) tool, a malformed call
                return printable(exc.error.message), EXIT_REFUSED
    finally:
        await app.aclose()
    text = "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))
    if (result.meta or {}).get(DECISION_KEY) in REFUSING_DECISIONS:
        return text, EXIT_REFUSED
    return text, EXIT_FAILED if result.is_error else EXIT_OK
