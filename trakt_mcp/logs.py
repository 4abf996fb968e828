"""Logging for the process: to stderr only, since in stdio mode stdout carries the MCP protocol."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: int = logging.INFO) -> None:
    """Logs go to stderr: in stdio mode stdout carries the MCP protocol."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING if level > logging.DEBUG else logging.DEBUG)
    # httpcore's debug lines carry the API's raw response headers (a redirect's Location, cookies): never shown.
    logging.getLogger("httpcore").setLevel(logging.WARNING)
