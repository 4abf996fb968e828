"""What each card shows: which tools render which card, and the data a card gets in the result's `_meta`.

The text a tool returns is never changed: the card's data is fetched from Trakt separately (with posters,
`extended=images`) and only for clients that negotiated MCP Apps. Every button a card draws is a tool call with
exact arguments, previewed by the guard for this caller (`Ask`): a hidden tool has no button, a denied one is
greyed with the rule's reason, one that needs confirmation says so; the click itself goes through the guard.

A card's data comes through the guard's gate like everything fetched for a caller (guard.gate): a builder runs
inside the admission of the call it decorates (trakt_mcp.apps.layer.CardData sits inside the guard), so it reaches
only that tool's endpoints; data of another tool (a show's progress on the watchlist card, a show's poster on the
progress card) is judged for the caller as that tool (`use(..., "card")`). Refused: the card leaves that data out
and says so in `notice`, in plain words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guard.gate import Refused, use
from trakt_mcp.tools.catalogue import CHART_ROWS, OTHER_ROWS, build_path
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

#: The `_meta` key a card reads its data from (the model is never shown `_meta`).
CARD_KEY = "trakt-mcp/card"
#: The cards' URIs are short: each is named in tools/list once per tool that shows it, and every byte there is
#: context the agent pays for (the whole list must stay within 30,000 bytes with the cards).
TITLE = "ui://t/title"
GRID = "ui://t/grid"
LIBRARY = "ui://t/list"
APPROVAL = "ui://t/ask"
#: A grid shows at most this many posters; the text answer still lists everything asked for.
GRID_MAX = 30
#: The watchlist card looks up progress for at most this many shows (one Trakt call each).
PROGRESS_MAX = 12

#: Previews a tool call for the caller: {"state": "allow" | "confirm" | "deny" | "hidden", "reason": ...}.
Ask = Callable[[str, dict[str, Any]], dict[str, Any]]
Builder = Callable[["App", dict[str, Any], Ask], Awaitable[dict[str, Any] | None]]
Json = dict[str, Any]


def poster(item: Json) -> str | None:
    """Trakt sends image URLs without a scheme ('walter-r2.trakt.tv/images/...')."""
    posters = (item.get("images") or {}).get("poster") or []
    return f"https://{posters[0]}" if posters and isinstance(posters[0], str) else None


def action(ask: Ask, label: str, tool: str, arguments: Json, **extra: Any) -> Json | None:
    """A button: dropped when the guard hides the tool from this caller, else drawn with the guard's preview."""
    shown = ask(tool, arguments)
    if shown["state"] == "hidden":
        return None
    return {"label": label, "tool": tool, "arguments": arguments, **shown, **extra}


def actions(*candidates: Json | None) -> list[Json]:
    return [candidate for candidate in candidates if candidate is not None]


def brief(item: Json, kind: str) -> Json:
    ids = item.get("ids") or {}
    return {
        "kind": kind,
        "title": item.get("title") or "(untitled)",
        "year": item.get("year"),
        "poster": poster(item),
        "id": str(ids.get("slug") or ids.get("trakt") or ""),
        "trakt": ids.get("trakt"),
    }


# -- the title card -------------------------------------------------------------------------------------------


def title_actions(ask: Ask, kind: str, trakt: Any) -> list[Json]:
    media = f"{kind}s"
    item = [{"trakt_id": str(trakt)}]
    return actions(
        action(ask, "Add to watchlist", "add_user_watchlist", {"watchlist_type": media, "items": item}),
        action(ask, "Remove from watchlist", "remove_user_watchlist", {"watchlist_type": media, "items": item}),
        action(ask, "Mark watched", "add_to_history", {"history_type": media, "items": item}),
        # The card puts the chosen score in place of this one; the preview is for a typical rating.
        action(
            ask,
            "Rate",
            "add_user_ratings",
            {"rating_type": media, "items": [{"trakt_id": str(trakt), "rating": 8}]},
            rating=True,
        ),
    )


def title_builder(kind: str) -> Builder:
    async def build(app: App, arguments: Json, ask: Ask) -> Json | None:
        key = arguments.get(f"{kind}_id")
        item = (await app.client.get(endpoint(f"{kind}s", str(key)), params={"extended": "full,images"})).data
        if not isinstance(item, dict):
            return None
        return {
            "view": "title",
            **brief(item, kind),
            "rating": item.get("rating"),
            "votes": item.get("votes"),
            "runtime": item.get("runtime"),
            "genres": item.get("genres") or [],
            "overview": item.get("overview"),
            "certification": item.get("certification"),
            "actions": title_actions(ask, kind, (item.get("ids") or {}).get("trakt")),
        }

    return build


# -- the grid -------------------------------------------------------------------------------------------------

_GRID_ROWS = {row.name: row for row in (*CHART_ROWS, *OTHER_ROWS) if row.name.startswith(("fetch_", "search_"))}
GRID_TOOLS = [
    *(row.name for row in CHART_ROWS),
    "fetch_boxoffice_movies",
    "search_shows",
    "search_movies",
]


def grid_builder(tool: str) -> Builder:
    row = _GRID_ROWS[tool]
    kind = "show" if "show" in tool else "movie"

    async def build(app: App, arguments: Json, ask: Ask) -> Json | None:
        params: Json = {"extended": "images"}
        if "query" in arguments:
            params["query"] = arguments["query"]
        if "limit" in arguments or "page" in arguments:
            params["limit"] = min(int(arguments.get("limit") or 10) or GRID_MAX, GRID_MAX)
            params["page"] = arguments.get("page") or 1
        defaults = {"period": "weekly", **arguments}
        rows = (await app.client.get(build_path(row.path, defaults), params=params)).data or []
        opener = f"fetch_{kind}_summary"
        items = []
        for entry in rows[:GRID_MAX]:
            item = entry.get(kind) if isinstance(entry.get(kind), dict) else entry
            shown = brief(item, kind)
            shown["open"] = action(ask, "Open", opener, {f"{kind}_id": shown["id"]})
            items.append(shown)
        return {"view": "grid", "heading": row.title, "kind": kind, "items": items}

    return build


# -- the user's library: watchlist and show progress ----------------------------------------------------------


def progress_of(ask: Ask, data: Json) -> Json:
    upcoming = data.get("next_episode") or None
    shown: Json = {"aired": data.get("aired") or 0, "completed": data.get("completed") or 0, "next": None}
    if isinstance(upcoming, dict):
        episode = {k: upcoming.get(k) for k in ("season", "number", "title")}
        trakt = (upcoming.get("ids") or {}).get("trakt")
        arguments = {"history_type": "episodes", "items": [{"trakt_id": str(trakt)}]}
        shown["next"] = {**episode, "mark": action(ask, "Mark watched", "add_to_history", arguments)}
    return shown


#: What a card says when the guard keeps some of its data out (the reason follows).
WITHHELD = "{what} not shown: {reason}."


async def _progress(app: App, show: str, via: str | None) -> Json | Refused | None:
    """A show's watched progress; `via` "card": judged as fetch_show_progress (None: the call itself is it)."""
    try:
        if via is None:
            data = (await app.client.get(endpoint("shows", show, "progress", "watched"), auth=True)).data
        else:
            async with use("fetch_show_progress", {"show_id": show}, via) as admission:
                if isinstance(admission, Refused):
                    return admission
                data = (await app.client.get(endpoint("shows", show, "progress", "watched"), auth=True)).data
    except TraktError:
        return None
    return data if isinstance(data, dict) else None


async def watchlist(app: App, arguments: Json, ask: Ask) -> Json | None:
    media = arguments.get("watchlist_type", "all")
    path = endpoint("sync", "watchlist", media, arguments.get("sort_by", "rank"), arguments.get("sort_how", "asc"))
    params = {"extended": "images", "page": arguments.get("page") or 1, "limit": GRID_MAX}
    rows = (await app.client.get(path, params=params, auth=True)).data or []
    items: list[Json] = []
    for row in rows[:GRID_MAX]:
        kind = row.get("type")
        if kind not in ("show", "movie"):
            continue
        shown = brief(row[kind], kind)
        removal = {"watchlist_type": f"{kind}s", "items": [{"trakt_id": str(shown["trakt"])}]}
        shown["actions"] = actions(action(ask, "Remove", "remove_user_watchlist", removal))
        items.append(shown)
    shows = [item for item in items if item["kind"] == "show"][:PROGRESS_MAX]
    found = await asyncio.gather(*(_progress(app, str(item["trakt"]), "card") for item in shows))
    card: Json = {"view": "library", "heading": "Your watchlist", "items": items}
    for item, data in zip(shows, found, strict=True):
        item["progress"] = progress_of(ask, data) if isinstance(data, dict) else None
        if isinstance(data, Refused):
            card["notice"] = WITHHELD.format(what="Progress", reason=data.reason)
    return card


async def show_progress(app: App, arguments: Json, ask: Ask) -> Json | None:
    show = str(arguments.get("show_id"))
    data = await _progress(app, show, None)
    if not isinstance(data, dict):
        return None
    notice = None
    async with use("fetch_show_summary", {"show_id": show}, "card") as admission:
        if isinstance(admission, Refused):
            item: Any = {"title": show}
            notice = WITHHELD.format(what="The show's title and poster", reason=admission.reason)
        else:
            item = (await app.client.get(endpoint("shows", show), params={"extended": "images"})).data
    if not isinstance(item, dict):
        return None
    shown = brief(item, "show")
    shown["progress"] = progress_of(ask, data)
    shown["seasons"] = [
        {"number": s.get("number"), "aired": s.get("aired") or 0, "completed": s.get("completed") or 0}
        for s in data.get("seasons") or []
    ]
    shown["actions"] = []
    card: Json = {"view": "library", "heading": "Your progress", "items": [shown]}
    if notice is not None:
        card["notice"] = notice
    return card


@dataclass(frozen=True)
class Card:
    uri: str
    build: Builder


CARDS: dict[str, Card] = {
    "fetch_show_summary": Card(TITLE, title_builder("show")),
    "fetch_movie_summary": Card(TITLE, title_builder("movie")),
    **{tool: Card(GRID, grid_builder(tool)) for tool in GRID_TOOLS},
    "fetch_user_watchlist": Card(LIBRARY, watchlist),
    "fetch_show_progress": Card(LIBRARY, show_progress),
}
