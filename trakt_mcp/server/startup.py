"""Building the server in a serving process (`trakt-mcp`, stdio or HTTP), with the garbage collector kept off the
objects start-up makes.

Nearly every object made before the first answer (modules, classes, functions, pydantic models, schemas, the
server) lives as long as the process. Python's cyclic garbage collector does not know that: it walked them again
and again as they piled up, 250 to 350 ms of CPU per start on this project's 2-core machine (gc.callbacks), about a
third of it in full collections during trakt-mcp's own part. So the collector is paused while the server is built,
and after each stage (what the command line loaded, the SDK, this package, the built server) one collection frees
that stage's garbage and `gc.freeze()` moves what is left into the permanent generation, which collections skip:
each stage's collection looks at that stage's objects only, and so does no later one (also in steady state). The
price: a frozen object that later becomes part of a garbage cycle is never freed; what start-up makes (modules,
tools, the server) lives as long as the process anyway.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App
    from trakt_mcp.settings import Settings


def build(settings: Settings) -> tuple[App, MCPServer]:
    """The App and the MCP server for these settings, each stage of start-up collected once and frozen."""
    gc.disable()
    try:
        _settle()  # the command line, the settings
        import mcp.server.mcpserver  # noqa: F401  the SDK: the most objects of any stage

        _settle()
        from trakt_mcp.server.build import build_server, create_app

        _settle()
        app = create_app(settings)
        server = build_server(app)
        _settle()
    finally:
        gc.enable()
    return app, server


def _settle() -> None:
    """Free what the stage left as garbage (only the stage's own objects are looked at), then freeze the rest."""
    gc.collect()
    gc.freeze()
