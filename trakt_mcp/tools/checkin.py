"""Check in to an episode: the show by ID, or by title (and year) resolved through search, never by guessing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from trakt_mcp.tools.params import Episode, Season, TraktId
from trakt_mcp.tools.spec import ToolArgs, ToolSpec, Unready
from trakt_mcp.tools.writes import ItemRef, lookup_title
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.errors import Conflict, TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

MAX_CANDIDATES = 10
SHARING = ("twitter", "mastodon", "tumblr")


class CheckinArgs(ToolArgs):
    season: Season
    episode: Episode
    show_id: TraktId | None = None
    show_title: str | None = None
    show_year: int | None = None
    message: str = ""
    share_twitter: bool = False
    share_mastodon: bool = False
    share_tumblr: bool = False

    @model_validator(mode="after")
    def _names_a_show(self) -> CheckinArgs:
        if not self.show_id and not (self.show_title or "").strip():
            raise ValueError("give show_id, or show_title (with show_year when several shows share it)")
        return self

    def shared_to(self) -> list[str]:
        return [network.capitalize() for network in SHARING if getattr(self, f"share_{network}")]


class ShowNotFound(TraktError):
    """The title names no show, or several: the user must say which."""


def _show_label(show: dict[str, Any]) -> str:
    return f"{show.get('title')} ({show.get('year')})" if show.get("year") else str(show.get("title"))


async def find_show(app: App, title: str, year: int | None) -> dict[str, Any]:
    """The one show `title` (+ `year`) names; several -> an error listing them with IDs, so the user chooses."""
    params: dict[str, Any] = {"query": title, "years": year, "limit": 50}
    rows = (await app.client.get(endpoint("search", "show"), params=params)).data or []
    shows: list[dict[str, Any]] = [
        row["show"] for row in rows if isinstance(row, dict) and isinstance(row.get("show"), dict)
    ]
    candidates = [show for show in shows if year is None or show.get("year") == year]
    exact = [show for show in candidates if str(show.get("title", "")).casefold() == title.strip().casefold()]
    chosen = exact if len(exact) == 1 else candidates
    named = f'"{title}"' + (f" ({year})" if year else "")
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise ShowNotFound(f"No show on Trakt matches {named}; nothing was checked in. Try search_shows.")
    listing = "\n".join(
        f"- {_show_label(show)}: show_id {show.get('ids', {}).get('trakt')}" for show in chosen[:MAX_CANDIDATES]
    )
    raise ShowNotFound(
        f"Several shows match {named}; nothing was checked in. Call again with the show_id of the one you mean:\n"
        f"{listing}"
    )


async def _target(app: App, args: CheckinArgs) -> tuple[dict[str, Any], str]:
    """The `show` object for the body, and how to name it."""
    if args.show_id:
        ref = ItemRef.from_id(args.show_id)
        return {"ids": ref.ids()}, await lookup_title(app, "shows", ref)
    show = await find_show(app, args.show_title or "", args.show_year)
    return {key: show[key] for key in ("title", "year", "ids") if key in show}, _show_label(show)


def _episode_code(args: CheckinArgs) -> str:
    return f"S{args.season:02d}E{args.episode:02d}"


async def checkin(app: App, args: CheckinArgs) -> str:
    show, label = await _target(app, args)
    body: dict[str, Any] = {
        "show": show,
        "episode": {"season": args.season, "number": args.episode},
        "sharing": {network: bool(getattr(args, f"share_{network}")) for network in SHARING},
    }
    if args.message.strip():
        # Absent, Trakt shares with the user's own "watching" text; an empty string would replace it with nothing.
        body["message"] = args.message
    try:
        data = (await app.client.request("POST", endpoint("checkin"), json_body=body, auth=True)).data or {}
    except Conflict as exc:
        raise TraktError(f"Not checked in to {label} {_episode_code(args)}: {exc}") from None
    episode = data.get("episode") or {}
    name = f" “{episode['title']}”" if episode.get("title") else ""
    lines = [
        f"## Checked in on Trakt: {_show_label(data.get('show') or {}) or label} {_episode_code(args)}{name}",
        f"- Watching since {str(data.get('watched_at', ''))[:16].replace('T', ' ')} UTC (check-in id {data.get('id')})",
    ]
    if args.shared_to():
        lines.append(f"- Shared to {', '.join(args.shared_to())}")
    return "\n".join(lines)


async def checkin_ready(app: App, args: CheckinArgs) -> Unready | None:
    """A title that names no show, or several, cannot be checked in to: say so before anyone is asked."""
    if args.show_id:
        return None
    try:
        await find_show(app, args.show_title or "", args.show_year)
    except ShowNotFound as exc:
        return Unready(f"{exc} Nobody was asked to approve it.")
    return None  # found, or Trakt cannot tell now (the check-in itself will say)


async def checkin_effect(app: App, args: CheckinArgs) -> str:
    if args.show_id:
        target = await lookup_title(app, "shows", ItemRef.from_id(args.show_id))
    else:
        try:
            target = _show_label(await find_show(app, args.show_title or "", args.show_year))
        except TraktError:
            target = f'the show titled "{args.show_title}" (only if exactly one show has that title)'
    text = f"Check in on Trakt to {target} {_episode_code(args)}"
    if args.shared_to():
        text += f", shared to {', '.join(args.shared_to())}"
    return text + (f', with the message "{args.message}"' if args.message else "")


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="checkin_to_show",
        title="Check in",
        description="Check in to an episode you are watching now.",
        group="checkin",
        risk="write",
        args=CheckinArgs,
        run=checkin,
        endpoints=("POST /checkin", "GET /search/show"),
        effect=checkin_effect,
        ready=checkin_ready,
    ),
]
