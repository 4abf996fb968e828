"""Which identity an MCP request comes from, as the guard asks on every request whatever the transport. Kept apart
from the HTTP server (`serve.py`) so that serving stdio never imports the HTTP stack to learn it is the local user."""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.context import ServerRequestContext

from guard.engine import UNAUTHENTICATED

#: The client ID given to the owner's own loopback token (and to `--no-auth`): the local user, not an identity.
LOCAL_USER = "(local user)"


def request_identity(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The identity the bearer check attached to the HTTP request behind this MCP request; None (the local user)
    over stdio and with the owner's loopback token; `(unauthenticated)` for an HTTP request nobody vouched for
    (`--no-auth`: any account on the machine), unless the owner trusts those (`--trust-unauthenticated`). In
    multi-user mode a person is known by their Trakt username (the people module loads only when a token carries
    claims: never over stdio)."""
    scope = getattr(ctx.request, "scope", None)
    if not isinstance(scope, dict):
        return None
    user = scope.get("user")
    if not isinstance(user, AuthenticatedUser):
        return UNAUTHENTICATED
    if user.access_token.claims:
        from trakt_mcp.remote.people import person_of

        person = person_of(user)
        if person is not None:
            return person
    name = user.access_token.client_id
    return None if name == LOCAL_USER else name


def request_grant(ctx: ServerRequestContext[Any, Any]) -> frozenset[str] | None:
    """What the person behind this request let their app do: the capability names their token carries (its OAuth
    scope, from the grant they gave on the consent page). None for everyone who is not a person of multi-user mode
    (the local user, the owner's token, identities): no grant applies to them."""
    scope = getattr(ctx.request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    if not isinstance(user, AuthenticatedUser) or not user.access_token.claims:
        return None
    from trakt_mcp.remote.people import person_of

    return frozenset(user.access_token.scopes) if person_of(user) is not None else None
