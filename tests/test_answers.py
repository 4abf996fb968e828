"""Smaller answers that still carry what the next call needs, paging that means the same items as the reference
server, and schemas that single-type dialects accept. All through an in-process MCP client session."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Session, text_of
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.account import EPISODES
from trakt_mcp.sandbox.state import Listed, Play, Rating
from trakt_mcp.tools import catalogue

#: One ID per list line: `slug`, or `123` (a Trakt ID) for what has no slug.
ONE_ID = re.compile(r"`([a-z0-9][a-z0-9-]*)`")


def first_id(text: str) -> str:
    found = ONE_ID.search(text)
    assert found, f"no ID in:\n{text}"
    return found.group(1)


# -- portable schemas ---------------------------------------------------------------------------------------------


def nodes(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema of `schema` with where it is."""
    found = []
    if isinstance(schema, dict):
        found.append((path, schema))
        for key, value in schema.items():
            found += nodes(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += nodes(value, f"{path}[{index}]")
    return found


async def test_no_schema_has_a_type_array_or_a_null_branch(session: Session) -> None:
    async with session() as client:
        tools = (await client.list_tools()).tools
    problems = []
    for tool in tools:
        for where, node in nodes(tool.input_schema):
            if isinstance(node.get("type"), list):
                problems.append(f"{tool.name}{where}: type {node['type']}")
            if node.get("type") == "null" or {"type": "null"} in node.get("anyOf", []):
                problems.append(f"{tool.name}{where}: null branch")
            if "default" in node and node["default"] is None:
                problems.append(f"{tool.name}{where}: default null")
    assert len(tools) == 77
    assert not problems, "\n".join(problems)


async def test_an_optional_argument_without_default_is_not_required_and_still_takes_null(
    session: Session, fake: FakeTrakt, signed_in: Any
) -> None:
    async with session() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        schema = tools["fetch_history"].input_schema
        assert schema["properties"]["page"] == {"minimum": 1, "type": "integer"}
        assert "page" not in schema.get("required", [])
        result = await client.call_tool("fetch_history", {"page": None, "history_type": None})
    assert not result.is_error, text_of(result)


# -- paging as in the reference -----------------------------------------------------------------------------------


def stamp(n: int) -> str:
    return f"2024-01-{1 + n // 24:02d}T{n % 24:02d}:00:00.000Z"


@pytest.fixture
def busy_account(fake: FakeTrakt) -> list[int]:
    """25 rated, watchlisted and watched episodes; returns their Trakt IDs newest first (ratings and history order)
    which is also the watchlist's rank order reversed."""
    episodes = [e["ids"]["trakt"] for e in EPISODES[:25]]
    state = fake.state
    state.ratings = {("episode", trakt): Rating(7, stamp(n)) for n, trakt in enumerate(episodes)}
    state.watchlist = [Listed(5000 + n, "episode", trakt, stamp(n)) for n, trakt in enumerate(reversed(episodes))]
    state.history = [Play(6000 + n, "episode", trakt, stamp(n)) for n, trakt in enumerate(episodes)]
    return list(reversed(episodes))


def listed_ids(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^- (?:#\d+ )?.*`(\d+)`", text, flags=re.MULTILINE)]


PAGED = [
    ("fetch_user_ratings", {"rating_type": "episodes"}, "/sync/ratings/episodes", True),
    (
        "fetch_user_watchlist",
        {"watchlist_type": "episodes", "sort_by": "rank"},
        "/sync/watchlist/episodes/rank/asc",
        True,
    ),
    ("fetch_history", {"history_type": "episodes"}, "/sync/history/episodes", False),
]


@pytest.mark.parametrize(("tool", "arguments", "path", "whole"), PAGED, ids=[p[0] for p in PAGED])
async def test_pages_hold_the_items_the_reference_gives(
    session: Session,
    fake: FakeTrakt,
    signed_in: Any,
    busy_account: list[int],
    tool: str,
    arguments: dict[str, Any],
    path: str,
    whole: bool,
) -> None:
    """No page: everything on Trakt's pagination-optional lists (ratings, watchlist), Trakt's first page of 10 on
    history. page=N: items 10(N-1)+1 .. 10N, as the reference's page of DEFAULT_LIMIT=10."""
    async with session() as client:
        unpaged = text_of(await client.call_tool(tool, arguments))
        first = text_of(await client.call_tool(tool, {**arguments, "page": 1}))
        second = text_of(await client.call_tool(tool, {**arguments, "page": 2}))
    newest_first = busy_account
    assert listed_ids(unpaged) == (newest_first if whole else newest_first[:10])
    assert listed_ids(first) == newest_first[:10]
    assert listed_ids(second) == newest_first[10:20]
    queries = [call.query for call in fake.calls_to("GET", path)]
    unpaged_query = {} if whole else {"page": "1", "limit": "10"}
    assert [{k: v for k, v in q.items() if k in ("page", "limit")} for q in queries] == [
        unpaged_query,
        {"page": "1", "limit": "10"},
        {"page": "2", "limit": "10"},
    ]
    assert "_Page 2 of 3, 25 items._" in second


async def test_limit_zero_means_the_first_hundred_as_in_the_reference(session: Session, fake: FakeTrakt) -> None:
    async with session() as client:
        await client.call_tool("fetch_trending_shows", {"limit": 0})
    assert [(c.query["page"], c.query["limit"]) for c in fake.calls] == [("1", "100")]


# -- smaller answers that still name the next call's target -------------------------------------------------------


async def test_chart_lines_carry_one_id_and_only_the_charts_counter(session: Session, fake: FakeTrakt) -> None:
    async with session() as client:
        text = text_of(await client.call_tool("fetch_played_movies", {"limit": 3}))
        summary = text_of(await client.call_tool("fetch_movie_summary", {"movie_id": first_id(text)}))
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == 3 and all(len(ONE_ID.findall(line)) == 1 for line in lines)
    assert text.startswith("## Played movies (weekly) — plays\n")
    assert all(re.search(r"`: [\d,]+$", line) for line in lines)
    assert not re.search(r"trakt:|★|votes|min\b|watchers|collectors", text)
    assert "extended" not in fake.calls[0].query
    title = lines[0].removeprefix("- ").split(" `")[0]
    assert f"**{title} (" in summary


@pytest.mark.parametrize("spec", [s for s in catalogue.TOOLS if s.name.startswith(("fetch_trending", "search_"))])
async def test_every_title_line_names_its_item_once(session: Session, spec: Any) -> None:
    arguments = {"query": "the"} if spec.name.startswith("search") else {}
    async with session() as client:
        text = text_of(await client.call_tool(spec.name, arguments))
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert lines and all(len(ONE_ID.findall(line)) == 1 for line in lines), text


async def test_search_then_seasons_then_episodes_then_one_episode(session: Session) -> None:
    """The agent's usual walk: each answer holds what the next call takes."""
    async with session() as client:
        found = text_of(await client.call_tool("search_shows", {"query": "breaking"}))
        show_id = first_id(found)
        seasons = text_of(await client.call_tool("fetch_show_seasons", {"show_id": show_id}))
        number = int(re.findall(r"^- Season (\d+)", seasons, flags=re.MULTILINE)[0])
        episodes = text_of(await client.call_tool("fetch_season_episodes", {"show_id": show_id, "season": number}))
        season, episode = map(int, re.findall(r"^- S(\d+)E(\d+)", episodes, flags=re.MULTILINE)[1])
        details = await client.call_tool(
            "fetch_episode_summary", {"show_id": show_id, "season": season, "episode": episode}
        )
    assert show_id == "breaking-bad"
    assert "13 episodes" in seasons or "episodes" in seasons
    assert not details.is_error and f"S{season:02d}E{episode:02d}" in text_of(details)


async def test_comment_ids_lead_to_their_replies(session: Session) -> None:
    async with session() as client:
        comments = text_of(await client.call_tool("fetch_show_comments", {"show_id": "breaking-bad", "limit": 50}))
        with_replies = re.search(r"^- #(\d+) by [^(]*\([^)]*\b(\d+) replies", comments, flags=re.MULTILINE)
        assert with_replies, comments
        replies = text_of(await client.call_tool("fetch_comment_replies", {"comment_id": with_replies.group(1)}))
    assert replies.startswith(f"## Comment replies: #{with_replies.group(1)}\n- #")
    assert "reply to" not in replies  # every line is a reply to the comment the heading names


async def test_a_watchlist_id_is_enough_to_rate_the_item(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    async with session() as client:
        watchlist = text_of(await client.call_tool("fetch_user_watchlist", {"watchlist_type": "movies"}))
        rated = await client.call_tool(
            "add_user_ratings", {"rating_type": "movies", "items": [{"slug": first_id(watchlist), "rating": 8}]}
        )
    assert not rated.is_error, text_of(rated)
    assert fake.state.ratings[("movie", 585005)].rating == 8


async def test_history_episode_ids_filter_the_history(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    async with session() as client:
        history = text_of(await client.call_tool("fetch_history", {"history_type": "episodes"}))
        episode_id = first_id(history)
        one = text_of(await client.call_tool("fetch_history", {"history_type": "episodes", "item_id": episode_id}))
    assert episode_id.isdigit()
    assert listed_ids(one) == [int(episode_id)]


async def test_translations_are_a_table_with_overviews_only_for_the_language_asked(session: Session) -> None:
    where = {"show_id": "breaking-bad", "season": 1, "episode": 1}
    async with session() as client:
        every = text_of(await client.call_tool("fetch_episode_translations", where))
        german = text_of(await client.call_tool("fetch_episode_translations", {**where, "language": "de"}))
    rows = [line for line in every.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| language | title |" and len(rows) > 2
    assert all(line.count("|") == 3 for line in rows)
    assert ":" not in every.split("\n", 1)[1].replace("| ", "")  # no overview lines
    assert re.search(r"^\| de-de \| .+ \|$", german, flags=re.MULTILINE)
    assert re.search(r"^de-de: .{10,}", german, flags=re.MULTILINE)
    assert len(every) < 600
