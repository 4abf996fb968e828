"""Building the server in a serving process (`trakt-mcp`, stdio or HTTP), with the garbage collector kept off the
objects start-up makes.

Nearly every object made before the first answer (modules, classes, functions, pydantic models, schemas, the
server) lives as long as the process. Python's cyclic garbage collector does not know that: each time enough
objects have survived, it walks every one of them again in a full collection, and during start-up that happened
about a dozen times, 150 to 190 ms of CPU on this project's 2-core machine, 35 to 40 % of what trakt-mcp adds to
the MCP SDK's own start (`bench/startup.py`). `gc.freeze()` moves every object tracked so far into the permanent
generation, which collections skip; so after each stage of start-up (what the command line loaded, the SDK, this
package, the built server) what already exists is frozen, and later collections only look at what came after.

The collector stays on throughout: young objects are collected as before, so a cycle that becomes garbage during
start-up is still freed, unless it was already garbage when a stage was frozen (a few dozen objects). Later, in
steady state, each full collection skips the frozen start-up objects too.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App
    from trakt_mcp.settings import Settings


def build(settings: Settings) -> tuple[App, MCPServer]:
    """The App and the MCP server for these settings, each stage of start-up frozen once it is made."""
    gc.freeze()  # the command line, the settings
    import mcp.server.mcpserver  # noqa: F401  the SDK: the most objects of any stage

    gc.freeze()
    from trakt_mcp.server.build import build_server, create_app

    gc.freeze()
    app = create_app(settings)
    server = build_server(app)
    gc.freeze()
    return app, server
