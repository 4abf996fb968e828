"""The signed-in user's sync endpoints: watched, ratings, watchlist and history, answering in Trakt's shapes (201 +
counts + `not_found` for sync writes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from trakt_mcp.sandbox.account import (
    EPISODES,
    KIND,
    POOLS,
    counts,
    now,
    state,
    subject,
    sync_write,
)
from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.state import Listed, Play, Rating
from trakt_mcp.sandbox.wire import FakeRequest, Reply, error, paginated

# -- watched ------------------------------------------------------------------------------------------------------


@route("GET", "/sync/watched/movies", auth=True)
def watched_movies(request: FakeRequest) -> Reply:
    rows = []
    for trakt in dict.fromkeys(p.trakt for p in state(request).history if p.kind == "movie"):
        plays = state(request).plays_of("movie", trakt)
        last = max(p.watched_at for p in plays)
        rows.append({"plays": len(plays), "last_watched_at": last, "last_updated_at": last, **subject("movie", trakt)})
    return Reply(rows)


@route("GET", "/sync/watched/shows", auth=True)
def watched_shows(request: FakeRequest) -> Reply:
    by_show: dict[int, list[tuple[dict[str, Any], Play]]] = {}
    for play in state(request).history:
        if play.kind == "episode":
            episode = next(e for e in EPISODES if e["ids"]["trakt"] == play.trakt)
            by_show.setdefault(episode["show"], []).append((episode, play))
    rows = []
    for show_id, plays in by_show.items():
        seasons: dict[int, dict[int, list[Play]]] = {}
        for episode, play in plays:
            seasons.setdefault(episode["season"], {}).setdefault(episode["number"], []).append(play)
        last = max(play.watched_at for _, play in plays)
        rows.append(
            {
                "plays": len(plays),
                "last_watched_at": last,
                "last_updated_at": last,
                "reset_at": None,
                **subject("show", show_id),
                "seasons": [
                    {
                        "number": season,
                        "episodes": [
                            {"number": n, "plays": len(p), "last_watched_at": max(x.watched_at for x in p)}
                            for n, p in sorted(episodes.items())
                        ],
                    }
                    for season, episodes in sorted(seasons.items())
                ],
            }
        )
    return Reply(rows)


# -- ratings ------------------------------------------------------------------------------------------------------


def _ratings(request: FakeRequest, wanted: int | None) -> Reply:
    kind = KIND.get(request.params["type"])
    if kind is None:
        return error(404, "unknown type")
    rows = [
        {"rated_at": r.rated_at, "rating": r.rating, "type": k, **subject(k, trakt)}
        for (k, trakt), r in state(request).ratings.items()
        if k == kind and (wanted is None or r.rating == wanted)
    ]
    rows.sort(key=lambda row: str(row["rated_at"]), reverse=True)
    return paginated(request, rows, optional=True)


@route("GET", "/sync/ratings/{type}", auth=True)
def ratings(request: FakeRequest) -> Reply:
    return _ratings(request, None)


@route("GET", "/sync/ratings/{type}/{rating}", auth=True)
def ratings_of_score(request: FakeRequest) -> Reply:
    return _ratings(request, int(request.params["rating"]) if request.params["rating"].isdigit() else -1)


@route("POST", "/sync/ratings", auth=True)
def add_ratings(request: FakeRequest) -> Reply:
    def apply(section: str, sent: dict[str, Any], item: dict[str, Any]) -> str | None:
        score = sent.get("rating")
        if not isinstance(score, int) or not 1 <= score <= 10:
            return None
        key = (KIND[section], item["ids"]["trakt"])
        state(request).ratings[key] = Rating(score, str(sent.get("rated_at") or now(request)))
        return "added"

    return sync_write(request, apply, counted="added")


@route("POST", "/sync/ratings/remove", auth=True)
def remove_ratings(request: FakeRequest) -> Reply:
    def apply(section: str, sent: dict[str, Any], item: dict[str, Any]) -> str | None:
        removed = state(request).ratings.pop((KIND[section], item["ids"]["trakt"]), None)
        return "deleted" if removed else None

    return sync_write(request, apply, counted="deleted")


# -- watchlist ----------------------------------------------------------------------------------------------------

WATCHLIST_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "rank": lambda row: row["rank"],
    "added": lambda row: row["listed_at"],
    "title": lambda row: str(row[row["type"]].get("title", "")).casefold(),
}


@route("GET", "/sync/watchlist", auth=True)
@route("GET", "/sync/watchlist/{type}", auth=True)
@route("GET", "/sync/watchlist/{type}/{sort_by}", auth=True)
@route("GET", "/sync/watchlist/{type}/{sort_by}/{sort_how}", auth=True)
def watchlist(request: FakeRequest) -> Reply:
    """Trakt's path parameters here are all optional: every type, ranked, ascending."""
    request.params = {"type": "all", "sort_by": "rank", "sort_how": "asc", **request.params}
    wanted = request.params["type"]
    if wanted != "all" and wanted not in KIND:
        return error(404, "unknown type")
    rows = [
        {
            "rank": rank,
            "id": e.id,
            "listed_at": e.listed_at,
            "notes": e.notes,
            "type": e.kind,
            **subject(e.kind, e.trakt, request.extended),
        }
        for rank, e in enumerate(state(request).watchlist, start=1)
        if wanted == "all" or e.kind == KIND[wanted]
    ]
    rows.sort(key=WATCHLIST_SORTS.get(request.params["sort_by"], WATCHLIST_SORTS["rank"]))
    if request.params["sort_how"] == "desc":
        rows.reverse()
    reply = paginated(request, rows, optional=True)
    reply.headers.update({"X-Sort-By": request.params["sort_by"], "X-Sort-How": request.params["sort_how"]})
    return reply


def _list_facts(request: FakeRequest) -> dict[str, Any]:
    return {"updated_at": now(request), "item_count": len(state(request).watchlist)}


@route("POST", "/sync/watchlist", auth=True)
def add_watchlist(request: FakeRequest) -> Reply:
    def apply(section: str, sent: dict[str, Any], item: dict[str, Any]) -> str | None:
        kind, trakt = KIND[section], item["ids"]["trakt"]
        if state(request).listed(kind, trakt):
            return "existing"
        entry = Listed(state(request).new_id(), kind, trakt, now(request), sent.get("notes"))
        state(request).watchlist.append(entry)
        return "added"

    reply = sync_write(request, apply, counted="added")
    reply.data.setdefault("existing", counts())
    reply.data["list"] = _list_facts(request)
    return reply


@route("POST", "/sync/watchlist/remove", auth=True)
def remove_watchlist(request: FakeRequest) -> Reply:
    def apply(section: str, sent: dict[str, Any], item: dict[str, Any]) -> str | None:
        entry = state(request).listed(KIND[section], item["ids"]["trakt"])
        if entry is None:
            return None
        state(request).watchlist.remove(entry)
        return "deleted"

    reply = sync_write(request, apply, counted="deleted")
    reply.data["list"] = _list_facts(request)
    return reply


# -- history ------------------------------------------------------------------------------------------------------


def _by_trakt_id(kind: str, value: str | None) -> dict[str, Any] | None:
    """History's `:id` is a Trakt ID only (a slug or IMDB ID names nothing there, as at Trakt)."""
    return next((item for item in POOLS[kind] if value and str(item["ids"]["trakt"]) == value), None)


def _history_rows(request: FakeRequest) -> list[dict[str, Any]]:
    wanted, item_id = request.params.get("type"), request.params.get("id")
    plays = state(request).history
    if wanted in ("movies", "episodes"):
        plays = [p for p in plays if p.kind == KIND[wanted]]
        target = _by_trakt_id(KIND[wanted], item_id)
        if item_id:
            plays = [p for p in plays if target and p.trakt == target["ids"]["trakt"]]
    elif wanted in ("shows", "seasons"):
        target = _by_trakt_id(KIND[wanted], item_id)
        episodes = {e["ids"]["trakt"] for e in EPISODES if target is None or _part_of(e, wanted, target)}
        plays = [p for p in plays if p.kind == "episode" and p.trakt in episodes and (target or not item_id)]
    start, end = request.query.get("start_at"), request.query.get("end_at")
    plays = [p for p in plays if (not start or p.watched_at >= start) and (not end or p.watched_at <= end)]
    plays = sorted(plays, key=lambda p: p.watched_at, reverse=True)
    return [
        {"id": p.id, "watched_at": p.watched_at, "action": p.action, "type": p.kind, **subject(p.kind, p.trakt)}
        for p in plays
    ]


@route("GET", "/sync/history", auth=True)
@route("GET", "/sync/history/{type}", auth=True)
@route("GET", "/sync/history/{type}/{id}", auth=True)
def history(request: FakeRequest) -> Reply:
    if request.params.get("type", "movies") not in KIND:
        return error(404, "unknown type")
    return paginated(request, _history_rows(request))


def _part_of(episode: dict[str, Any], section: str, item: dict[str, Any]) -> bool:
    if section == "shows":
        return bool(episode["show"] == item["ids"]["trakt"])
    return bool(episode["show"] == item["show"] and episode["season"] == item["number"])


def _plays_named(section: str, item: dict[str, Any]) -> list[tuple[str, int]]:
    """What a history write touches: a movie, an episode, or every episode of a show or season."""
    if section in ("shows", "seasons"):
        return [("episode", e["ids"]["trakt"]) for e in EPISODES if _part_of(e, section, item)]
    return [(KIND[section], item["ids"]["trakt"])]


def _history_write(request: FakeRequest, counted: str, change: Callable[[str, int, dict[str, Any]], int]) -> Reply:
    """History answers count plays (movies, episodes), not items sent: a show or season counts each episode."""
    plays: Counter[str] = Counter()

    def apply(section: str, sent: dict[str, Any], item: dict[str, Any]) -> str | None:
        for kind, trakt in _plays_named(section, item):
            plays[f"{kind}s"] += change(kind, trakt, sent)
        return None

    reply = sync_write(request, apply, counted=counted)
    reply.data[counted] = {"movies": plays["movies"], "episodes": plays["episodes"]}
    return reply


@route("POST", "/sync/history", auth=True)
def add_history(request: FakeRequest) -> Reply:
    def add(kind: str, trakt: int, sent: dict[str, Any]) -> int:
        watched_at = sent.get("watched_at")
        when = watched_at if isinstance(watched_at, str) and "T" in watched_at else now(request)
        state(request).history.append(Play(state(request).new_id(), kind, trakt, when))
        return 1

    return _history_write(request, "added", add)


@route("POST", "/sync/history/remove", auth=True)
def remove_history(request: FakeRequest) -> Reply:
    def remove(kind: str, trakt: int, sent: dict[str, Any]) -> int:
        plays = state(request).plays_of(kind, trakt)
        for play in plays:
            state(request).history.remove(play)
        return len(plays)

    return _history_write(request, "deleted", remove)
