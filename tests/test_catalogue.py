"""Every catalogue tool, resource and prompt through an in-process MCP session against the fake Trakt: the answer
shows the fake's data, and the fake saw the right method, path and query."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Session, text_of
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.data import MOVIES, SHOWS
from trakt_mcp.server.resources import RESOURCES
from trakt_mcp.tools import catalogue

BB = "/shows/breaking-bad"
S1 = f"{BB}/seasons/1"
E1 = f"{S1}/episodes/1"
FULL = {"extended": "full"}
PAGE1 = {"page": "1", "limit": "10"}

#: tool, arguments, path the fake must see, query it must see (exactly), text the answer must hold.
CASES: list[tuple[str, dict[str, Any], str, dict[str, str], list[str]]] = [
    (
        "fetch_trending_shows",
        {"limit": 2},
        "/shows/trending",
        {"page": "1", "limit": "2"},
        ["## Trending shows — watching now\n- Breaking Bad (2008) `breaking-bad`: 412\n"],
    ),
    ("fetch_popular_shows", {}, "/shows/popular", PAGE1, ["Game of Thrones (2011) `game-of-thrones`\n"]),
    (
        "fetch_anticipated_shows",
        {},
        "/shows/anticipated",
        PAGE1,
        ["## Anticipated shows — lists it is on\n- Shōgun `shogun-2024`: 6,084\n"],
    ),
    (
        "fetch_favorited_shows",
        {"period": "daily"},
        "/shows/favorited/daily",
        PAGE1,
        ["## Favorited shows (daily) — favorites\n- Game of Thrones (2011) `game-of-thrones`: 120\n"],
    ),
    (
        "fetch_played_shows",
        {},
        "/shows/played/weekly",
        PAGE1,
        ["## Played shows (weekly) — plays\n- Game of Thrones (2011) `game-of-thrones`: 2,793\n"],
    ),
    (
        "fetch_watched_shows",
        {"period": "all"},
        "/shows/watched/all",
        PAGE1,
        ["— watchers\n- Breaking Bad (2008) `breaking-bad`: 412,000\n"],
    ),
    (
        "fetch_trending_movies",
        {},
        "/movies/trending",
        PAGE1,
        ["- Dune: Part Two `dune-part-two-2024`: 156\n"],
    ),
    ("fetch_popular_movies", {}, "/movies/popular", PAGE1, ["The Dark Knight `the-dark-knight-2008`"]),
    ("fetch_anticipated_movies", {}, "/movies/anticipated", PAGE1, ["Wicked `wicked-2024`"]),
    ("fetch_favorited_movies", {}, "/movies/favorited/weekly", PAGE1, ["favorites"]),
    ("fetch_played_movies", {"period": "monthly"}, "/movies/played/monthly", PAGE1, ["plays"]),
    ("fetch_watched_movies", {"period": "yearly"}, "/movies/watched/yearly", PAGE1, ["watchers"]),
    (
        "fetch_boxoffice_movies",
        {},
        "/movies/boxoffice",
        {},
        ["## Box office — weekend revenue\n- Wicked `wicked-2024`: $114,000,000\n"],
    ),
    (
        "fetch_show_summary",
        {"show_id": "breaking-bad"},
        BB,
        FULL,
        ["Network: AMC", "Status: ended", "98,543 votes", "methamphetamine"],
    ),
    (
        "fetch_show_summary",
        {"show_id": "tt0903747", "extended": False},
        "/shows/tt0903747",
        {},
        ["**Breaking Bad (2008)** `breaking-bad`"],
    ),
    ("fetch_movie_summary", {"movie_id": "120"}, "/movies/120", FULL, ["_Why so serious?_", "152 min", "Rated: PG-13"]),
    (
        "fetch_person_summary",
        {"person_id": "bryan-cranston"},
        "/people/bryan-cranston",
        FULL,
        ["**Bryan Cranston** `bryan-cranston`\nBorn", "Born: 1956-03-07"],
    ),
    ("fetch_show_ratings", {"show_id": "breaking-bad"}, f"{BB}/ratings", {}, ["★9.28/10 from 98,543 votes", "10: "]),
    ("fetch_movie_ratings", {"movie_id": "inception-2010"}, "/movies/inception-2010/ratings", {}, ["68,012 votes"]),
    ("fetch_season_ratings", {"show_id": "breaking-bad", "season": 1}, f"{S1}/ratings", {}, ["733 votes"]),
    (
        "fetch_episode_ratings",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/ratings",
        {},
        ["★8.60/10 from 937 votes"],
    ),
    (
        "fetch_show_videos",
        {"show_id": "breaking-bad"},
        f"{BB}/videos",
        {},
        ["[Breaking Bad — Official Trailer](https://youtube.com/watch?v=tra56c)"],
    ),
    (
        "fetch_movie_videos",
        {"movie_id": "120", "embed_markdown": False},
        "/movies/120/videos",
        {},
        ["The Dark Knight — Official Teaser: https://youtube.com/watch?v=tea78"],
    ),
    ("fetch_season_videos", {"show_id": "breaking-bad", "season": 1}, f"{S1}/videos", {}, ["Season 1 — Official"]),
    (
        "fetch_episode_videos",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/videos",
        {},
        ["[Pilot — Official Trailer]("],
    ),
    (
        "fetch_show_people",
        {"show_id": "breaking-bad"},
        f"{BB}/people",
        {},
        ["Bryan Cranston `bryan-cranston` as Walter White, 62 episodes"],
    ),
    (
        "fetch_show_people",
        {"show_id": "breaking-bad", "include_guest_stars": True},
        f"{BB}/people",
        {"extended": "guest_stars"},
        ["### Guest stars", "- Giancarlo Esposito `giancarlo-esposito`"],
    ),
    (
        "fetch_movie_people",
        {"movie_id": "120"},
        "/movies/120/people",
        {},
        ["\n- Heath Ledger `heath-ledger` as Joker\n### Directing\n- Christopher Nolan `christopher-nolan`: Director"],
    ),
    ("fetch_season_people", {"show_id": "breaking-bad", "season": 1}, f"{S1}/people", {}, ["as Jesse Pinkman"]),
    (
        "fetch_episode_people",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/people",
        {"extended": "guest_stars"},
        ["Guest stars", "as Gus Fring"],
    ),
    (
        "fetch_related_shows",
        {"show_id": "breaking-bad"},
        f"{BB}/related",
        PAGE1,
        ["- Better Call Saul (2015) `better-call-saul`"],
    ),
    (
        "fetch_related_movies",
        {"movie_id": "120"},
        "/movies/120/related",
        PAGE1,
        ["- Inception `inception-2010`"],
    ),
    (
        "fetch_show_seasons",
        {"show_id": "breaking-bad"},
        f"{BB}/seasons",
        FULL,
        ["- Specials `138800`", "13 episodes, ★"],
    ),
    (
        "fetch_season_info",
        {"show_id": "breaking-bad", "season": 2},
        f"{BB}/seasons/2/info",
        FULL,
        ["**Season 2** `138802` — ★8.2", "Episodes: 13"],
    ),
    (
        "fetch_season_episodes",
        {"show_id": "game-of-thrones", "season": 1},
        "/shows/game-of-thrones/seasons/1",
        FULL,
        ["S01E01 Winter Is Coming `1390101`, ★8.6, 60 min", "S01E10 Fire and Blood `1390110`, ★"],
    ),
    (
        "fetch_episode_summary",
        {"show_id": "breaking-bad", "season": 1, "episode": 2},
        f"{S1}/episodes/2",
        FULL,
        ["**S01E02 Cat's in the Bag...** `1388102` — ★7.8", "First aired: 2008-03-12"],
    ),
    (
        "fetch_season_stats",
        {"show_id": "breaking-bad", "season": 1},
        f"{S1}/stats",
        {},
        ["- collectors: ", "- plays: "],
    ),
    (
        "fetch_episode_stats",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/stats",
        {},
        ["- watchers: "],
    ),
    ("fetch_season_watching", {"show_id": "breaking-bad", "season": 1}, f"{S1}/watching", {}, ["**sean** (Sean"]),
    (
        "fetch_episode_watching",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/watching",
        {},
        ["**nightowl** (Nora Owl) — VIP"],
    ),
    (
        "fetch_season_translations",
        {"show_id": "breaking-bad", "season": 1, "language": "de"},
        f"{S1}/translations/de",
        {},
        ["| language | title |\n|---|---|\n| de-de | Breaking Bad Season 1 (de) |", "\nde-de: Staffel / Folge"],
    ),
    (
        "fetch_episode_translations",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/translations",
        {},
        ["| es-es | Pilot (es) |", "| fr-fr |"],
    ),
    (
        "fetch_season_lists",
        {"show_id": "breaking-bad", "season": 1, "list_type": "official", "sort": "items"},
        f"{S1}/lists/official/items",
        {},
        ["Critics' Picks `critics-picks`", "88 items"],
    ),
    (
        "fetch_episode_lists",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/lists/all/popular",
        {},
        ["Crime Dramas `", "by nightowl"],
    ),
    (
        "fetch_person_lists",
        {"person_id": "aaron-paul", "list_type": "watchlists"},
        "/people/aaron-paul/lists/watchlists/popular",
        {},
        ["Watch Next `"],
    ),
    (
        "fetch_person_movies",
        {"person_id": "christopher-nolan"},
        "/people/christopher-nolan/movies",
        {},
        ["Oppenheimer `oppenheimer-2023`", "Director"],
    ),
    (
        "fetch_person_shows",
        {"person_id": "giancarlo-esposito"},
        "/people/giancarlo-esposito/shows",
        {},
        ["Better Call Saul (2015) `better-call-saul` as Gus Fring, 14 episodes"],
    ),
    (
        "search_shows",
        {"query": "office"},
        "/search/show",
        {"query": "office", **PAGE1},
        ["- The Office (2005) `the-office`"],
    ),
    (
        "search_movies",
        {"query": "dune", "limit": 5},
        "/search/movie",
        {"query": "dune", "page": "1", "limit": "5"},
        ["- Dune: Part Two `dune-part-two-2024`"],
    ),
    (
        "fetch_show_comments",
        {"show_id": "breaking-bad"},
        f"{BB}/comments/newest",
        PAGE1,
        ["#1011 by justin", "_Page 1 of 3, 23 items._"],
    ),
    (
        "fetch_movie_comments",
        {"movie_id": "120", "sort": "likes", "show_spoilers": True},
        "/movies/120/comments/likes",
        PAGE1,
        ["**spoiler**: The ending with Harvey Dent broke me."],
    ),
    (
        "fetch_season_comments",
        {"show_id": "breaking-bad", "season": 1, "sort": "oldest"},
        f"{S1}/comments/oldest",
        PAGE1,
        ["slow burn"],
    ),
    (
        "fetch_episode_comments",
        {"show_id": "breaking-bad", "season": 1, "episode": 1},
        f"{E1}/comments/newest",
        PAGE1,
        ["RV in the desert", "#1401 by binge-bea"],
    ),
    ("fetch_comment", {"comment_id": "1200"}, "/comments/1200", {}, ["#1200 by justin", "Joker is unforgettable"]),
    (
        "fetch_comment_replies",
        {"comment_id": "1000", "limit": 3},
        "/comments/1000/replies",
        {"page": "1", "limit": "3"},
        ["## Comment replies: #1000\n- #1100 by sean (2024-01-01, rated 6/10): ", "_Page 1 of 4, 12 items._"],
    ),
]


def test_the_table_covers_every_catalogue_tool() -> None:
    assert {case[0] for case in CASES} == {spec.name for spec in catalogue.TOOLS}


@pytest.mark.parametrize(("tool", "arguments", "path", "query", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_tool_answers_from_the_fake(
    session: Session,
    fake: FakeTrakt,
    tool: str,
    arguments: dict[str, Any],
    path: str,
    query: dict[str, str],
    expected: list[str],
) -> None:
    async with session() as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert not result.is_error, text
    assert [(c.method, c.path, c.query) for c in fake.calls] == [("GET", path, query)]
    for fragment in expected:
        assert fragment in text, f"{fragment!r} missing from:\n{text}"


async def test_spoilers_are_hidden_unless_asked(session: Session) -> None:
    async with session() as client:
        hidden = text_of(await client.call_tool("fetch_movie_comments", {"movie_id": "120"}))
        shown = text_of(await client.call_tool("fetch_show_comments", {"show_id": "1388", "show_spoilers": True}))
        tagged = text_of(await client.call_tool("fetch_show_comments", {"show_id": "1388"}))
    assert "Harvey Dent" not in hidden
    assert "#1201 by binge-bea" in hidden and "show_spoilers=true" in hidden
    assert "[spoiler: Walt to let Jane die]" in shown
    assert "Jane" not in tagged and "[spoiler hidden]" in tagged


async def test_unknown_ids_are_reported_as_not_found(session: Session, fake: FakeTrakt) -> None:
    async with session() as client:
        result = await client.call_tool(
            "fetch_episode_summary", {"show_id": "breaking-bad", "season": 1, "episode": 99}
        )
    assert result.is_error
    assert "404" in text_of(result) and "not found" in text_of(result)
    assert fake.calls[-1].path == f"{S1}/episodes/99"


async def test_a_season_the_show_lacks_is_not_found_not_untitled(session: Session, fake: FakeTrakt) -> None:
    """Trakt answers /seasons/:season/info for a missing season with an empty 204, not a 404."""
    async with session() as client:
        result = await client.call_tool("fetch_season_info", {"show_id": "breaking-bad", "season": 9})
    assert result.is_error
    assert "Not found on Trakt: Season details: breaking-bad season 9" in text_of(result)
    assert fake.calls[-1].path == f"{BB}/seasons/9/info"


BAD_ARGUMENTS = [
    ("fetch_favorited_shows", {"period": "hourly"}, "period", "'daily', 'weekly', 'monthly', 'yearly' or 'all'"),
    ("fetch_season_info", {"show_id": "breaking-bad", "season": -1}, "season", "at least 0"),
    ("fetch_episode_stats", {"show_id": "breaking-bad", "season": 1, "episode": 0}, "episode", "at least 1"),
    ("fetch_show_summary", {"show_id": "../x"}, "show_id", "Trakt ID, slug or IMDB ID"),
    ("fetch_movie_comments", {"movie_id": "120", "sort": "best"}, "sort", "'newest', 'oldest', 'likes' or 'replies'"),
    ("fetch_show_comments", {"show_id": "1388", "max_pages": 0}, "max_pages", "at least 1"),
    ("fetch_person_lists", {"person_id": "x", "list_type": "mine"}, "list_type", "'personal', 'official'"),
    ("fetch_season_lists", {"show_id": "x", "season": 1, "sort": "rank"}, "sort", "'popular', 'likes'"),
    (
        "fetch_episode_translations",
        {"show_id": "x", "season": 1, "episode": 1, "language": "english"},
        "language",
        "two-letter language code",
    ),
    ("fetch_trending_movies", {"limit": -1}, "limit", "0 (everything, capped)"),
    ("fetch_popular_movies", {"page": 0}, "page", "at least 1"),
    ("search_movies", {"query": ""}, "query", "at least 1 character"),
    ("fetch_related_shows", {"show_id": "x", "colour": "red"}, "colour", "not an argument"),
]


@pytest.mark.parametrize(
    ("tool", "arguments", "argument", "accepted"), BAD_ARGUMENTS, ids=[b[2] for b in BAD_ARGUMENTS]
)
async def test_invalid_arguments_are_refused_before_sending(
    session: Session, fake: FakeTrakt, tool: str, arguments: dict[str, Any], argument: str, accepted: str
) -> None:
    async with session() as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error
    assert f"{argument}:" in text and accepted in text, text
    assert fake.calls == []


def line_start(item: dict[str, Any]) -> str:
    """How a list line starts: title, the year unless the slug ends with it, then the slug."""
    slug = item["ids"]["slug"]
    year = "" if slug.endswith(f"-{item['year']}") else f" ({item['year']})"
    return f"- {item['title']}{year} `{slug}`"


RESOURCE_CASES = {r.uri: r.tool for r in RESOURCES if r.uri.startswith(("trakt://shows/", "trakt://movies/"))}


@pytest.mark.parametrize("uri", sorted(RESOURCE_CASES))
async def test_resource_reads_its_chart(session: Session, fake: FakeTrakt, uri: str) -> None:
    async with session() as client:
        result = await client.read_resource(uri)
    text = "\n".join(getattr(c, "text", "") for c in result.contents)
    kind, chart = uri.removeprefix("trakt://").split("/")
    period = "/weekly" if chart in ("favorited", "played", "watched") else ""
    assert [(c.method, c.path) for c in fake.calls] == [("GET", f"/{kind}/{chart}{period}")]
    titles = [line_start(item) for item in (SHOWS if kind == "shows" else MOVIES)]
    assert sum(title in text for title in titles) >= 5, text


@pytest.mark.parametrize(
    ("name", "tools"),
    [
        ("discover_trending", ["fetch_trending_shows", "fetch_trending_movies"]),
        ("search_entertainment", ["search_shows", "search_movies"]),
    ],
)
async def test_prompts_point_at_the_catalogue_tools(
    session: Session, fake: FakeTrakt, name: str, tools: list[str]
) -> None:
    async with session() as client:
        prompt = await client.get_prompt(name)
    text = "\n".join(getattr(m.content, "text", "") for m in prompt.messages)
    assert all(tool in text for tool in tools)
    assert fake.calls == []
