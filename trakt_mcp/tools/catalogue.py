"""The public catalogue: shows, movies, seasons, episodes, people, search and comments.

Tools here differ only in data: name, endpoint, arguments and how the answer reads. So each is a row of a table
(`Row`), most of them generated from two grids (charts x media; aspects x levels), and one builder turns every row
into a ToolSpec. Fetching, pagination and formatting are written once, in the two views `Rows` and `One`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, create_model

from trakt_mcp.tools import format as fmt
from trakt_mcp.tools.params import (
    CommentSort,
    Episode,
    Language,
    Limit,
    ListSort,
    ListType,
    MaxPages,
    PageNumber,
    Period,
    Season,
    TraktId,
)
from trakt_mcp.tools.spec import Group, ToolArgs, ToolSpec
from trakt_mcp.trakt.client import MAX_AUTO_ITEMS, MAX_LIST_ITEMS, MAX_PAGE_SIZE, Page, endpoint
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

Values = dict[str, Any]
Query = Callable[[Values], Values]

#: Every argument a catalogue tool can take: token -> (published name, type, default; ... = required).
#: Tokens differ from names only where one name has two meanings (`sort` of comments vs of lists).
FIELDS: dict[str, tuple[str, Any, Any]] = {
    "show_id": ("show_id", TraktId, ...),
    "movie_id": ("movie_id", TraktId, ...),
    "person_id": ("person_id", TraktId, ...),
    "comment_id": ("comment_id", TraktId, ...),
    "season": ("season", Season, ...),
    "episode": ("episode", Episode, ...),
    "query": ("query", Annotated[str, Field(min_length=1, max_length=200)], ...),
    "search_limit": ("limit", Annotated[int, Field(ge=0, le=100)], 10),
    "limit": ("limit", Limit, 10),
    "period": ("period", Period, "weekly"),
    "show_spoilers": ("show_spoilers", bool, False),
    "comment_sort": ("sort", CommentSort, "newest"),
    "page": ("page", PageNumber, None),
    "max_pages": ("max_pages", MaxPages, 100),
    "extended": ("extended", bool, True),
    "embed_markdown": ("embed_markdown", bool, True),
    "include_guest_stars": ("include_guest_stars", bool, False),
    "language": ("language", Language, "all"),
    "list_type": ("list_type", ListType, "all"),
    "list_sort": ("sort", ListSort, "popular"),
}


@cache
def args_model(tokens: str) -> type[ToolArgs]:
    """One argument model per distinct signature ("show_id season embed_markdown"), fields in that order."""
    fields: dict[str, Any] = {name: (kind, default) for name, kind, default in (FIELDS[t] for t in tokens.split())}
    model_name = "".join(t.title().replace("_", "") for t in tokens.split()) + "Args"
    return create_model(model_name, __base__=ToolArgs, **fields)


def full(_: Values) -> Values:
    return {"extended": "full"}


def search(a: Values) -> Values:
    """Title, year and IDs are enough to pick a result; details are one summary call away."""
    return {"query": a["query"]}


def when(flag: str, extended: str) -> Query:
    """`extended=<extended>` when the boolean argument `flag` is true."""
    return lambda a: {"extended": extended} if a[flag] else {}


def build_path(template: str, a: Values) -> str:
    """'shows/{show_id}/translations/{language?}' -> '/shows/breaking-bad/translations' ('?': dropped if 'all')."""
    segments: list[str | int] = []
    for part in template.split("/"):
        if not part.startswith("{"):
            segments.append(part)
            continue
        value = a[part.strip("{?}")]
        if not (part.endswith("?}") and value == "all"):
            segments.append(value)
    return endpoint(*segments)


def heading(title: str, a: Values) -> str:
    """'Episode videos: breaking-bad S01E02' — the title and the arguments that say what was asked."""
    target = a.get("show_id") or a.get("movie_id") or a.get("person_id")
    if "comment_id" in a:
        target = f"#{a['comment_id']}"
    if "episode" in a:
        target = f"{target} S{a['season']:02d}E{a['episode']:02d}"
    elif "season" in a:
        target = f"{target} season {a['season']}"
    if "query" in a:
        target = f"“{a['query']}”"
    detail = [a[k] for k in ("period", "language", "list_type") if k in a] + (
        ["by " + a["sort"]] if "sort" in a else []
    )
    suffix = f" ({', '.join(str(d) for d in detail)})" if detail else ""
    return f"{title}: {target}{suffix}" if target else f"{title}{suffix}"


@dataclass(frozen=True)
class Rows:
    """A list answer, one bullet per row. `paged`: the tool takes limit/page (and max_pages) and paginates.
    `full`: the lines print facts only Trakt's extended=full carries, so the tool asks for it."""

    line: Callable[[Any, Values], str]
    paged: bool = False
    empty: str = "Nothing found."
    full: bool = False
    #: What the number ending each line counts, said once in the heading ("## Trending shows — watching now").
    unit: str = ""

    async def read(self, app: App, title: str, path: str, params: Values, a: Values) -> str:
        note = ""
        if self.paged:
            page, note = await fetch_pages(app, path, params, a)
        else:
            response = await app.client.get(path, params=params)
            page = Page(items=response.data or [], pagination=response.pagination)
        named = heading(title, a) + (f" — {self.unit}" if self.unit and page.items else "")
        return fmt.bullet_list(named, page.items, lambda row: self.line(row, a), page, self.empty) + note


def listed(line: fmt.Line, paged: bool = True) -> Rows:
    """Rows of titles, each line as `line` declares; extended=full exactly when the line shows facts."""
    return Rows(lambda row, _: line(row), paged=paged, full=line.full, unit=line.unit)


@dataclass(frozen=True)
class Translations:
    """The translations table: overviews only for one language asked for (see fmt.translations)."""

    async def read(self, app: App, title: str, path: str, params: Values, a: Values) -> str:
        rows = (await app.client.get(path, params=params)).data or []
        return f"## {heading(title, a)}\n" + (fmt.translations(rows, a["language"]) if rows else "No translations.")


@dataclass(frozen=True)
class One:
    """An answer about one thing, rendered whole."""

    render: Callable[[Any, Values], str]

    async def read(self, app: App, title: str, path: str, params: Values, a: Values) -> str:
        response = await app.client.get(path, params=params)
        if not response.data:
            # Trakt answers some lookups of what does not exist (a season a show lacks) with an empty 204.
            raise TraktError(f"Not found on Trakt: {heading(title, a)}; check the ID, season or episode number.")
        return f"## {heading(title, a)}\n{self.render(response.data, a)}"


async def fetch_pages(app: App, path: str, params: Values, a: Values) -> tuple[Page, str]:
    """`page` given: that page. Omitted: up to `limit` items (0 = all, capped), and at most `max_pages` pages.
    Returns the page and a note when `max_pages` (not the safety cap) cut the walk short."""
    limit, cap, ceiling = a["limit"], MAX_AUTO_ITEMS, MAX_LIST_ITEMS
    page_cap = a["max_pages"] * min(limit or MAX_PAGE_SIZE, MAX_PAGE_SIZE) if "max_pages" in a else None
    if page_cap is not None and a["page"] is None:
        cap, ceiling = min(cap, page_cap), min(ceiling, page_cap)
    page = await app.client.paginate(path, params=params, page=a["page"], limit=limit, cap=cap, ceiling=ceiling)
    facts = page.pagination
    stopped_by_pages = page_cap == (cap if limit == 0 else ceiling)
    if not stopped_by_pages or facts is None or len(page.items) >= min(limit or facts.item_count, facts.item_count):
        return page, ""
    note = f"\n_Stopped after max_pages={a['max_pages']}: raise it or ask for a page to see more._"
    return replace(page, capped=False), note


def comment(row: Any, a: Values) -> str:
    return fmt.comment(row, a["show_spoilers"], a.get("comment_id"))


def plain(render: Callable[[Any], str]) -> Callable[[Any, Values], str]:
    return lambda item, _: render(item)


COMMENTS = Rows(comment, paged=True, empty="No comments yet.")
CREDITS = One(plain(fmt.credits))


@dataclass(frozen=True)
class Row:
    """One tool, as data."""

    name: str
    title: str
    description: str
    group: Group
    path: str
    args: str
    view: Rows | One | Translations
    query: Query | None = None

    def spec(self) -> ToolSpec[Any]:
        row = self
        query = self.query or (full if isinstance(self.view, Rows) and self.view.full else None)

        async def run(app: App, args: ToolArgs) -> str:
            a = args.model_dump()
            params = query(a) if query else {}
            return await row.view.read(app, row.title, build_path(row.path, a), params, a)

        return ToolSpec(
            name=self.name,
            title=self.title,
            description=self.description,
            group=self.group,
            risk="read",
            args=args_model(self.args),
            run=run,
            endpoints=(f"GET /{self.path}",),
        )


# The tables below are read as tables: one tool or one family of tools per line.
# fmt: off

# -- charts: 6 lists x shows and movies -------------------------------------------------------------------------

#: chart -> (arguments, description, the counter it ranks by: the one number its lines show).
CHARTS: dict[str, tuple[str, str, str | None]] = {
    "trending": ("limit page", "{Kind} being watched right now, most watchers first.", "watchers"),
    "popular": ("limit page", "The most popular {kind} on Trakt.", None),
    "anticipated": ("limit page", "Upcoming {kind} on the most lists.", "list_count"),
    "favorited": ("limit period page", "{Kind} most favorited in a period.", "user_count"),
    "played": ("limit period page", "{Kind} with the most plays in a period.", "play_count"),
    "watched": ("limit period page", "{Kind} with the most unique watchers in a period.", "watcher_count"),
}

CHART_ROWS = [
    Row(f"fetch_{chart}_{kind}", f"{chart.title()} {kind}", what.format(kind=kind, Kind=kind.title()), kind,
        f"{kind}/{chart}" + ("/{period}" if "period" in args else ""), args, listed(fmt.Line(counter)))
    for kind in ("shows", "movies")
    for chart, (args, what, counter) in CHARTS.items()
]

# -- aspects of a show, movie, season, episode or person: level x aspect ------------------------------------------

#: level -> (group, path, arguments, how a description names it)
LEVELS: dict[str, tuple[Group, str, str, str]] = {
    "show": ("shows", "shows/{show_id}", "show_id", "a show"),
    "movie": ("movies", "movies/{movie_id}", "movie_id", "a movie"),
    "season": ("seasons", "shows/{show_id}/seasons/{season}", "show_id season", "a season"),
    "episode": ("episodes", "shows/{show_id}/seasons/{season}/episodes/{episode}", "show_id season episode",
                "an episode"),
    "person": ("people", "people/{person_id}", "person_id", "a person"),
}


@dataclass(frozen=True)
class Aspect:
    title: str
    description: str
    path: str
    args: str
    view: Rows | One | Translations
    levels: tuple[str, ...]
    group: Group | None = None


ASPECTS: dict[str, Aspect] = {
    "ratings": Aspect("ratings", "Rating of {what} and its votes per score.", "ratings", "",
                      One(plain(fmt.ratings)), ("show", "movie", "season", "episode")),
    "videos": Aspect("videos", "Trailers and clips of {what}, as links.", "videos", "embed_markdown",
                     Rows(lambda row, a: fmt.video(row, a["embed_markdown"]), empty="No videos."),
                     ("show", "movie", "season", "episode")),
    "people": Aspect("cast", "Cast and crew of {what}.", "people", "", CREDITS, ("movie", "season")),
    "stats": Aspect("stats", "Watcher, play, collector and comment counts of {what}.", "stats", "",
                    One(plain(fmt.numbers)), ("season", "episode")),
    "watching": Aspect("watching", "Trakt users watching {what} right now.", "watching", "",
                       Rows(plain(fmt.user), empty="Nobody is watching right now."), ("season", "episode")),
    "translations": Aspect("translations", "Title and overview of {what} in other languages.",
                           "translations/{language?}", "language", Translations(), ("season", "episode")),
    "lists": Aspect("lists", "Public Trakt lists featuring {what}.", "lists/{list_type}/{sort}",
                    "list_type list_sort", Rows(plain(fmt.trakt_list), empty="On no lists."),
                    ("season", "episode", "person")),
    "comments": Aspect("comments", "Comments on {what}; spoilers hidden unless show_spoilers.", "comments/{sort}",
                       "limit show_spoilers comment_sort page max_pages", COMMENTS,
                       ("movie", "show", "season", "episode"), "comments"),
}

ASPECT_ROWS = [
    Row(f"fetch_{level}_{name}", f"{level.title()} {aspect.title}", aspect.description.format(what=LEVELS[level][3]),
        aspect.group or LEVELS[level][0], f"{LEVELS[level][1]}/{aspect.path}",
        f"{LEVELS[level][2]} {aspect.args}".strip(), aspect.view)
    for name, aspect in ASPECTS.items()
    for level in aspect.levels
]

# -- the rest, one row each ------------------------------------------------------------------------------------

SUMMARY = One(plain(fmt.summary))
TITLES = listed(fmt.Line())
EXTENDED = when("extended", "full")
EPISODE = "shows/{show_id}/seasons/{season}/episodes/{episode}"

OTHER_ROWS = [
    Row("fetch_show_summary", "Show details", "Details of a show: status, network, rating, overview.", "shows",
        "shows/{show_id}", "show_id extended", SUMMARY, EXTENDED),
    Row("fetch_movie_summary", "Movie details", "Details of a movie: release, rating, runtime, overview.", "movies",
        "movies/{movie_id}", "movie_id extended", SUMMARY, EXTENDED),
    Row("fetch_person_summary", "Person details", "Details of an actor or crew member: birth, biography.", "people",
        "people/{person_id}", "person_id extended", SUMMARY, EXTENDED),
    Row("fetch_show_people", "Show cast", "Cast and crew of a show; include_guest_stars adds guests.", "shows",
        "shows/{show_id}/people", "show_id include_guest_stars", CREDITS, when("include_guest_stars", "guest_stars")),
    # Trakt lists an episode's guest stars only with extended=guest_stars; for one episode they are few and the
    # heart of its cast, so they are always asked for.
    Row("fetch_episode_people", "Episode cast", "Cast and crew of an episode.", "episodes", f"{EPISODE}/people",
        "show_id season episode", CREDITS, lambda _: {"extended": "guest_stars"}),
    Row("fetch_related_shows", "Related shows", "Shows similar to a show, for 'more like this'.", "shows",
        "shows/{show_id}/related", "show_id limit page", TITLES),
    Row("fetch_related_movies", "Related movies", "Movies similar to a movie, for 'more like this'.", "movies",
        "movies/{movie_id}/related", "movie_id limit page", TITLES),
    Row("fetch_show_seasons", "Show seasons", "Seasons of a show with episode counts and ratings.", "shows",
        "shows/{show_id}/seasons", "show_id", listed(fmt.Line(facts=("episode_count", "rating")), paged=False)),
    Row("fetch_season_info", "Season details", "Details of one season: title, episodes, rating.", "seasons",
        "shows/{show_id}/seasons/{season}/info", "show_id season", SUMMARY, full),
    Row("fetch_season_episodes", "Season episodes", "Episodes of one season with ratings and runtimes.", "seasons",
        "shows/{show_id}/seasons/{season}", "show_id season", listed(fmt.Line(facts=("rating", "runtime")), False)),
    Row("fetch_episode_summary", "Episode details", "Details of one episode: title, air date, rating.", "episodes",
        EPISODE, "show_id season episode", SUMMARY, full),
    Row("fetch_person_movies", "Person's movies", "Movies a person played in or worked on.", "people",
        "people/{person_id}/movies", "person_id", CREDITS),
    Row("fetch_person_shows", "Person's shows", "Shows a person played in or worked on.", "people",
        "people/{person_id}/shows", "person_id", CREDITS),
    Row("fetch_boxoffice_movies", "Box office", "Top 10 movies at last weekend's US box office.", "movies",
        "movies/boxoffice", "", listed(fmt.Line("revenue"), paged=False)),
    Row("search_shows", "Search shows", "Find shows by title to get their Trakt IDs.", "search",
        "search/show", "query search_limit page", TITLES, search),
    Row("search_movies", "Search movies", "Find movies by title to get their Trakt IDs.", "search",
        "search/movie", "query search_limit page", TITLES, search),
    Row("fetch_comment", "Comment", "One comment by ID; spoilers hidden unless show_spoilers.", "comments",
        "comments/{comment_id}", "comment_id show_spoilers", One(comment)),
    Row("fetch_comment_replies", "Comment replies", "Replies to a comment; spoilers hidden unless show_spoilers.",
        "comments", "comments/{comment_id}/replies", "comment_id limit show_spoilers page max_pages", COMMENTS),
]

# fmt: on

TOOLS: list[ToolSpec[Any]] = [row.spec() for row in (*CHART_ROWS, *ASPECT_ROWS, *OTHER_ROWS)]
