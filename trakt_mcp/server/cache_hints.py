"""Caching hints for the 2026-07-28 protocol era (`ttlMs` / `cacheScope` on cacheable results).

The lists depend on the caller's policy (hidden tools and resources), so they are `private`; a policy edit is
announced with `list_changed`, so a few minutes is safe. Prompts are the same for everyone. A resource read is
`public` for the public catalogue (charts, shows, movies, seasons: what Trakt itself lets any cache keep for a few
minutes) and `private`, immediately stale, for anything about the signed-in user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.uri_template import UriTemplate

from trakt_mcp.server.resources import RESOURCES, TEMPLATES
from trakt_mcp.tools.spec import ToolSpec
from trakt_mcp.trakt.cache import MAX_FRESH

MODERN_ERA = "2026-07-28"
LISTS_TTL_MS = 5 * 60 * 1000
CATALOGUE_TTL_MS = int(MAX_FRESH * 1000 / 2)
#: Tool groups whose data is the same for every caller.
PUBLIC_GROUPS = frozenset({"shows", "movies", "seasons", "episodes", "people", "search", "comments"})

CACHE_HINTS: Mapping[CacheableMethod, CacheHint] = {
    "tools/list": CacheHint(ttl_ms=LISTS_TTL_MS, scope="private"),
    "resources/list": CacheHint(ttl_ms=LISTS_TTL_MS, scope="private"),
    "resources/templates/list": CacheHint(ttl_ms=LISTS_TTL_MS, scope="private"),
    "prompts/list": CacheHint(ttl_ms=LISTS_TTL_MS, scope="public"),
    "resources/read": CacheHint(ttl_ms=0, scope="private"),
}


def catalogue_reads(tools: Mapping[str, ToolSpec[Any]]) -> ServerMiddleware[Any]:
    """Middleware: a read of a public catalogue resource is marked `public` and fresh for CATALOGUE_TTL_MS."""
    public = [
        spec for spec in (*RESOURCES, *TEMPLATES) if spec.tool in tools and tools[spec.tool].group in PUBLIC_GROUPS
    ]
    exact = {spec.uri for spec in public if "{" not in spec.uri}
    templates = [UriTemplate.parse(spec.uri) for spec in public if "{" in spec.uri]

    def is_public(uri: str) -> bool:
        return uri in exact or any(template.match(uri) is not None for template in templates)

    async def mark(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "resources/read" or str(ctx.protocol_version) < MODERN_ERA or not isinstance(result, dict):
            return result
        uri = (ctx.params or {}).get("uri")
        if isinstance(uri, str) and "contents" in result and is_public(uri):
            return {**result, "ttlMs": CATALOGUE_TTL_MS, "cacheScope": "public"}
        return result

    return mark
