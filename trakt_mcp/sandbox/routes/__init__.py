"""Importing this package registers every fake endpoint."""

from trakt_mcp.sandbox.routes import catalogue, oauth, user

__all__ = ["catalogue", "oauth", "user"]
