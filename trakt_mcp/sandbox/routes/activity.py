"""The signed-in user's activity endpoints: show progress, paused playback, recommendations and check-in (409 while
another check-in runs)."""

from __future__ import annotations

from typing import Any

from trakt_mcp.sandbox.account import (
    EPISODES,
    KIND,
    POOLS,
    by_path_id,
    episode_json,
    episodes_of,
    iso,
    lookup,
    show_of,
    state,
    subject,
    sync_write,
)
from trakt_mcp.sandbox.data import SHOWS, minimal
from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.state import Checkin, Play
from trakt_mcp.sandbox.wire import FakeRequest, Reply, error

# -- progress and playback ----------------------------------------------------------------------------------------


@route("GET", "/shows/{id}/progress/watched", auth=True)
def show_progress(request: FakeRequest) -> Reply:
    show = by_path_id("show", request.params["id"])
    if show is None:
        return error(404, "show not found")
    episodes = episodes_of(show["ids"]["trakt"])
    if request.query.get("specials") != "true":
        episodes = [e for e in episodes if e["season"] > 0]
    last_seen = {
        e["ids"]["trakt"]: max(
            (p.watched_at for p in state(request).plays_of("episode", e["ids"]["trakt"])), default=None
        )
        for e in episodes
    }
    seasons = []
    for number in sorted({e["season"] for e in episodes}):
        rows = [
            {
                "number": e["number"],
                "completed": last_seen[e["ids"]["trakt"]] is not None,
                "last_watched_at": last_seen[e["ids"]["trakt"]],
            }
            for e in episodes
            if e["season"] == number
        ]
        seasons.append(
            {"number": number, "aired": len(rows), "completed": sum(r["completed"] for r in rows), "episodes": rows}
        )
    watched = [e for e in episodes if last_seen[e["ids"]["trakt"]]]
    unwatched = [e for e in episodes if not last_seen[e["ids"]["trakt"]]]
    latest = max(watched, key=lambda e: str(last_seen[e["ids"]["trakt"]]), default=None)
    return Reply(
        {
            "aired": len(episodes),
            "completed": len(watched),
            "last_watched_at": last_seen[latest["ids"]["trakt"]] if latest else None,
            "reset_at": None,
            "seasons": seasons,
            "hidden_seasons": [],
            "next_episode": episode_json(unwatched[0]) if unwatched else None,
            "last_episode": episode_json(latest) if latest else None,
        }
    )


@route("GET", "/sync/playback", auth=True)
@route("GET", "/sync/playback/{type}", auth=True)
def playback(request: FakeRequest) -> Reply:
    wanted = request.params.get("type")
    if wanted not in (None, "movies", "episodes"):
        return error(404, "unknown type")
    rows = [
        {"progress": p.progress, "paused_at": p.paused_at, "id": p.id, "type": p.kind, **subject(p.kind, p.trakt)}
        for p in state(request).playback
        if wanted is None or p.kind == KIND[wanted]
    ]
    return Reply(rows)


@route("DELETE", "/sync/playback/{id}", auth=True)
def remove_playback(request: FakeRequest) -> Reply:
    paused = next((p for p in state(request).playback if str(p.id) == request.params["id"]), None)
    if paused is None:
        return error(404, "playback not found")
    state(request).playback.remove(paused)
    return Reply(status=204)


# -- recommendations ----------------------------------------------------------------------------------------------


@route("GET", "/recommendations/{type}", auth=True)
def recommendations(request: FakeRequest) -> Reply:
    kind = {"movies": "movie", "shows": "show"}.get(request.params["type"])
    if kind is None:
        return error(404, "unknown type")
    seen = {(p.kind, p.trakt) for p in state(request).history}
    seen |= {("show", e["show"]) for e in EPISODES if ("episode", e["ids"]["trakt"]) in seen}
    if request.query.get("ignore_watchlisted") == "true":
        seen |= {(e.kind, e.trakt) for e in state(request).watchlist}
    pool = [
        item for item in POOLS[kind] if (kind, item["ids"]["trakt"]) not in seen | state(request).hidden_recommendations
    ]
    limit = min(max(request.int_query("limit", 10), 1), 100)
    return Reply([{**minimal(item), "favorited_by": []} for item in pool[:limit]])


@route("DELETE", "/recommendations/{type}/{id}", auth=True)
def hide_recommendation(request: FakeRequest) -> Reply:
    kind = {"movies": "movie", "shows": "show"}.get(request.params["type"])
    item = by_path_id(kind, request.params["id"])
    if kind is None or item is None:
        return error(404, "not found")
    state(request).hidden_recommendations.add((kind, item["ids"]["trakt"]))
    return Reply(status=204)


@route("POST", "/users/hidden/{section}/remove", auth=True)
def unhide(request: FakeRequest) -> Reply:
    if request.params["section"] != "recommendations":
        return error(404, "unknown section")

    def apply(section: str, sent: dict[str, Any], item: dict[str, Any]) -> str | None:
        key = (KIND[section], item["ids"]["trakt"])
        if key not in state(request).hidden_recommendations:
            return None
        state(request).hidden_recommendations.discard(key)
        return "deleted"

    return sync_write(request, apply, counted="deleted")


# -- check-in -----------------------------------------------------------------------------------------------------


def _checkin_episode(body: dict[str, Any]) -> dict[str, Any] | None:
    """The episode a check-in names: by episode IDs, or by show (IDs, or title + year) and season/number."""
    episode: dict[str, Any] = body.get("episode") or {}
    if episode.get("ids"):
        return lookup("episode", episode["ids"])
    show: dict[str, Any] = body.get("show") or {}
    found = lookup("show", show.get("ids")) or next(
        (s for s in SHOWS if s["title"] == show.get("title") and s["year"] == show.get("year")), None
    )
    if found is None:
        return None
    candidates = episodes_of(found["ids"]["trakt"], episode.get("season"))
    return next((e for e in candidates if e["number"] == episode.get("number")), None)


@route("POST", "/checkin", auth=True)
def checkin(request: FakeRequest) -> Reply:
    body = request.body if isinstance(request.body, dict) else {}
    moment = request.fake.clock()
    current = state(request).checkin
    if current is not None and current.expires_at > moment:
        return Reply({"watched_at": iso(current.watched_at), "expires_at": iso(current.expires_at)}, status=409)
    episode = _checkin_episode(body)
    if episode is None:
        return error(404, "episode not found")
    show = show_of(episode)
    active = state(request).new_id()
    state(request).checkin = Checkin(active, episode["ids"]["trakt"], moment, moment + show["runtime"] * 60)
    state(request).history.append(Play(active, "episode", episode["ids"]["trakt"], iso(moment), "checkin"))
    sharing = body.get("sharing") or {}
    return Reply(
        {
            "id": active,
            "watched_at": iso(moment),
            "sharing": {k: bool(sharing.get(k)) for k in ("twitter", "mastodon", "tumblr")},
            "episode": episode_json(episode),
            "show": minimal(show),
        },
        status=201,
    )


@route("DELETE", "/checkin", auth=True)
def cancel_checkin(request: FakeRequest) -> Reply:
    state(request).checkin = None
    return Reply(status=204)
