"""Every Trakt endpoint the typed tools do not cover, through two tools over the endpoint catalogue:
find_trakt_endpoints (words -> entries) and call_trakt_api (one call, checked against its entry). The guard judges
each call_trakt_api call by the endpoint it reaches (trakt_mcp.guarded.route_call), never by the tool alone."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ValidationInfo, field_validator, model_validator

from trakt_mcp.tools.endpoints import Endpoint, Method, UnknownEndpoint, catalogue, check_value, find, search
from trakt_mcp.tools.params import text_of
from trakt_mcp.tools.spec import ToolArgs, ToolSpec
from trakt_mcp.trakt.client import MAX_AUTO_ITEMS, MAX_LIST_ITEMS, endpoint
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

#: The longest answer call_trakt_api returns; beyond it the JSON is cut and the answer says how to ask for less.
MAX_ANSWER_CHARS = 30_000
DEFAULT_LIMIT = 10
#: How many entries find_trakt_endpoints lists, best first.
FOUND = 5
QueryValue = str | int | float | bool
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict,
}  # fmt: skip


class FindArgs(ToolArgs):
    query: Annotated[str, text_of(200, "words")]


class CallArgs(ToolArgs):
    method: Method = "GET"
    path: Annotated[str, text_of(300, "an API path")]
    query: dict[str, Any] | None = None
    body: dict[str, Any] | None = None

    @field_validator("path")
    @classmethod
    def _in_catalogue(cls, value: str, info: ValidationInfo) -> str:
        """'/users/me/stats' (one leading slash, no trailing one, no query string); it must match an entry."""
        value = value.strip()
        if "?" in value or "#" in value:
            raise ValueError("expected a path without '?' or '#': put query parameters in `query`")
        value = "/" + "/".join(part for part in value.split("/") if part)
        method = info.data.get("method")
        if method is not None:
            try:
                _, found = find(method, value)
            except UnknownEndpoint as exc:
                raise ValueError(str(exc)) from None
            for name, segment in found.items():
                check_value(name, segment)
        return value

    @model_validator(mode="after")
    def _fits_the_entry(self) -> CallArgs:
        entry = self.entry()
        allowed = entry.query_names()
        for name, value in (self.query or {}).items():
            if not isinstance(value, QueryValue):
                raise ValueError(f"query.{name}: expected a string, number or boolean")
        unknown = sorted(set(self.query or {}) - set(allowed))
        if unknown:
            takes = f"it takes {', '.join(allowed)}" if allowed else "it takes no query parameters"
            raise ValueError(f"query: {entry.key} has no parameter {', '.join(unknown)}; {takes}")
        if self.body is not None and self.method == "GET":
            raise ValueError(f"body: {entry.key} is a GET and takes no body")
        for key, kind in entry.body.items():
            value = (self.body or {}).get(key)
            if value is not None and kind in JSON_TYPES and not isinstance(value, JSON_TYPES[kind]):
                raise ValueError(f"body.{key}: expected a JSON {kind} for {entry.key}")
        return self

    def entry(self) -> Endpoint:
        return find(self.method, self.path)[0]

    def endpoint_arguments(self) -> dict[str, Any]:
        """What a policy condition on the endpoint sees: path parameters by name, `query` and `body`."""
        found = find(self.method, self.path)[1]
        return {**found, "query": dict(self.query or {}), "body": dict(self.body or {})}


async def find_endpoints(app: App, args: FindArgs) -> str:
    found = search(args.query, FOUND)
    if not found:
        return f'No Trakt endpoint matches "{args.query}". Try other words (e.g. "lists", "history", "calendar").'
    lines = [f'## Trakt endpoints for "{args.query}"', *(entry.summary() for entry in found)]
    return "\n".join(lines) + "\nCall one with call_trakt_api (method, path with values, query, body)."


def _json(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= MAX_ANSWER_CHARS:
        return text
    return (
        text[:MAX_ANSWER_CHARS] + f"… (cut at {MAX_ANSWER_CHARS:,} characters: ask for fewer items with limit or page)"
    )


def _signed_in(app: App) -> bool:
    try:
        return app.auth.token() is not None
    except TraktError:
        return False


async def call_api(app: App, args: CallArgs) -> str:
    entry = args.entry()
    if app.fake is not None and not app.fake.implements(entry.method, args.path):
        raise TraktError(
            f"The sandbox does not implement this endpoint ({entry.key}: {entry.title}); nothing was sent. "
            "The typed tools all work in the sandbox; this call needs the real Trakt."
        )
    segments = [part for part in args.path.split("/") if part]
    path = endpoint(*segments)
    auth = entry.auth == "required" or (entry.auth == "optional" and _signed_in(app))
    query = dict(args.query or {})
    if entry.method == "GET" and entry.pages == "paginated" and "page" not in query:
        limit = int(query.pop("limit", DEFAULT_LIMIT))
        page = await app.client.paginate(path, params=query, limit=limit, auth=auth, cap=MAX_AUTO_ITEMS,
                                         ceiling=MAX_LIST_ITEMS)  # fmt: skip
        total = page.pagination.item_count if page.pagination else len(page.items)
        more = (
            f" (first {len(page.items)} of {total}; raise limit or ask for a page)" if total > len(page.items) else ""
        )
        return f"## {entry.title}: {entry.key} — {len(page.items)} items{more}\n{_json(page.items)}"
    response = await app.client.request(entry.method, path, params=query, json_body=args.body, auth=auth)
    facts = ""
    if response.pagination is not None:
        facts = f" — page {response.pagination.page} of {response.pagination.page_count}"
    if response.status == 204 or response.data is None:
        return f"## {entry.title}: {entry.key}\nTrakt answered {response.status}: done, nothing to show."
    return f"## {entry.title}: {entry.key} ({response.status}){facts}\n{_json(response.data)}"


async def call_effect(app: App, args: CallArgs) -> str:
    """'Remove items from history on your Trakt account: POST /sync/history/remove with body {...}'."""
    entry = args.entry()
    text = f"{entry.title} on your Trakt account: {entry.method} {args.path}"
    if args.query:
        text += f" with query {_json(args.query)[:300]}"
    if args.body:
        text += f" with body {_json(args.body)[:600]}"
    return text


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="find_trakt_endpoints",
        title="Find Trakt endpoints",
        description="Find Trakt API endpoints for what no other tool does.",
        group="api",
        risk="read",
        args=FindArgs,
        run=find_endpoints,
        offline=True,
    ),
    ToolSpec(
        name="call_trakt_api",
        title="Call Trakt API",
        description="Call an endpoint from find_trakt_endpoints (path with values).",
        group="api",
        risk="destructive",
        args=CallArgs,
        run=call_api,
        endpoints=tuple(entry.key for entry in catalogue()),
        effect=call_effect,
        routed=True,
    ),
]
