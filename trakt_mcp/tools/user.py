"""What the user has watched: every watched show and movie, and the watched progress of one show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from trakt_mcp.tools.entries import when
from trakt_mcp.tools.format import bullet_list, fact, media_line
from trakt_mcp.tools.params import Limit, TraktId
from trakt_mcp.tools.spec import ToolArgs, ToolSpec
from trakt_mcp.trakt.client import endpoint

if TYPE_CHECKING:
    from trakt_mcp.app import App


class WatchedArgs(ToolArgs):
    limit: Limit | None = 0


class ProgressArgs(ToolArgs):
    show_id: TraktId
    hidden: bool = False
    specials: bool = False
    count_specials: bool = True
    last_activity: Literal["aired", "watched"] = "aired"
    verbose: bool = False


def _episodes_watched(row: dict[str, Any]) -> int:
    return sum(len(season.get("episodes") or []) for season in row.get("seasons") or [])


def _watched(kind: Literal["shows", "movies"]) -> Any:
    """GET /sync/watched/{kind} is one unpaginated list; `limit` 0 or null shows all of it."""

    async def run(app: App, args: WatchedArgs) -> str:
        rows = (await app.client.get(endpoint("sync", "watched", kind), auth=True)).data or []
        shown = rows[: args.limit] if args.limit else rows

        def render(row: dict[str, Any]) -> str:
            extra = [f"{row.get('plays', 0)} plays", f"last {fact(row.get('last_watched_at'))}"]
            if kind == "shows":
                extra.insert(1, f"{_episodes_watched(row)} episodes")
            return media_line(row[kind[:-1]], *extra)

        text = bullet_list(f"Your watched {kind} ({len(rows)})", shown, render, empty=f"No watched {kind} yet.")
        return text + (f"\n\n_{len(shown)} of {len(rows)} shown._" if len(shown) < len(rows) else "")

    return run


async def show_progress(app: App, args: ProgressArgs) -> str:
    params = {
        "hidden": args.hidden,
        "specials": args.specials,
        "count_specials": args.count_specials,
        "last_activity": args.last_activity,
    }
    data = (await app.client.get(endpoint("shows", args.show_id, "progress", "watched"), params=params, auth=True)).data
    data = data if isinstance(data, dict) else {}
    aired, done = int(data.get("aired") or 0), int(data.get("completed") or 0)
    share = f" ({done * 100 // aired}%)" if aired else ""
    lines = [f"## Your progress on {args.show_id}: {done}/{aired} episodes{share}"]
    if data.get("last_watched_at"):
        lines.append(f"- Last watched: {when(data['last_watched_at'])}")
    for key, label in (("next_episode", "Next to watch"), ("last_episode", "Last watched episode")):
        if isinstance(data.get(key), dict):
            lines.append(f"- {label}: {media_line(data[key])}")
    for season in data.get("seasons") or []:
        lines.append(f"- Season {season.get('number')}: {season.get('completed', 0)}/{season.get('aired', 0)}")
        if args.verbose:
            unwatched = [str(e.get("number")) for e in season.get("episodes") or [] if not e.get("completed")]
            lines.append(f"  - unwatched episodes: {', '.join(unwatched) or 'none'}")
    if data.get("hidden_seasons"):
        lines.append(f"- Hidden seasons: {', '.join(str(s.get('number')) for s in data['hidden_seasons'])}")
    return "\n".join(lines)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name=f"fetch_user_watched_{kind}",
        title=f"Your watched {kind}",
        description=f"{kind.capitalize()} you have watched, with plays; limit 0 = all.",
        group="user",
        risk="read",
        args=WatchedArgs,
        run=_watched(kind),
        endpoints=(f"GET /sync/watched/{kind}",),
    )
    for kind in ("shows", "movies")
] + [
    ToolSpec(
        name="fetch_show_progress",
        title="Show progress",
        description="Your watched progress on one show, season by season.",
        group="progress",
        risk="read",
        args=ProgressArgs,
        run=show_progress,
        endpoints=("GET /shows/{id}/progress/watched",),
    ),
]
