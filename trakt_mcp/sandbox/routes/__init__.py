"""Importing this package registers every fake endpoint."""

from trakt_mcp.sandbox.routes import catalogue

__all__ = ["catalogue"]
