"""Importing this package registers every fake endpoint."""

from trakt_mcp.sandbox.routes import catalogue, lists, oauth, user, watching

__all__ = ["catalogue", "lists", "oauth", "user", "watching"]
