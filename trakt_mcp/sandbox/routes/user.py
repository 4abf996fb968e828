"""The signed-in user's endpoints: watched, ratings, watchlist, history, progress, playback, recommendations and
check-in, answering in Trakt's shapes (201 + counts + `not_found` for sync writes, 409 for a running check-in)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trakt_mcp.sandbox.data import MOVIES, SEASONS, SHOWS, find, minimal, public
from trakt_mcp.sandbox.fake import FakeRequest, Reply, error, paginated
from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.state import Checkin, Listed, Play, Rating, SandboxState

#: Body section (plural) <-> stored kind (singular).
KIND = {"movies": "movie", "shows": "show", "seasons": "season", "episodes": "episode"}
SECTIONS = tuple(KIND)
#: Seasons and episodes of the catalogue, flat, each with `show` (the show's Trakt ID) added.
SEASON_ROWS = [
    {**{k: v for k, v in season.items() if k != "episodes"}, "show": show_id}
    for show_id, seasons in SEASONS.items()
    for season in seasons
]
EPISODES = [
    {**episode, "show": show_id}
    for show_id, seasons in SEASONS.items()
    for season in seasons
    for episode in season["episodes"]
]
POOLS: dict[str, list[dict[str, Any]]] = {"movie": MOVIES, "show": SHOWS, "season": SEASON_ROWS, "episode": EPISODES}
ID_KEYS = ("trakt", "slug", "imdb", "tmdb", "tvdb")


# -- the catalogue, by any ID -------------------------------------------------------------------------------------


def lookup(kind: str, ids: Any) -> dict[str, Any] | None:
    """The catalogue item of `kind` whose IDs match every ID given (None when unknown or no ID given)."""
    if not isinstance(ids, dict):
        return None
    given = {key: str(ids[key]) for key in ID_KEYS if ids.get(key) is not None}
    if not given:
        return None
    for item in POOLS.get(kind, []):
        known = item["ids"]
        if all(str(known.get(key)) == value for key, value in given.items()):
            return item
    return None


def by_path_id(kind: str | None, value: str | None) -> dict[str, Any] | None:
    """A path `:id` (Trakt ID, slug or IMDB ID)."""
    return find(POOLS[kind], value) if kind and value else None


def show_of(episode: dict[str, Any]) -> dict[str, Any]:
    return next(show for show in SHOWS if show["ids"]["trakt"] == episode["show"])


def episode_json(episode: dict[str, Any]) -> dict[str, Any]:
    return {key: episode[key] for key in ("season", "number", "title", "ids")}


def episodes_of(show: int, season: int | None = None) -> list[dict[str, Any]]:
    return [e for e in EPISODES if e["show"] == show and season in (None, e["season"])]


def subject(kind: str, trakt: int, extended: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """{"movie": {...}} or {"episode": {...}, "show": {...}}: how Trakt names the item a row is about."""
    item = next(entry for entry in POOLS[kind] if entry["ids"]["trakt"] == trakt)
    if kind == "episode":
        return {"episode": episode_json(item), "show": public(show_of(item), extended - {"full"})}
    if kind == "season":
        return {
            "season": {"number": item["number"], "ids": item["ids"]},
            "show": public(show_of(item), extended - {"full"}),
        }
    return {kind: public(item, extended - {"full"})}


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def now(request: FakeRequest) -> str:
    return iso(request.fake.clock())


def state(request: FakeRequest) -> SandboxState:
    return request.fake.state_for(request.token)


def _counts() -> dict[str, int]:
    return dict.fromkeys(SECTIONS, 0)


def _not_found() -> dict[str, list[Any]]:
    return {section: [] for section in SECTIONS}


def _items(request: FakeRequest) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Every (section, item as sent, catalogue match or None) in a sync body."""
    body = request.body if isinstance(request.body, dict) else {}
    found = []
    for section in SECTIONS:
        for sent in body.get(section) or []:
            found.append((section, sent, lookup(KIND[section], sent.get("ids") if isinstance(sent, dict) else None)))
    return found


def sync_write(
    request: FakeRequest, apply: Callable[[str, dict[str, Any], dict[str, Any]], str | None], *, counted: str
) -> Reply:
    """Run `apply(section, sent, item)` for each recognised item; it names the counter to bump ("added",
    "existing", ...) or None. Unrecognised items go to `not_found` exactly as sent."""
    answer: dict[str, Any] = {counted: _counts(), "not_found": _not_found()}
    for section, sent, item in _items(request):
        if item is None:
            answer["not_found"][section].append(sent)
            continue
        outcome = apply(section, sent, item)
        if outcome:
            answer.setdefault(outcome, _counts())[section] += 1
    return Reply(answer, status=201)


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
    reply.data.setdefault("existing", _counts())
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
