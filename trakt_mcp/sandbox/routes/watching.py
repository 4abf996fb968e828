"""The sandbox's calendars (a weekly schedule around today), the user's stats, scrobbling, and movie check-ins.

The schedule is computed from the date alone, so every process agrees: each returning show airs a season a year,
one episode a week; each movie is released on its own day of a 60-day cycle. "My" calendars keep what the user
watched or put on the watchlist."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from trakt_mcp.sandbox.account import EPISODES, iso, lookup, state
from trakt_mcp.sandbox.data import MOVIES, SHOWS, minimal
from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.state import Checkin, Paused, Play
from trakt_mcp.sandbox.wire import FakeRequest, Reply, error

MAX_DAYS = 33
#: Trakt marks an item watched when a scrobble stops at this progress or more.
WATCHED_AT = 80.0
MOVIE_CYCLE = 60
SEASON_WEEKS = 26
EPOCH = date(2024, 1, 1)


def _window(request: FakeRequest) -> tuple[date, int] | Reply:
    try:
        start = date.fromisoformat(request.params["start_date"])
        days = int(request.params["days"])
    except ValueError:
        return error(400, "start_date must be YYYY-MM-DD and days a number")
    return (start, days) if 1 <= days <= MAX_DAYS else error(400, f"days must be 1..{MAX_DAYS}")


def _mine(request: FakeRequest, kind: str) -> set[int]:
    account = state(request)
    episode_shows = {e["ids"]["trakt"]: e["show"] for e in EPISODES}
    ids = {entry.trakt for entry in account.watchlist if entry.kind == kind}
    ids |= {play.trakt for play in account.history if play.kind == kind}
    if kind == "show":
        ids |= {episode_shows[p.trakt] for p in account.history if p.kind == "episode" and p.trakt in episode_shows}
    return ids


def _episode(show: dict[str, Any], day: date, number: int) -> dict[str, Any]:
    """The episode airing that day: a season a year since the show began (IDs as data.py numbers episodes: show
    ID x 1000 + season x 100 + number)."""
    season = 1 + max(day.year - int(show["year"]), 0)
    trakt = int(show["ids"]["trakt"]) * 1000 + season * 100 + number
    known = next((e for e in EPISODES if e["ids"]["trakt"] == trakt), None)
    if known is not None:
        return {key: known[key] for key in ("season", "number", "title", "ids")}
    return {"season": season, "number": number, "title": f"Episode {number}", "ids": {"trakt": trakt}}


def _airings(start: date, days: int, shows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each returning show airs a 26-episode season once a year, weekly on its own weekday; the shows' seasons
    start on staggered weeks, so every week has a few."""
    rows = []
    airing = [show for show in SHOWS if show.get("status") != "ended"]
    slots = {show["ids"]["trakt"]: index for index, show in enumerate(airing)}
    for offset in range(days):
        day = start + timedelta(days=offset)
        week = (day - EPOCH).days // 7
        for show in shows:
            slot = slots.get(show["ids"]["trakt"])
            if slot is None or slot % 7 != day.weekday() or (week - slot * 5) % 52 >= SEASON_WEEKS:
                continue
            episode = _episode(show, day, 1 + (week - slot * 5) % 52)
            rows.append({"first_aired": f"{day.isoformat()}T01:00:00.000Z", "episode": episode, "show": minimal(show)})
    return rows


def _shows_calendar(request: FakeRequest, mine: bool, which: str) -> Reply:
    window = _window(request)
    if isinstance(window, Reply):
        return window
    wanted = _mine(request, "show") if mine else None
    shows = [show for show in SHOWS if wanted is None or show["ids"]["trakt"] in wanted]
    rows = _airings(*window, shows)
    if which == "premieres":
        rows = [row for row in rows if row["episode"]["number"] == 1]
    elif which == "new":
        rows = [row for row in rows if (row["episode"]["season"], row["episode"]["number"]) == (1, 1)]
    return Reply(rows)


def _movies_calendar(request: FakeRequest, mine: bool) -> Reply:
    window = _window(request)
    if isinstance(window, Reply):
        return window
    start, days = window
    wanted = _mine(request, "movie") if mine else None
    rows = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        for movie in MOVIES:
            if (wanted is None or movie["ids"]["trakt"] in wanted) and (
                movie["ids"]["trakt"] % MOVIE_CYCLE == (day - EPOCH).days % MOVIE_CYCLE
            ):
                rows.append({"released": day.isoformat(), "movie": minimal(movie)})
    return Reply(rows)


def _register_calendars() -> None:
    for scope in ("my", "all"):
        mine = scope == "my"
        for which, suffix in (("shows", ""), ("new", "/new"), ("premieres", "/premieres")):

            def shows(request: FakeRequest, mine: bool = mine, which: str = which) -> Reply:
                return _shows_calendar(request, mine, which)

            route("GET", f"/calendars/{scope}/shows{suffix}/{{start_date}}/{{days}}", auth=mine)(shows)

        def movies(request: FakeRequest, mine: bool = mine) -> Reply:
            return _movies_calendar(request, mine)

        route("GET", f"/calendars/{scope}/movies/{{start_date}}/{{days}}", auth=mine)(movies)


_register_calendars()


@route("GET", "/users/{user}/stats", auth=True)
def stats(request: FakeRequest) -> Reply:
    account = state(request)
    if request.params["user"] not in ("me", account.username):
        return error(404, "user not found")
    runtimes = {m["ids"]["trakt"]: m.get("runtime", 0) for m in MOVIES}
    episode_runtime = {e["ids"]["trakt"]: e.get("runtime", 0) for e in EPISODES}
    movie_plays = [p for p in account.history if p.kind == "movie"]
    episode_plays = [p for p in account.history if p.kind == "episode"]
    rated = {kind: sum(1 for (k, _) in account.ratings if k == kind) for kind in ("movie", "show", "episode")}
    shows = {e["show"] for e in EPISODES if e["ids"]["trakt"] in {p.trakt for p in episode_plays}}
    return Reply(
        {
            "movies": {
                "plays": len(movie_plays),
                "watched": len({p.trakt for p in movie_plays}),
                "minutes": sum(runtimes.get(p.trakt, 0) for p in movie_plays),
                "collected": 0,
                "ratings": rated["movie"],
                "comments": 0,
            },
            "shows": {"watched": len(shows), "collected": 0, "ratings": rated["show"], "comments": 0},
            "episodes": {
                "plays": len(episode_plays),
                "watched": len({p.trakt for p in episode_plays}),
                "minutes": sum(episode_runtime.get(p.trakt, 0) for p in episode_plays),
                "collected": 0,
                "ratings": rated["episode"],
                "comments": 0,
            },
            "network": {"friends": 0, "followers": 0, "following": 0},
            "ratings": {"total": len(account.ratings)},
        }
    )


def _watched(body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None] | None:
    """('movie', movie, None) or ('episode', episode, show) for a scrobble or check-in body; None when unknown."""
    movie = lookup("movie", (body.get("movie") or {}).get("ids"))
    if movie is not None:
        return "movie", movie, None
    sent = body.get("episode") or {}
    episode = lookup("episode", sent.get("ids"))
    if episode is None:
        show = lookup("show", (body.get("show") or {}).get("ids"))
        number = (sent.get("season"), sent.get("number"))
        episode = next(
            (
                e
                for e in EPISODES
                if show and e["show"] == show["ids"]["trakt"] and (e["season"], e["number"]) == number
            ),
            None,
        )
    if episode is None:
        return None
    return "episode", episode, next(s for s in SHOWS if s["ids"]["trakt"] == episode["show"])


@route("POST", "/scrobble/{action}", auth=True)
def scrobble(request: FakeRequest) -> Reply:
    action = request.params["action"]
    body = request.body if isinstance(request.body, dict) else {}
    found = _watched(body)
    progress = body.get("progress")
    if action not in ("start", "pause", "stop"):
        return error(404, "unknown action")
    if found is None or not isinstance(progress, int | float):
        return error(404 if found is None else 400, "item not found" if found is None else "progress is required")
    kind, item, show = found
    account, moment = state(request), request.fake.clock()
    trakt = item["ids"]["trakt"]
    account.playback = [p for p in account.playback if (p.kind, p.trakt) != (kind, trakt)]
    done = "start"
    if action == "stop" and progress >= WATCHED_AT:
        account.history.append(Play(account.new_id(), kind, trakt, iso(moment), "scrobble"))
        done = "scrobble"
    elif action in ("pause", "stop"):
        account.playback.append(Paused(account.new_id(), kind, trakt, float(progress), iso(moment)))
        done = "pause"
    answer: dict[str, Any] = {"id": account.new_id(), "action": done, "progress": progress}
    answer["sharing"] = {"twitter": False, "mastodon": False, "tumblr": False}
    answer[kind] = {key: item[key] for key in ("title", "year", "season", "number", "ids") if key in item}
    if show is not None:
        answer["show"] = minimal(show)
    return Reply(answer, status=201)


def movie_checkin(request: FakeRequest, body: dict[str, Any]) -> Reply:
    """POST /checkin for a movie (the episode check-in is answered by routes/user.py)."""
    movie = lookup("movie", (body.get("movie") or {}).get("ids"))
    if movie is None:
        return error(404, "movie not found")
    account, moment = state(request), request.fake.clock()
    active = account.new_id()
    account.checkin = Checkin(active, movie["ids"]["trakt"], moment, moment + movie.get("runtime", 120) * 60, "movie")
    account.history.append(Play(active, "movie", movie["ids"]["trakt"], iso(moment), "checkin"))
    sharing = body.get("sharing") or {}
    return Reply(
        {
            "id": active,
            "watched_at": iso(moment),
            "sharing": {key: bool(sharing.get(key)) for key in ("twitter", "mastodon", "tumblr")},
            "movie": minimal(movie),
        },
        status=201,
    )
