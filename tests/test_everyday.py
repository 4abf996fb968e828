"""The everyday tools beyond the 77 (calendar, up next, personal lists, movie check-in, scrobbling, stats, people
search): each sends exactly the request Trakt documents (method, path, query, body, headers), answers from the
fake's data, and each write says what changed and changes the sandbox account as asked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Session, text_of
from tests.test_user_writes import Asked
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.settings import SANDBOX_CLIENT_ID
from trakt_mcp.tools import everyday, lists, scrobble, tools_by_name

NEW_TOOLS = {spec.name for module in (everyday, lists, scrobble) for spec in module.TOOLS} | {"search_people"}


def today() -> str:
    return datetime.now(UTC).date().isoformat()


#: tool, arguments, method, path, query (exactly), body (exactly; None = no body), texts the answer shows.
CASES: list[tuple[str, dict[str, Any], str, str, dict[str, str], Any, list[str]]] = [
    (
        "fetch_calendar",
        {"mine": False, "start_date": "2026-12-06", "days": 7},
        "GET",
        "/calendars/all/shows/2026-12-06/7",
        {},
        None,
        ["All calendar: shows, 2026-12-06 + 7 days", "2026-12-07 01:00 UTC The Bear (2022) S05E15"],
    ),
    (
        "fetch_calendar",
        {"calendar": "movies", "start_date": "2026-12-06", "days": 14},
        "GET",
        "/calendars/my/movies/2026-12-06/14",
        {},
        None,
        ["Your calendar: movies", "2026-12-16 The Dark Knight `the-dark-knight-2008`"],
    ),
    (
        "fetch_calendar",
        {"calendar": "premieres", "mine": False, "start_date": "2026-12-06", "days": 30},
        "GET",
        "/calendars/all/shows/premieres/2026-12-06/30",
        {},
        None,
        ["2026-12-28 01:00 UTC Severance (2022) S05E01"],
    ),
    (
        "fetch_up_next",
        {},
        "GET",
        "/shows/1388/progress/watched",
        {},
        None,
        ["Breaking Bad (2008) `breaking-bad`: S01E04 Cancer Man `1388104`, 17 left"],
    ),
    (
        "fetch_user_stats",
        {},
        "GET",
        "/users/me/stats",
        {},
        None,
        ["Movies: 2 plays, 2 watched", "Episodes: 3 plays", "Ratings given: 2"],
    ),
    ("search_people", {"query": "aaron"}, "GET", "/search/person", {"query": "aaron"}, None, ["Aaron Paul"]),
    (
        "fetch_user_lists",
        {},
        "GET",
        "/users/me/lists",
        {},
        None,
        ["Weekend favourites `weekend-favourites` (list_id 4001), 2 items, private"],
    ),
    (
        "fetch_list_items",
        {"list_id": "weekend-favourites"},
        "GET",
        "/users/me/lists/weekend-favourites/items",
        {},
        None,
        ["#1 Inception `inception-2010`", "#2 Breaking Bad (2008) `breaking-bad`"],
    ),
    (
        "create_user_list",
        {"name": "Dune night", "description": "Both parts", "privacy": "friends"},
        "POST",
        "/users/me/lists",
        {},
        {"name": "Dune night", "description": "Both parts", "privacy": "friends"},
        ["Created your list on Trakt", "Dune night `dune-night` (list_id 5001), 0 items, friends"],
    ),
    (
        "update_user_list",
        {"list_id": "4001", "name": "Weekend picks"},
        "PUT",
        "/users/me/lists/4001",
        {},
        {"name": "Weekend picks"},
        ['Updated your list on Trakt: name "Weekend picks"', "Weekend picks `weekend-picks` (list_id 4001)"],
    ),
    (
        "delete_user_list",
        {"list_id": "4001"},
        "DELETE",
        "/users/me/lists/4001",
        {},
        None,
        ["Trakt deleted your list “Weekend favourites” (2 items)"],
    ),
    (
        "add_to_user_list",
        {"list_id": "4001", "item_type": "movies", "items": ["dune-part-two-2024", "16662", "tt0000111"]},
        "POST",
        "/users/me/lists/4001/items",
        {},
        {
            "movies": [
                {"ids": {"slug": "dune-part-two-2024"}},
                {"ids": {"trakt": 16662}},
                {"ids": {"imdb": "tt0000111"}},
            ]
        },
        ["Added: 1 movie", "Existing: 1 movie", "item 3: movie with IMDB ID tt0000111"],
    ),
    (
        "remove_from_user_list",
        {"list_id": "weekend-favourites", "item_type": "shows", "items": ["breaking-bad"]},
        "POST",
        "/users/me/lists/weekend-favourites/items/remove",
        {},
        {"shows": [{"ids": {"slug": "breaking-bad"}}]},
        ["List weekend-favourites updated on Trakt", "Deleted: 1 show"],
    ),
    (
        "checkin_to_movie",
        {"movie_id": "dune-part-two-2024", "message": "Big screen"},
        "POST",
        "/checkin",
        {},
        {
            "movie": {"ids": {"slug": "dune-part-two-2024"}},
            "sharing": {"twitter": False, "mastodon": False, "tumblr": False},
            "message": "Big screen",
        },
        ["Checked in on Trakt: Dune: Part Two (2024)", "check-in id"],
    ),
    ("cancel_checkin", {}, "DELETE", "/checkin", {}, None, ["Trakt cancelled your active check-in"]),
    (
        "scrobble",
        {"action": "start", "progress": 12.5, "movie_id": "tt1375666"},
        "POST",
        "/scrobble/start",
        {},
        {"movie": {"ids": {"imdb": "tt1375666"}}, "progress": 12.5},
        ["Started watching on Trakt: Inception `inception-2010` at 12.5%"],
    ),
    (
        "scrobble",
        {"action": "stop", "progress": 95, "show_id": "breaking-bad", "season": 1, "episode": 4},
        "POST",
        "/scrobble/stop",
        {},
        {"show": {"ids": {"slug": "breaking-bad"}}, "episode": {"season": 1, "number": 4}, "progress": 95.0},
        ["Stopped on Trakt: Breaking Bad (2008) S01E04 Cancer Man", "Marked watched"],
    ),
]


def test_every_new_tool_has_a_case() -> None:
    assert {case[0] for case in CASES} == NEW_TOOLS
    assert set(tools_by_name()) >= NEW_TOOLS


@pytest.mark.parametrize(("tool", "arguments", "method", "path", "query", "body", "texts"), CASES)
async def test_each_tool_sends_what_trakt_documents(
    session: Session,
    fake: FakeTrakt,
    signed_in: Any,
    tool: str,
    arguments: dict[str, Any],
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    texts: list[str],
) -> None:
    async with session(elicitation_callback=Asked()) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert not result.is_error, text
    calls = fake.calls_to(method, path)
    assert calls, f"{tool} did not call {method} {path}; saw {[(c.method, c.path) for c in fake.calls]}"
    sent = calls[-1]
    assert sent.query == query
    assert sent.body == body
    assert sent.headers["trakt-api-version"] == "2"
    assert sent.headers["trakt-api-key"] == SANDBOX_CLIENT_ID
    public = tool == "search_people" or arguments.get("mine") is False  # no OAuth: Trakt's public data
    assert sent.headers.get("authorization") == (None if public else f"Bearer {signed_in.access_token}")
    if body is not None:
        assert sent.headers["content-type"] == "application/json"
    for expected in texts:
        assert expected in text, text


async def test_list_writes_change_the_account_and_a_scrobble_stop_marks_watched(
    session: Session, fake: FakeTrakt, signed_in: Any
) -> None:
    async with session(elicitation_callback=Asked()) as client:
        await client.call_tool("create_user_list", {"name": "Dune night"})
        await client.call_tool(
            "add_to_user_list", {"list_id": "dune-night", "item_type": "movies", "items": ["585005"]}
        )
        await client.call_tool("scrobble", {"action": "stop", "progress": 85, "movie_id": "inception-2010"})
        paused = await client.call_tool("scrobble", {"action": "pause", "progress": 40, "movie_id": "120"})
    [created] = [pl for pl in fake.state.lists if pl.slug == "dune-night"]
    assert [(entry.kind, entry.trakt) for entry in created.items] == [("movie", 585005)]
    assert [play.action for play in fake.state.plays_of("movie", 16662)][-1] == "scrobble"
    assert any(p.trakt == 120 and p.progress == 40 for p in fake.state.playback)
    assert "Saved as a paused playback" in text_of(paused)


async def test_bad_arguments_send_nothing(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    bad = [
        ("fetch_calendar", {"days": 40}, "days: expected a number of days from 1 to 33"),
        ("fetch_calendar", {"start_date": "next week"}, "start_date: expected a date such as '2024-05-01'"),
        ("scrobble", {"action": "start", "progress": 120, "movie_id": "120"}, "progress: expected a percentage"),
        ("scrobble", {"action": "start", "progress": 1, "show_id": "1388"}, "give movie_id, or show_id with season"),
        ("create_user_list", {"name": "x", "privacy": "secret"}, "privacy: expected one of private, link"),
        ("update_user_list", {"list_id": "4001"}, "give at least one of name, description, privacy"),
        ("add_to_user_list", {"list_id": "4001", "item_type": "episodes", "items": ["pilot"]}, "episodes have no"),
    ]
    async with session() as client:
        for tool, arguments, message in bad:
            result = await client.call_tool(tool, arguments)
            assert result.is_error and message in text_of(result), (tool, text_of(result))
    assert not fake.calls


async def test_calendars_are_around_today_and_mine_keeps_my_shows(session: Session, signed_in: Any) -> None:
    async with session() as client:
        everyone = text_of(await client.call_tool("fetch_calendar", {"mine": False, "days": 33}))
        mine = text_of(await client.call_tool("fetch_calendar", {"days": 33}))
    assert f"{today()} + 33 days" in everyone and everyone.count("\n- ") >= 10
    assert "Game of Thrones" not in everyone  # ended shows air nothing new
    assert all("Severance" in line for line in mine.splitlines()[1:] if line.startswith("- "))
