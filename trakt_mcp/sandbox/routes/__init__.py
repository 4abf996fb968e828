"""Importing this package registers every fake endpoint."""

from trakt_mcp.sandbox.routes import activity, catalogue, lists, oauth, user, watching

__all__ = ["activity", "catalogue", "lists", "oauth", "user", "watching"]
