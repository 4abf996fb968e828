"""Importing this package registers every fake endpoint."""

from trakt_mcp.sandbox.routes import activity, catalogue, oauth, user

__all__ = ["activity", "catalogue", "oauth", "user"]
