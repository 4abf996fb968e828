"""`completion/complete` for prompt and resource-template arguments: show and movie ids from Trakt search by title,
season numbers of a show, chart periods, translation languages and fixed prompt choices.

An unknown prompt or template, or an argument with nothing to offer, gets an empty list (the guard answers the
same for a template it hides, so hiding cannot be told from absence). Titles shorter than MIN_TITLE characters are
not searched, so typing does not spend Trakt's rate limit on every keystroke.

Every look-up goes through the guard's gate (guard.gate.use) as the tool whose data it fetches: a title as
`search_shows` / `search_movies`, a show's seasons as `fetch_show_seasons`, judged for the caller like a call of that
tool (hidden or denied: no values; each completion counts against the tool's rate limits and is audited with
`"via": "completion"`, past 120 lines a minute per caller summarised in one `suppressed` line)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp import types

from guard.gate import Refused, use
from trakt_mcp.server.prompts import PROMPTS_BY_NAME
from trakt_mcp.server.resources import TEMPLATES
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App

MIN_TITLE = 2
MAX_VALUES = 100
PERIODS = ("daily", "weekly", "monthly", "yearly", "all")
#: The languages Trakt has translations in most often (ISO 639-1).
LANGUAGES = (
    "ar", "bg", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi", "hr", "hu", "id", "it", "ja", "ko",
    "lt", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sr", "sv", "th", "tr", "uk", "vi", "zh",
)  # fmt: skip

Source = Callable[["App", str, dict[str, str]], Awaitable[list[str]]]


def _fixed(choices: tuple[str, ...]) -> Source:
    async def offer(app: App, value: str, context: dict[str, str]) -> list[str]:
        return [choice for choice in choices if choice.startswith(value.lower())]

    return offer


def _titles(*kinds: str) -> Source:
    """Ids (slug, else Trakt ID) of the shows or movies whose title matches what was typed, best first."""

    async def offer(app: App, value: str, context: dict[str, str]) -> list[str]:
        if len(value.strip()) < MIN_TITLE:
            return []
        ids: list[str] = []
        for kind in kinds:
            async with use(f"search_{kind}s", {"query": value.strip()}, "completion") as admission:
                if isinstance(admission, Refused):
                    continue
                response = await app.client.get(endpoint("search", kind), params={"query": value.strip(), "limit": 10})
            for hit in response.data if isinstance(response.data, list) else []:
                item = hit.get(kind) if isinstance(hit, dict) else None
                item_ids = item.get("ids") if isinstance(item, dict) else None
                found = (item_ids.get("slug") or item_ids.get("trakt")) if isinstance(item_ids, dict) else None
                if found is not None and str(found) not in ids:
                    ids.append(str(found))
        return ids

    return offer


async def _seasons(app: App, value: str, context: dict[str, str]) -> list[str]:
    show = context.get("show_id")
    if not show:
        return []
    async with use("fetch_show_seasons", {"show_id": show}, "completion") as admission:
        if isinstance(admission, Refused):
            return []
        response = await app.client.get(endpoint("shows", show, "seasons"))
    numbers = [str(season.get("number")) for season in response.data or [] if isinstance(season, dict)]
    return [number for number in numbers if number.startswith(value)]


#: What completes each argument, by name: the same for every template and prompt that has it.
SOURCES: dict[str, Source] = {
    "show_id": _titles("show"),
    "movie_id": _titles("movie"),
    "season": _seasons,
    "period": _fixed(PERIODS),
    "language": _fixed(LANGUAGES),
    "query": _titles("show", "movie"),
}
_TEMPLATE_VARIABLES = {template.uri: template.uri for template in TEMPLATES}


def _source(ref: types.PromptReference | types.ResourceTemplateReference, name: str) -> Source | None:
    if isinstance(ref, types.PromptReference):
        prompt = PROMPTS_BY_NAME.get(ref.name)
        argument = next((a for a in prompt.arguments if a.name == name), None) if prompt else None
        if argument is None:
            return None
        return SOURCES["query"] if argument.completes == "title" else _fixed(argument.choices)
    if ref.uri in _TEMPLATE_VARIABLES and f"{{{name}}}" in ref.uri:
        return SOURCES.get(name)
    return None


def handler(app: App) -> Callable[[ServerRequestContext[Any, Any], types.CompleteRequestParams], Any]:
    async def complete(
        ctx: ServerRequestContext[Any, Any], params: types.CompleteRequestParams
    ) -> types.CompleteResult:
        source = _source(params.ref, params.argument.name)
        values: list[str] = []
        if source is not None:
            context = dict(params.context.arguments or {}) if params.context else {}
            try:
                values = await source(app, params.argument.value, context)
            except TraktError:  # Trakt unreachable or the show unknown: nothing to offer, not a failed request
                values = []
        return types.CompleteResult(
            completion=types.Completion(
                values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES
            )
        )

    return complete


def register(server: MCPServer, app: App) -> None:
    server._lowlevel_server.add_request_handler("completion/complete", types.CompleteRequestParams, handler(app))
