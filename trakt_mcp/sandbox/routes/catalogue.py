"""Public catalogue endpoints: shows, movies, seasons, episodes, people, search, comments.

`:id` resolves by Trakt ID, slug or IMDB ID; anything unknown is a 404, as at Trakt. The same aspects (ratings,
videos, comments, ...) exist on several levels (show, movie, season, episode, person), so each aspect is written
once and registered on every level that has it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trakt_mcp.sandbox.community import (
    COMMENTS,
    CREDITS,
    LISTS,
    PEOPLE,
    comment_json,
    ratings_of,
    stats_of,
    translations_of,
    videos_of,
    watching_of,
)
from trakt_mcp.sandbox.data import BOX_OFFICE, MOVIES, SEASONS, SHOWS, find, minimal, public
from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.wire import FakeRequest, Reply, error, paginated

POOLS = {"shows": SHOWS, "movies": MOVIES}
PERIODS = ("daily", "weekly", "monthly", "yearly", "all")
#: A period's share of the all-time counts.
PERIOD_SCALE = {"daily": 1, "weekly": 7, "monthly": 30, "yearly": 365, "all": 1000}
COMMENT_ORDER: dict[str, tuple[Callable[[dict[str, Any]], Any], bool]] = {
    "newest": (lambda c: c["created_at"], True),
    "oldest": (lambda c: c["created_at"], False),
    "likes": (lambda c: c["likes"], True),
    "replies": (lambda c: c["replies"], True),
}
Count = Callable[[dict[str, Any]], int]
#: /played and /watched: (how the chart ranks, the all-time watcher count it scales per period).
USAGE: dict[str, tuple[Count, Count]] = {
    "played": (lambda i: i["votes"] * i["runtime"], lambda i: i["votes"] // 900),
    "watched": (lambda i: i["watchers"] * 1000 + i["votes"], lambda i: i["watchers"]),
}
LIST_ORDER: dict[str, Callable[[dict[str, Any]], Any]] = {
    "popular": lambda item: item["likes"] + item["comment_count"] * 5,
    "likes": lambda item: item["likes"],
    "comments": lambda item: item["comment_count"],
    "items": lambda item: item["item_count"],
    "added": lambda item: item["created_at"],
    "updated": lambda item: item["updated_at"],
}


class Missing(Exception):
    """Raised inside a handler: answer 404 like Trakt does."""


def get(template: str) -> Callable[[Callable[[FakeRequest], Reply]], Callable[[FakeRequest], Reply]]:
    """Register a public GET route whose handler may raise Missing."""

    def register(handler: Callable[[FakeRequest], Reply]) -> Callable[[FakeRequest], Reply]:
        @functools.wraps(handler)
        def answer(request: FakeRequest) -> Reply:
            try:
                return handler(request)
            except Missing as exc:
                return error(404, str(exc) or "not found")

        return route("GET", template)(answer)

    return register


def lookup(pool: list[dict[str, Any]], key: str) -> dict[str, Any]:
    item = find(pool, key)
    if item is None:
        raise Missing(f"no such id: {key}")
    return item


def ranked(request: FakeRequest, kind: str, score: Callable[[dict[str, Any]], float], **counts: Any) -> Reply:
    """A chart: the pool by `score`, each row {counts..., "show": item} (or the bare item without counts)."""
    key = kind[:-1]
    rows = []
    for item in sorted(POOLS[kind], key=score, reverse=True):
        shown = public(item, request.extended)
        rows.append({**{name: f(item) for name, f in counts.items()}, key: shown} if counts else shown)
    return paginated(request, rows)


def period_of(request: FakeRequest) -> int:
    """The chart's period: the path's `:period`, which Trakt treats as optional (weekly when left out)."""
    period = request.params.get("period", "weekly")
    if period not in PERIODS:
        raise Missing(f"unknown period {period!r}")
    return PERIOD_SCALE[period]


def register_charts(kind: str) -> None:
    @get(f"/{kind}/trending")
    def trending(request: FakeRequest) -> Reply:
        return ranked(request, kind, lambda i: i["watchers"], watchers=lambda i: i["watchers"])

    @get(f"/{kind}/popular")
    def popular(request: FakeRequest) -> Reply:
        return ranked(request, kind, lambda i: i["rating"] * i["votes"])

    @get(f"/{kind}/anticipated")
    def anticipated(request: FakeRequest) -> Reply:
        return ranked(request, kind, lambda i: i["year"], list_count=lambda i: i["year"] * 3 + i["ids"]["trakt"] % 50)

    @get(f"/{kind}/favorited")
    @get(f"/{kind}/favorited/{{period}}")
    def favorited(request: FakeRequest) -> Reply:
        scale = period_of(request)
        return ranked(request, kind, lambda i: i["votes"], user_count=lambda i: i["votes"] * scale // 1000)

    for chart, (score, base) in USAGE.items():
        register_usage(kind, chart, score, base)


def register_usage(kind: str, chart: str, score: Callable[[dict[str, Any]], int], base: Count) -> None:
    """/played/:period and /watched/:period: watcher, play and collector counts for the period."""

    @get(f"/{kind}/{chart}")
    @get(f"/{kind}/{chart}/{{period}}")
    def usage(request: FakeRequest) -> Reply:
        scale = period_of(request)
        return ranked(
            request,
            kind,
            score,
            watcher_count=lambda i: base(i) * scale,
            play_count=lambda i: base(i) * scale * 3,
            collected_count=lambda i: base(i) * scale // 2,
            collector_count=lambda i: base(i) * scale // 3,
        )


register_charts("shows")
register_charts("movies")


@get("/movies/boxoffice")
def boxoffice(request: FakeRequest) -> Reply:
    ranked_ids = sorted(BOX_OFFICE, key=lambda trakt: -BOX_OFFICE[trakt])
    return Reply(
        [{"revenue": BOX_OFFICE[t], "movie": public(lookup(MOVIES, str(t)), request.extended)} for t in ranked_ids]
    )


@get("/search/{kind}")
def search(request: FakeRequest) -> Reply:
    kind = request.params["kind"]
    pool = {"show": SHOWS, "movie": MOVIES}.get(kind)
    if pool is None:
        raise Missing("unknown search type")
    query = request.query.get("query", "").lower()
    hits = [item for item in pool if query and query in item["title"].lower()]
    items = [{"type": kind, "score": 1000.0 - i, kind: public(hit, request.extended)} for i, hit in enumerate(hits)]
    return paginated(request, items)


# -- one show, movie, season, episode or person, and its aspects ------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a request's path points at."""

    item: dict[str, Any]
    name: str
    #: What comments on it carry as `_target`.
    key: tuple[Any, ...]
    #: ("shows" | "movies", trakt ID) whose credits and related titles apply.
    title: tuple[str, int]


def _media(kind: str) -> Callable[[FakeRequest], Target]:
    def resolve(request: FakeRequest) -> Target:
        item = lookup(POOLS[kind], request.params["id"])
        return Target(item, item["title"], (kind, item["ids"]["trakt"]), (kind, item["ids"]["trakt"]))

    return resolve


def _season(request: FakeRequest) -> Target:
    show = lookup(SHOWS, request.params["id"])
    trakt = show["ids"]["trakt"]
    number = request.params["season"]
    for season in SEASONS.get(trakt, []):
        if str(season["number"]) == number:
            item = {k: v for k, v in season.items() if k != "episodes"}
            return Target(
                item, f"{show['title']} {item['title']}", ("seasons", trakt, season["number"]), ("shows", trakt)
            )
    raise Missing(f"no season {number}")


def _episode(request: FakeRequest) -> Target:
    season = _season(request)
    trakt, number = season.key[1], season.key[2]
    for episode in next(s for s in SEASONS[trakt] if s["number"] == number)["episodes"]:
        if str(episode["number"]) == request.params["episode"]:
            key = ("episodes", trakt, number, episode["number"])
            return Target(episode, episode["title"], key, ("shows", trakt))
    raise Missing(f"no episode {request.params['episode']}")


def _person(request: FakeRequest) -> Target:
    person = lookup(PEOPLE, request.params["id"])
    return Target(person, person["name"], ("people", person["ids"]["trakt"]), ("people", person["ids"]["trakt"]))


LEVELS: dict[str, tuple[str, Callable[[FakeRequest], Target]]] = {
    "show": ("/shows/{id}", _media("shows")),
    "movie": ("/movies/{id}", _media("movies")),
    "season": ("/shows/{id}/seasons/{season}", _season),
    "episode": ("/shows/{id}/seasons/{season}/episodes/{episode}", _episode),
    "person": ("/people/{id}", _person),
}


def credits_of(kind: str, trakt: int, guest_stars: bool, *, whole_show: bool = True) -> dict[str, Any]:
    """A title's cast and crew as Trakt answers /people: people in their min shape. A show's credits count each
    person's episodes; a season's or an episode's (`whole_show` false) do not, as at Trakt."""
    answer: dict[str, Any] = {"cast": [], "crew": {}}
    if guest_stars:
        answer["guest_stars"] = []
    for slug, credit_kind, title_id, department, roles, episodes in CREDITS:
        if (credit_kind, title_id) != (kind, trakt) or (department == "guest" and not guest_stars):
            continue
        row: dict[str, Any] = {"characters" if department in ("cast", "guest") else "jobs": roles}
        if kind == "shows" and whole_show:
            row["episode_count"] = episodes
        row["person"] = minimal(lookup(PEOPLE, slug))
        if department == "cast":
            answer["cast"].append(row)
        elif department == "guest":
            answer["guest_stars"].append(row)
        else:
            answer["crew"].setdefault(department, []).append(row)
    return answer


def filmography(person: dict[str, Any], kind: str, extended: set[str]) -> dict[str, Any]:
    """A person's credits on shows or movies: {"cast": [{characters, show}], "crew": {dept: [{jobs, show}]}}."""
    answer: dict[str, Any] = {"cast": [], "crew": {}}
    for slug, credit_kind, title_id, department, roles, episodes in CREDITS:
        if slug != person["ids"]["slug"] or credit_kind != kind:
            continue
        title = public(lookup(POOLS[kind], str(title_id)), extended)
        if department in ("cast", "guest"):
            row = {"characters": roles, "episode_count": episodes} if kind == "shows" else {"characters": roles}
            answer["cast"].append({**row, kind[:-1]: title})
        else:
            answer["crew"].setdefault(department, []).append({"jobs": roles, kind[:-1]: title})
    return answer


Aspect = Callable[[FakeRequest, Target], Reply]


def summary(request: FakeRequest, target: Target) -> Reply:
    return Reply(public(target.item, request.extended))


def ratings(request: FakeRequest, target: Target) -> Reply:
    return Reply(ratings_of(target.item))


def stats(request: FakeRequest, target: Target) -> Reply:
    return Reply(stats_of(target.item))


def videos(request: FakeRequest, target: Target) -> Reply:
    return Reply(videos_of(target.item, target.name))


def watching(request: FakeRequest, target: Target) -> Reply:
    return Reply(watching_of(target.item))


def translations(request: FakeRequest, target: Target) -> Reply:
    """Every translation, or one language's; `all` in the language's place means every one, as without it."""
    language = request.params.get("language")
    rows = translations_of(target.item, target.name)
    return Reply([row for row in rows if language in (None, "all", row["language"])])


def people(request: FakeRequest, target: Target) -> Reply:
    kind, trakt = target.title
    whole_show = "/seasons/" not in request.path
    return Reply(credits_of(kind, trakt, "guest_stars" in request.extended, whole_show=whole_show))


def related(request: FakeRequest, target: Target) -> Reply:
    kind, trakt = target.title
    genres = set(target.item.get("genres", []))
    similar = [i for i in POOLS[kind] if i["ids"]["trakt"] != trakt and genres & set(i.get("genres", []))]
    return paginated(request, [public(i, request.extended) for i in similar])


def comments(request: FakeRequest, target: Target) -> Reply:
    order = COMMENT_ORDER.get(request.params["sort"])
    if order is None:
        raise Missing(f"unknown sort {request.params['sort']!r}")
    key, newest_first = order
    found = sorted((c for c in COMMENTS if c["_target"] == target.key), key=key, reverse=newest_first)
    return paginated(request, [comment_json(c) for c in found])


def lists(request: FakeRequest, target: Target) -> Reply:
    kind, order = request.params["type"], LIST_ORDER.get(request.params["sort"])
    if order is None or kind not in ("all", "personal", "official", "watchlists"):
        raise Missing("unknown list type or sort")
    found = [item for item in LISTS if kind in ("all", item["type"])]
    return paginated(request, sorted(found, key=order, reverse=True))


def person_shows(request: FakeRequest, target: Target) -> Reply:
    return Reply(filmography(target.item, "shows", request.extended))


def person_movies(request: FakeRequest, target: Target) -> Reply:
    return Reply(filmography(target.item, "movies", request.extended))


def seasons(request: FakeRequest, target: Target) -> Reply:
    found = SEASONS.get(target.item["ids"]["trakt"], [])
    return Reply([public({k: v for k, v in s.items() if k != "episodes"}, request.extended) for s in found])


def episodes(request: FakeRequest, target: Target) -> Reply:
    season = next(s for s in SEASONS[target.key[1]] if s["number"] == target.key[2])
    return Reply([public(e, request.extended) for e in season["episodes"]])


#: (path after the level, handler, levels that have it)
ASPECTS: list[tuple[str, Aspect, tuple[str, ...]]] = [
    ("/ratings", ratings, ("show", "movie", "season", "episode")),
    ("/stats", stats, ("show", "movie", "season", "episode")),
    ("/videos", videos, ("show", "movie", "season", "episode")),
    ("/watching", watching, ("show", "movie", "season", "episode")),
    ("/translations", translations, ("show", "movie", "season", "episode")),
    ("/translations/{language}", translations, ("show", "movie", "season", "episode")),
    ("/people", people, ("show", "movie", "season", "episode")),
    ("/related", related, ("show", "movie")),
    ("/comments/{sort}", comments, ("show", "movie", "season", "episode")),
    ("/lists/{type}/{sort}", lists, ("show", "movie", "season", "episode", "person")),
    ("/seasons", seasons, ("show",)),
    ("/shows", person_shows, ("person",)),
    ("/movies", person_movies, ("person",)),
    # Bare levels last: "/shows/{id}" must not shadow the charts registered above.
    ("", summary, ("show", "movie", "episode", "person")),
    ("", episodes, ("season",)),
]


def register_aspect(template: str, resolve: Callable[[FakeRequest], Target], handler: Aspect) -> None:
    @get(template)
    def answer(request: FakeRequest) -> Reply:
        return handler(request, resolve(request))


for _suffix, _handler, _levels in ASPECTS:
    for _level in _levels:
        _base, _resolve = LEVELS[_level]
        register_aspect(_base + _suffix, _resolve, _handler)


@route("GET", "/shows/{id}/seasons/{season}/info")
def season_info(request: FakeRequest) -> Reply:
    """A season the show does not have is an empty 204 here, not a 404 (as at Trakt)."""
    try:
        return summary(request, _season(request))
    except Missing:
        return Reply(status=204)


# -- comments by ID ---------------------------------------------------------------------------------------------


def comment_by_id(request: FakeRequest) -> dict[str, Any]:
    for item in COMMENTS:
        if str(item["id"]) == request.params["id"]:
            return item
    raise Missing(f"no comment {request.params['id']}")


@get("/comments/{id}")
def comment(request: FakeRequest) -> Reply:
    return Reply(comment_json(comment_by_id(request)))


@get("/comments/{id}/replies")
def replies(request: FakeRequest) -> Reply:
    parent = comment_by_id(request)["id"]
    return paginated(request, [comment_json(c) for c in COMMENTS if c["parent_id"] == parent])
