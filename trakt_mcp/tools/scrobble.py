"""Watching now: check in to a movie, cancel an active check-in, and scrobble (start, pause, stop) a movie or an
episode with its progress, as a media player would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import model_validator

from trakt_mcp.tools.checkin import SHARING
from trakt_mcp.tools.entries import when
from trakt_mcp.tools.format import media_line, title
from trakt_mcp.tools.params import Episode, Season, TraktId, within
from trakt_mcp.tools.spec import ToolArgs, ToolSpec
from trakt_mcp.tools.writes import ItemRef, lookup_title
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.errors import Conflict, NotFound, TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

#: What each scrobble action tells Trakt, in words (Trakt marks an item watched at a stop of 80% or more).
ACTIONS = {"start": "Started watching", "pause": "Paused", "stop": "Stopped"}


class MovieCheckinArgs(ToolArgs):
    movie_id: TraktId
    message: str = ""


class CancelArgs(ToolArgs):
    pass


class ScrobbleArgs(ToolArgs):
    action: Literal["start", "pause", "stop"]
    progress: Annotated[float, within(0, 100, "a percentage")]
    movie_id: TraktId | None = None
    show_id: TraktId | None = None
    season: Season | None = None
    episode: Episode | None = None

    @model_validator(mode="after")
    def _names_one_item(self) -> ScrobbleArgs:
        episode = (self.show_id, self.season, self.episode)
        if self.movie_id and any(value is not None for value in episode):
            raise ValueError("give movie_id, or show_id with season and episode, not both")
        if not self.movie_id and any(value is None for value in episode):
            raise ValueError("give movie_id, or show_id with season and episode")
        return self

    def body(self) -> dict[str, Any]:
        if self.movie_id:
            return {"movie": {"ids": ItemRef.from_id(self.movie_id).ids()}, "progress": self.progress}
        return {
            "show": {"ids": ItemRef.from_id(self.show_id or "").ids()},
            "episode": {"season": self.season, "number": self.episode},
            "progress": self.progress,
        }


async def checkin_movie(app: App, args: MovieCheckinArgs) -> str:
    body: dict[str, Any] = {
        "movie": {"ids": ItemRef.from_id(args.movie_id).ids()},
        # Never posted to social networks from here: checkin_to_show offers sharing for those who want it.
        "sharing": dict.fromkeys(SHARING, False),
    }
    if args.message.strip():
        body["message"] = args.message
    try:
        data = (await app.client.request("POST", endpoint("checkin"), json_body=body, auth=True)).data or {}
    except Conflict as exc:
        raise TraktError(f"Not checked in to {args.movie_id}: {exc}") from None
    except NotFound:
        raise TraktError(f"Trakt has no movie {args.movie_id}; nothing was checked in.") from None
    return (
        f"## Checked in on Trakt: {title(data.get('movie') or {})}\n"
        f"- Watching since {when(data.get('watched_at'))} UTC (check-in id {data.get('id')})"
    )


async def checkin_movie_effect(app: App, args: MovieCheckinArgs) -> str:
    named = await lookup_title(app, "movies", ItemRef.from_id(args.movie_id))
    return f"Check in on Trakt to {named}" + (f', with the message "{args.message}"' if args.message else "")


async def cancel(app: App, args: CancelArgs) -> str:
    await app.client.request("DELETE", endpoint("checkin"), auth=True)
    return "Trakt cancelled your active check-in, if there was one; it no longer shows as watching."


async def cancel_effect(app: App, args: CancelArgs) -> str:
    return "Cancel your active Trakt check-in (what you are shown as watching now)"


async def scrobble(app: App, args: ScrobbleArgs) -> str:
    try:
        response = await app.client.request("POST", endpoint("scrobble", args.action), json_body=args.body(), auth=True)
    except NotFound:
        raise TraktError("Trakt found no such movie or episode; nothing was scrobbled.") from None
    except Conflict as exc:
        raise TraktError(f"Not scrobbled: {exc}") from None
    data = response.data if isinstance(response.data, dict) else {}
    item = data.get("movie") or data.get("episode") or {}
    show = f"{title(data['show'])} " if isinstance(data.get("show"), dict) else ""
    progress = float(data.get("progress") or args.progress)
    lines = [f"## {ACTIONS[args.action]} on Trakt: {show}{media_line(item)} at {progress:g}%"]
    if data.get("action") == "scrobble":
        lines.append("- Marked watched: added to your history")
    elif args.action in ("pause", "stop"):
        lines.append("- Saved as a paused playback (fetch_playback_progress shows it)")
    return "\n".join(lines)


async def scrobble_effect(app: App, args: ScrobbleArgs) -> str:
    if args.movie_id:
        named = await lookup_title(app, "movies", ItemRef.from_id(args.movie_id))
    else:
        show = await lookup_title(app, "shows", ItemRef.from_id(args.show_id or ""))
        named = f"{show} S{args.season or 0:02d}E{args.episode or 0:02d}"
    done = " (80% or more at stop: marked watched)" if args.action == "stop" and args.progress >= 80 else ""
    return f"Scrobble {args.action} of {named} at {args.progress:g}% on Trakt{done}"


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="checkin_to_movie",
        title="Check in to movie",
        description="Check in to a movie you are watching now.",
        group="checkin",
        risk="write",
        args=MovieCheckinArgs,
        run=checkin_movie,
        endpoints=("POST /checkin",),
        effect=checkin_movie_effect,
    ),
    ToolSpec(
        name="cancel_checkin",
        title="Cancel check-in",
        description="Cancel your active check-in.",
        group="checkin",
        risk="destructive",
        args=CancelArgs,
        run=cancel,
        endpoints=("DELETE /checkin",),
        effect=cancel_effect,
        idempotent=True,
    ),
    ToolSpec(
        name="scrobble",
        title="Scrobble",
        description="Scrobble playback start, pause or stop at progress %.",
        group="checkin",
        risk="write",
        args=ScrobbleArgs,
        run=scrobble,
        endpoints=("POST /scrobble/{action}",),
        effect=scrobble_effect,
        idempotent=False,
    ),
]
