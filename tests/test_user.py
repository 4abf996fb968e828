"""The user's own Trakt, read side: every read tool and the two user resources through MCP against the fake, and
every one of the 21 tools before sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import types

from tests.conftest import Session, text_of
from trakt_mcp.sandbox import FakeTrakt


async def accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


#: tool, arguments, (method, path) the fake must see, query it must carry, texts the answer must show.
READS: list[tuple[str, dict[str, Any], str, dict[str, str], list[str]]] = [
    (
        "fetch_user_watched_shows",
        {},
        "/sync/watched/shows",
        {},
        ["Breaking Bad (2008) `breaking-bad`, 3 plays, 3 episodes"],
    ),
    ("fetch_user_watched_movies", {}, "/sync/watched/movies", {}, ["The Dark Knight", "Inception", "(2)"]),
    ("fetch_user_watched_movies", {"limit": 1}, "/sync/watched/movies", {}, ["_1 of 2 shown._"]),
    ("fetch_user_ratings", {}, "/sync/ratings/movies", {}, ["The Dark Knight `the-dark-knight-2008`, 9/10"]),
    (
        "fetch_user_ratings",
        {"rating_type": "shows", "rating": 10, "page": 1},
        "/sync/ratings/shows/10",
        {"page": "1", "limit": "10"},
        ["Breaking Bad", "10/10"],
    ),
    (
        "fetch_user_watchlist",
        {"watchlist_type": "movies", "sort_by": "added", "sort_how": "desc"},
        "/sync/watchlist/movies/added/desc",
        {},
        ["Dune: Part Two", 'note: "See it on a big screen"'],
    ),
    (
        "fetch_history",
        {},
        "/sync/history",
        {"page": "1", "limit": "10"},
        ["Inception `inception-2010`", "S01E03 ...And the Bag's in the River `1388103`", "(checkin)"],
    ),
    (
        "fetch_history",
        {"history_type": "shows", "item_id": "breaking-bad", "start_at": "2024-04-02", "end_at": "2024-04-30T00:00Z"},
        "/sync/history/shows/1388",
        {"start_at": "2024-04-02T00:00:00.000Z", "end_at": "2024-04-30T00:00:00.000Z"},
        ["S01E02", "S01E03"],
    ),
    (
        "fetch_history",
        {"history_type": "movies", "item_id": "tt0468569"},
        "/sync/history/movies/120",
        {},
        ["Dark Knight"],
    ),
    (
        "fetch_show_progress",
        {"show_id": "breaking-bad", "verbose": True, "last_activity": "watched"},
        "/shows/breaking-bad/progress/watched",
        {"last_activity": "watched", "hidden": "false", "specials": "false", "count_specials": "true"},
        ["3/20 episodes", "Next to watch: S01E04 Cancer Man `1388104`", "unwatched episodes: 4, 5, 6, 7"],
    ),
    ("fetch_playback_progress", {}, "/sync/playback", {}, ["Spirited Away", "45% watched", "playback_id 3001"]),
    ("fetch_playback_progress", {"playback_type": "episodes"}, "/sync/playback/episodes", {}, ["Cancer Man"]),
    (
        "fetch_movie_recommendations",
        {"limit": 3, "ignore_watchlisted": False},
        "/recommendations/movies",
        {"limit": "3", "ignore_collected": "true", "ignore_watchlisted": "false"},
        ["Spirited Away"],
    ),
    ("fetch_show_recommendations", {}, "/recommendations/shows", {"limit": "10"}, ["Game of Thrones"]),
]


@pytest.mark.parametrize(("tool", "arguments", "path", "query", "texts"), READS)
async def test_reads_show_the_fakes_data_and_call_the_right_endpoint(
    session: Session,
    fake: FakeTrakt,
    signed_in: Any,
    tool: str,
    arguments: dict[str, Any],
    path: str,
    query: dict[str, str],
    texts: list[str],
) -> None:
    async with session() as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert not result.is_error, text
    calls = fake.calls_to("GET", path)
    assert calls, f"{tool} did not call GET {path}; saw {[c.path for c in fake.calls]}"
    assert query.items() <= calls[-1].query.items()
    assert calls[-1].headers["authorization"] == f"Bearer {signed_in.access_token}"
    for expected in texts:
        assert expected in text


async def test_reads_follow_state_changes(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    fake.state.ratings.clear()
    fake.state.history = [p for p in fake.state.history if p.kind == "movie"]
    async with session() as client:
        ratings = text_of(await client.call_tool("fetch_user_ratings", {}))
        shows = text_of(await client.call_tool("fetch_user_watched_shows", {}))
    assert "No ratings yet." in ratings
    assert "No watched shows yet." in shows


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"item_id": "120"}, "item_id needs history_type"),
        ({"start_at": "last tuesday"}, "start_at: expected an ISO 8601 date-time"),
        ({"start_at": "2024-05-02", "end_at": "2024-05-01"}, "end_at must not be before start_at"),
        ({"page": 0}, "page"),
        ({"history_type": "episodes", "item_id": "pilot"}, "item_id: episodes are named by their numeric Trakt ID"),
    ],
)
async def test_bad_read_arguments_send_nothing(
    session: Session, fake: FakeTrakt, signed_in: Any, arguments: dict[str, Any], problem: str
) -> None:
    async with session() as client:
        result = await client.call_tool("fetch_history", arguments)
    assert result.is_error
    assert problem in text_of(result)
    assert not fake.calls


@pytest.mark.parametrize(("kind", "title"), [("shows", "Breaking Bad"), ("movies", "Inception")])
async def test_user_watched_resources(session: Session, signed_in: Any, kind: str, title: str) -> None:
    async with session() as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        content = (await client.read_resource(f"trakt://user/watched/{kind}")).contents[0]
    assert f"trakt://user/watched/{kind}" in listed
    assert isinstance(content, types.TextResourceContents)
    assert title in content.text


async def test_user_resource_before_sign_in_says_how_to_sign_in(session: Session) -> None:
    async with session() as client:
        content = (await client.read_resource("trakt://user/watched/movies")).contents[0]
    assert isinstance(content, types.TextResourceContents)
    assert "start_device_auth" in content.text


#: One valid call of each of the 21 tools.
EVERY_TOOL: dict[str, dict[str, Any]] = {
    "fetch_user_watched_shows": {},
    "fetch_user_watched_movies": {},
    "fetch_user_ratings": {},
    "fetch_user_watchlist": {},
    "fetch_history": {},
    "fetch_show_progress": {"show_id": "breaking-bad"},
    "fetch_playback_progress": {},
    "fetch_movie_recommendations": {},
    "fetch_show_recommendations": {},
    "add_user_ratings": {"rating_type": "movies", "items": [{"trakt_id": "16662", "rating": 8}]},
    "remove_user_ratings": {"rating_type": "movies", "items": [{"trakt_id": "120"}]},
    "add_user_watchlist": {"watchlist_type": "movies", "items": [{"trakt_id": "120"}]},
    "remove_user_watchlist": {"watchlist_type": "movies", "items": [{"trakt_id": "585005"}]},
    "add_to_history": {"history_type": "movies", "items": [{"trakt_id": "19371"}]},
    "remove_from_history": {"history_type": "movies", "items": [{"trakt_id": "120"}]},
    "remove_playback_item": {"playback_id": 3001},
    "hide_movie_recommendation": {"movie_id": "19371"},
    "hide_show_recommendation": {"show_id": "1390"},
    "unhide_movie_recommendation": {"movie_id": "19371"},
    "unhide_show_recommendation": {"show_id": "1390"},
    "checkin_to_show": {"show_title": "Breaking Bad", "season": 1, "episode": 4},
}


@pytest.mark.parametrize(("tool", "arguments"), EVERY_TOOL.items())
async def test_before_sign_in_every_tool_says_how_to_sign_in(
    session: Session, fake: FakeTrakt, tool: str, arguments: dict[str, Any]
) -> None:
    before = repr(fake.state)
    async with session(elicitation_callback=accept) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert "start_device_auth" in text_of(result)
    assert not [c for c in fake.calls if "authorization" in c.headers], "nothing may be sent with a token"
    assert repr(fake.state) == before


def test_the_21_tools_are_all_covered() -> None:
    from trakt_mcp.tools import checkin, recommendations, sync, user

    mine = {spec.name for module in (user, sync, recommendations, checkin) for spec in module.TOOLS}
    assert mine == set(EVERY_TOOL)
    assert len(mine) == 21


async def test_item_models_match_the_reference_defs(session: Session) -> None:
    import json

    from tests.test_parity import REFERENCE, differences

    if not REFERENCE.is_file():
        pytest.skip("reference contract not found")
    expected = {t["name"]: t["inputSchema"] for t in json.loads(REFERENCE.read_text())["tools"]}
    async with session() as client:
        served = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
    batch_tools = [name for name in EVERY_TOOL if "$defs" in expected[name]]
    assert len(batch_tools) == 6
    for name in batch_tools:
        theirs, ours = expected[name]["$defs"], served[name]["$defs"]
        assert set(ours) == set(theirs), name
        for model, schema in theirs.items():
            # Names, types, required, enums and defaults must match; `differences` reads the reference's
            # `anyOf: [X, null]` + `default: null` as our plain X without a default (portable schemas, issue #15).
            assert differences(ours[model], schema) == [], (name, model)
            assert "examples" not in json.dumps(ours[model])
