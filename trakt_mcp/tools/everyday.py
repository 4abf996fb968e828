"""What people ask an agent for most: what airs this week (calendars), what to watch next (up next across every
show in progress), and how much they watched (stats)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from pydantic import AfterValidator

from trakt_mcp.tools.entries import when
from trakt_mcp.tools.format import bullet_list, fact, media_line, title
from trakt_mcp.tools.params import within
from trakt_mcp.tools.spec import ToolArgs, ToolSpec
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

#: Trakt's calendars answer at most 33 days at a time.
MAX_DAYS = 33
PROGRESS_CONCURRENCY = 4
#: Up next lists at most this many shows (the most recently watched).
MAX_UP_NEXT = 25
#: calendar -> (path after /calendars/{my|all}/, what a row is about)
CALENDARS: dict[str, tuple[tuple[str, ...], str]] = {
    "shows": (("shows",), "episode"),
    "new_shows": (("shows", "new"), "episode"),
    "premieres": (("shows", "premieres"), "episode"),
    "movies": (("movies",), "movie"),
}


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError("expected a date such as '2024-05-01' (YYYY-MM-DD), or nothing for today") from None


class CalendarArgs(ToolArgs):
    calendar: Literal["shows", "new_shows", "premieres", "movies"] = "shows"
    mine: bool = True
    start_date: Annotated[str | None, AfterValidator(_day)] = None
    days: Annotated[int, within(1, MAX_DAYS, "a number of days")] = 7


class UpNextArgs(ToolArgs):
    pass


class StatsArgs(ToolArgs):
    pass


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


async def fetch_calendar(app: App, args: CalendarArgs) -> str:
    start = args.start_date or _today()
    parts, kind = CALENDARS[args.calendar]
    path = endpoint("calendars", "my" if args.mine else "all", *parts, start, args.days)
    rows = (await app.client.get(path, auth=args.mine)).data or []

    def render(row: dict[str, Any]) -> str:
        if kind == "movie":
            return f"{fact(row.get('released'))} " + media_line(row.get("movie") or {})
        show, episode = row.get("show") or {}, row.get("episode") or {}
        return f"{when(row.get('first_aired'))} UTC {title(show)} " + media_line(episode)

    whose = "Your" if args.mine else "All"
    heading = f"{whose} calendar: {args.calendar.replace('_', ' ')}, {start} + {args.days} days"
    return bullet_list(heading, rows if isinstance(rows, list) else [], render, empty="Nothing airs in this window.")


async def _progress(app: App, show: dict[str, Any]) -> dict[str, Any] | None:
    ids = show.get("ids") or {}
    key = ids.get("trakt") or ids.get("slug")
    if key is None:
        return None
    try:
        data = (await app.client.get(endpoint("shows", key, "progress", "watched"), auth=True)).data
    except TraktError:
        return None
    return data if isinstance(data, dict) else None


async def fetch_up_next(app: App, args: UpNextArgs) -> str:
    """Every watched show, most recently watched first; each show's next episode from its watched progress."""
    watched = (await app.client.get(endpoint("sync", "watched", "shows"), auth=True)).data or []
    shows = sorted(
        (row for row in watched if isinstance(row, dict) and isinstance(row.get("show"), dict)),
        key=lambda row: str(row.get("last_watched_at") or ""),
        reverse=True,
    )
    progress: dict[int, dict[str, Any] | None] = {}
    gate = anyio.Semaphore(PROGRESS_CONCURRENCY)

    async def load(index: int) -> None:
        async with gate:
            progress[index] = await _progress(app, shows[index]["show"])

    async with anyio.create_task_group() as group:
        for index in range(len(shows)):
            group.start_soon(load, index)
    lines = []
    for index, row in enumerate(shows):
        data = progress.get(index) or {}
        upcoming = data.get("next_episode")
        if not isinstance(upcoming, dict):
            continue
        left = int(data.get("aired") or 0) - int(data.get("completed") or 0)
        lines.append((row, upcoming, left))
    shown = lines[:MAX_UP_NEXT]

    def render(entry: tuple[dict[str, Any], dict[str, Any], int]) -> str:
        row, upcoming, left = entry
        last = when(row.get("last_watched_at"))
        return f"{media_line(row['show'])}: {media_line(upcoming)}, {left} left, last watched {last}"

    return bullet_list("Up next", shown, render, empty="No show in progress: every watched show is finished.")


def _stats_line(label: str, data: dict[str, Any], keys: tuple[str, ...]) -> str:
    parts = [f"{fact(data[key])} {key.replace('_', ' ')}" for key in keys if data.get(key) is not None]
    if data.get("minutes") is not None:
        parts.append(f"{int(data['minutes']) // 60:,} hours")
    return f"- {label}: {', '.join(parts) or 'none'}"


async def fetch_stats(app: App, args: StatsArgs) -> str:
    data = (await app.client.get(endpoint("users", "me", "stats"), auth=True)).data
    data = data if isinstance(data, dict) else {}
    lines = ["## Your Trakt stats"]
    for label, key, keys in (
        ("Movies", "movies", ("plays", "watched", "collected", "ratings", "comments")),
        ("Shows", "shows", ("watched", "collected", "ratings", "comments")),
        ("Episodes", "episodes", ("plays", "watched", "collected", "ratings", "comments")),
        ("Network", "network", ("friends", "followers", "following")),
    ):
        if isinstance(data.get(key), dict):
            lines.append(_stats_line(label, data[key], keys))
    ratings = data.get("ratings")
    if isinstance(ratings, dict) and ratings.get("total") is not None:
        lines.append(f"- Ratings given: {fact(ratings['total'])}")
    return "\n".join(lines)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="fetch_calendar",
        title="Calendar",
        description="Airings from start_date (today) for days: yours, or all (mine=false).",
        group="calendar",
        risk="read",
        args=CalendarArgs,
        run=fetch_calendar,
        endpoints=tuple(
            f"GET /calendars/{scope}/{'/'.join(parts)}/{{start_date}}/{{days}}"
            for scope in ("my", "all")
            for parts, _ in CALENDARS.values()
        ),
    ),
    ToolSpec(
        name="fetch_up_next",
        title="Up next",
        description="Next episode of each show in progress, last watched first.",
        group="progress",
        risk="read",
        args=UpNextArgs,
        run=fetch_up_next,
        endpoints=("GET /sync/watched/shows", "GET /shows/{id}/progress/watched"),
    ),
    ToolSpec(
        name="fetch_user_stats",
        title="Your stats",
        description="Your plays, hours watched and ratings.",
        group="user",
        risk="read",
        args=StatsArgs,
        run=fetch_stats,
        endpoints=("GET /users/{id}/stats",),
    ),
]
