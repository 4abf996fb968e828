"""The user's own Trakt, write side: each write changes the fake's state exactly as asked and reports what Trakt did
(counts, not_found by the user's identifier); invalid items send nothing; effect sentences; check-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import types

from guard.gate import Admission, admitting
from tests.conftest import Session, text_of
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.state import SandboxState
from trakt_mcp.tools import tools_by_name

WRITE_METHODS = ("POST", "PUT", "DELETE")


class Asked:
    """An elicitation callback that accepts every confirmation and keeps the questions."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})


def movie_plays(state: SandboxState, trakt: int) -> int:
    return len(state.plays_of("movie", trakt))


def writes(fake: FakeTrakt) -> list[Any]:
    return [call for call in fake.calls if call.method in WRITE_METHODS]


Check = Callable[[SandboxState], bool]

#: tool, arguments, what must hold of the fake's state afterwards, texts the report must show.
WRITES: list[tuple[str, dict[str, Any], Check, list[str]]] = [
    (
        "add_user_ratings",
        {"rating_type": "movies", "items": [{"trakt_id": "16662", "rating": 8}, {"imdb_id": "tt0000111", "rating": 5}]},
        lambda s: s.ratings[("movie", 16662)].rating == 8 and len(s.ratings) == 3,
        ["Added: 1 movie", "item 2: movie with IMDB ID tt0000111"],
    ),
    (
        "add_user_ratings",
        {"rating_type": "shows", "items": [{"slug": "breaking-bad", "rating": 7}]},
        lambda s: s.ratings[("show", 1388)].rating == 7,
        ["Added: 1 show"],
    ),
    (
        "remove_user_ratings",
        {"rating_type": "movies", "items": [{"slug": "the-dark-knight-2008"}, {"trakt_id": "424242"}]},
        lambda s: ("movie", 120) not in s.ratings and ("show", 1388) in s.ratings,
        ["Deleted: 1 movie", "item 2: movie with Trakt ID 424242"],
    ),
    (
        "add_user_watchlist",
        {
            "watchlist_type": "movies",
            "items": [{"trakt_id": "120", "notes": "rewatch"}, {"slug": "dune-part-two-2024"}],
        },
        lambda s: (
            s.listed("movie", 120) is not None
            and s.listed("movie", 120).notes == "rewatch"  # type: ignore[union-attr]
            and len(s.watchlist) == 3
        ),
        ["Added: 1 movie", "Existing: 1 movie"],
    ),
    (
        "remove_user_watchlist",
        {"watchlist_type": "shows", "items": [{"imdb_id": "tt11280740"}, {"tvdb_id": "1"}]},
        lambda s: s.listed("show", 154997) is None and len(s.watchlist) == 1,
        ["Deleted: 1 show", "item 2: show with TVDB ID 1"],
    ),
    (
        "add_to_history",
        {
            "history_type": "movies",
            "items": [{"trakt_id": "120", "watched_at": "2024-06-01T21:00:00+02:00"}, {"tmdb_id": "999999999"}],
        },
        lambda s: movie_plays(s, 120) == 2 and any(p.watched_at == "2024-06-01T19:00:00.000Z" for p in s.history),
        ["Added: 1 movie", "item 2: movie with TMDB ID 999999999"],
    ),
    (
        "add_to_history",
        {"history_type": "episodes", "items": [{"trakt_id": "1388104"}, {"trakt_id": "1388105"}]},
        lambda s: len(s.plays_of("episode", 1388104)) == 1 and len(s.plays_of("episode", 1388105)) == 1,
        ["Added: 2 episodes"],
    ),
    (
        "remove_from_history",
        {"history_type": "movies", "items": [{"trakt_id": "120"}, {"slug": "inception-2010"}]},
        lambda s: movie_plays(s, 120) == 0 and movie_plays(s, 16662) == 0 and len(s.history) == 3,
        ["Deleted: 2 movies"],
    ),
    (
        "remove_from_history",
        {"history_type": "shows", "items": [{"trakt_id": "1388"}]},
        lambda s: all(p.kind == "movie" for p in s.history),
        ["Deleted: 3 episodes"],
    ),
    (
        "remove_playback_item",
        {"playback_id": 3001},
        lambda s: [p.id for p in s.playback] == [3002],
        ["removed paused playback 3001"],
    ),
    (
        "hide_movie_recommendation",
        {"movie_id": "spirited-away-2001"},
        lambda s: s.hidden_recommendations == {("movie", 19371)},
        ["no longer recommend Spirited Away (2001)"],
    ),
    (
        "hide_show_recommendation",
        {"show_id": "1390"},
        lambda s: s.hidden_recommendations == {("show", 1390)},
        ["no longer recommend Game of Thrones (2011)"],
    ),
]


@pytest.mark.parametrize(("tool", "arguments", "check", "texts"), WRITES)
async def test_writes_change_state_exactly_and_report_what_trakt_did(
    session: Session,
    fake: FakeTrakt,
    signed_in: Any,
    tool: str,
    arguments: dict[str, Any],
    check: Check,
    texts: list[str],
) -> None:
    async with session(elicitation_callback=Asked()) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert not result.is_error, text
    assert check(fake.state), fake.state
    for expected in texts:
        assert expected in text
    assert len(writes(fake)) == 1


@pytest.mark.parametrize("kind", ["movie", "show"])
async def test_unhide_brings_a_recommendation_back(
    session: Session, fake: FakeTrakt, signed_in: Any, kind: str
) -> None:
    item = {
        "movie": ("movie_id", "19371", 19371, "spirited-away-2001"),
        "show": ("show_id", "game-of-thrones", 1390, "game-of-thrones"),
    }[kind]
    fake.state.hidden_recommendations.add((kind, item[2]))
    async with session() as client:
        before = text_of(await client.call_tool(f"fetch_{kind}_recommendations", {"limit": 50}))
        result = await client.call_tool(f"unhide_{kind}_recommendation", {item[0]: item[1]})
        again = await client.call_tool(f"unhide_{kind}_recommendation", {item[0]: item[1]})
        after = text_of(await client.call_tool(f"fetch_{kind}_recommendations", {"limit": 50}))
    assert f"Deleted: 1 {kind}" in text_of(result)
    assert "Trakt changed nothing" in text_of(again)
    assert fake.state.hidden_recommendations == set()
    assert f"`{item[3]}`" not in before
    assert f"`{item[3]}`" in after


async def test_the_sync_body_carries_ids_and_fields_as_trakt_wants(
    session: Session, fake: FakeTrakt, signed_in: Any
) -> None:
    items = [{"imdb_id": "tt0468569", "year": 2008, "watched_at": "2024-01-02T03:04:05Z"}]
    async with session() as client:
        await client.call_tool("add_to_history", {"history_type": "movies", "items": items})
    (call,) = fake.calls_to("POST", "/sync/history")
    assert call.body == {
        "movies": [{"ids": {"imdb": "tt0468569"}, "year": 2008, "watched_at": "2024-01-02T03:04:05.000Z"}]
    }


#: tool, arguments, the error must name the item and field and what was expected.
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("add_user_ratings", {"rating_type": "movies", "items": []}, "items: List should have at least 1 item"),
    (
        "add_user_ratings",
        {"rating_type": "movies", "items": [{"trakt_id": "120", "rating": 9}, {"trakt_id": "16662", "rating": 11}]},
        "items.1.rating",
    ),
    ("add_user_ratings", {"rating_type": "movies", "items": [{"trakt_id": "120", "rating": 0}]}, "items.0.rating"),
    (
        "add_user_ratings",
        {"rating_type": "movies", "items": [{"year": 2008, "rating": 9}]},
        "items.0: expected at least one ID",
    ),
    ("remove_user_ratings", {"rating_type": "movies", "items": [{"trakt_id": "the-dark-knight"}]}, "items.0.trakt_id"),
    ("remove_user_ratings", {"rating_type": "films", "items": [{"trakt_id": "120"}]}, "rating_type"),
    (
        "add_user_watchlist",
        {"watchlist_type": "movies", "items": [{"trakt_id": "120", "notes": "x" * 501}]},
        "items.0.notes",
    ),
    ("add_user_watchlist", {"watchlist_type": "movies", "items": [{"imdb_id": "0468569"}]}, "items.0.imdb_id"),
    ("add_user_watchlist", {"watchlist_type": "movies", "items": [{"trakt_id": "120", "rating": 9}]}, "items.0.rating"),
    (
        "remove_user_watchlist",
        {"watchlist_type": "movies", "items": [{"trakt_id": str(n)} for n in range(1, 102)]},
        "at most 100 items",
    ),
    (
        "add_to_history",
        {
            "history_type": "movies",
            "items": [{"trakt_id": "120"}, {"trakt_id": "16662", "watched_at": "2999-01-01T00:00:00Z"}],
        },
        "items.1.watched_at: expected a time that is not in the future",
    ),
    (
        "add_to_history",
        {"history_type": "movies", "items": [{"trakt_id": "120", "watched_at": "yesterday"}]},
        "items.0.watched_at: expected an ISO 8601 date-time",
    ),
    ("remove_from_history", {"history_type": "movies", "items": [{"slug": "../../oauth"}]}, "items.0.slug"),
    (
        "add_to_history",
        {"history_type": "episodes", "items": [{"trakt_id": "1388101"}, {"slug": "breaking-bad"}]},
        "items.1.slug: episodes have no slug at Trakt; use trakt_id, imdb_id, tmdb_id, tvdb_id",
    ),
    ("add_user_ratings", {"rating_type": "seasons", "items": [{"imdb_id": "tt0903747", "rating": 8}]}, "items.0.imdb"),
    ("add_user_watchlist", {"watchlist_type": "movies", "items": [{"tvdb_id": "81189"}]}, "movies have no TVDB ID"),
    ("remove_playback_item", {"playback_id": 0}, "playback_id"),
    ("hide_movie_recommendation", {"movie_id": "../users"}, "movie_id"),
    ("unhide_show_recommendation", {"show_id": ""}, "show_id"),
    ("checkin_to_show", {"season": 1, "episode": 1}, "give show_id, or show_title"),
    ("checkin_to_show", {"show_id": "1388", "season": 1, "episode": 0}, "episode"),
]


@pytest.mark.parametrize(("tool", "arguments", "problem"), INVALID)
async def test_invalid_items_change_nothing_and_send_nothing(
    session: Session, fake: FakeTrakt, signed_in: Any, tool: str, arguments: dict[str, Any], problem: str
) -> None:
    before = repr(fake.state)
    async with session(elicitation_callback=Asked()) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert problem in text_of(result)
    assert "nothing was sent" in text_of(result)
    assert not writes(fake)
    assert repr(fake.state) == before


async def test_removing_an_unknown_playback_says_so_and_asks_nobody(
    session: Session, fake: FakeTrakt, signed_in: Any
) -> None:
    asked = Asked()
    async with session(elicitation_callback=asked) as client:
        result = await client.call_tool("remove_playback_item", {"playback_id": 999})
    assert result.is_error
    assert "no paused playback 999; nothing to remove, so nobody was asked" in text_of(result)
    assert asked.questions == []
    assert len(fake.state.playback) == 2


#: tool, arguments, the exact effect sentence the guard shows.
EFFECTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "add_user_ratings",
        {"rating_type": "movies", "items": [{"trakt_id": "120", "rating": 9}, {"tmdb_id": "27205", "rating": 7}]},
        "Rate on Trakt (2 items): The Dark Knight (2008) 9/10, movie with TMDB ID 27205 7/10",
    ),
    (
        "remove_user_ratings",
        {"rating_type": "shows", "items": [{"slug": "breaking-bad"}]},
        "Remove your ratings of (1 item): Breaking Bad (2008)",
    ),
    (
        "add_user_watchlist",
        {"watchlist_type": "movies", "items": [{"imdb_id": "tt1375666", "notes": "with Sam"}]},
        'Add to your watchlist (1 item): Inception (2010) (note: "with Sam")',
    ),
    (
        "remove_user_watchlist",
        {"watchlist_type": "episodes", "items": [{"trakt_id": "1388101"}]},
        "Remove from your watchlist (1 item): episode with Trakt ID 1388101",
    ),
    (
        "add_to_history",
        {
            "history_type": "movies",
            "items": [{"trakt_id": "120", "watched_at": "2024-05-01T22:00:00+02:00"}, {"trakt_id": "16662"}],
        },
        "Add to your watch history (2 items): The Dark Knight (2008) watched 2024-05-01 20:00 UTC, "
        "Inception (2010) watched now",
    ),
    (
        "remove_from_history",
        {"history_type": "movies", "items": [{"trakt_id": "120"}, {"slug": "inception-2010"}]},
        "Remove from your watch history (2 items): The Dark Knight (2008), Inception (2010)",
    ),
    (
        "remove_from_history",
        {"history_type": "movies", "items": [{"trakt_id": "999999"}]},
        "Remove from your watch history (1 item): movie with Trakt ID 999999",
    ),
    (
        "remove_playback_item",
        {"playback_id": 3002},
        "Remove the paused playback of Breaking Bad (2008) S01E04 Cancer Man at 12% (playback_id 3002)",
    ),
    ("remove_playback_item", {"playback_id": 77}, "Remove paused playback 77 from your Trakt playback progress"),
    ("hide_movie_recommendation", {"movie_id": "19371"}, "Hide from your movie recommendations: Spirited Away (2001)"),
    ("hide_show_recommendation", {"show_id": "severance"}, "Hide from your show recommendations: Severance (2022)"),
    (
        "unhide_movie_recommendation",
        {"movie_id": "tt0245429"},
        "Allow again in your movie recommendations: Spirited Away (2001)",
    ),
    (
        "unhide_show_recommendation",
        {"show_id": "1390"},
        "Allow again in your show recommendations: Game of Thrones (2011)",
    ),
    (
        "checkin_to_show",
        {"show_id": "1388", "season": 1, "episode": 4, "share_mastodon": True, "message": "Here we go"},
        'Check in on Trakt to Breaking Bad (2008) S01E04, shared to Mastodon, with the message "Here we go"',
    ),
    (
        "checkin_to_show",
        {"show_title": "game of thrones", "season": 1, "episode": 2},
        "Check in on Trakt to Game of Thrones (2011) S01E02",
    ),
]


@pytest.mark.parametrize(("tool", "arguments", "sentence"), EFFECTS)
async def test_effect_sentences(
    app: App, fake: FakeTrakt, signed_in: Any, tool: str, arguments: dict[str, Any], sentence: str
) -> None:
    before = repr(fake.state)
    with admitting(Admission(tool, None, "ask")):  # as the guard describes a call it asks about (guard.gate)
        assert await tools_by_name()[tool].describe(app, arguments) == sentence
    assert not writes(fake)
    assert repr(fake.state) == before


def test_every_write_tool_declares_an_effect() -> None:
    tools = tools_by_name()
    covered = {tool for tool, _, _ in EFFECTS}
    for name in covered:
        assert tools[name].effect is not None
        assert tools[name].risk in ("write", "destructive")
    assert covered == {
        name
        for name, spec in tools.items()
        if spec.risk in ("write", "destructive") and spec.group in ("sync", "recommendations", "checkin")
    }


async def test_the_guard_asks_with_the_effect_sentence(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    asked = Asked()
    arguments = {"history_type": "movies", "items": [{"trakt_id": "120"}, {"slug": "inception-2010"}]}
    async with session(elicitation_callback=asked) as client:
        result = await client.call_tool("remove_from_history", arguments)
    assert not result.is_error
    assert asked.questions
    assert asked.questions[0].startswith(
        "Remove from your watch history (2 items): The Dark Knight (2008), Inception (2010)"
    )


async def test_checkin_by_title_then_409_says_until_when(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    async with session() as client:
        first = await client.call_tool(
            "checkin_to_show", {"show_title": "Breaking Bad", "show_year": 2008, "season": 1, "episode": 4}
        )
        second = await client.call_tool("checkin_to_show", {"show_id": "game-of-thrones", "season": 1, "episode": 1})
    assert not first.is_error, text_of(first)
    assert "Checked in on Trakt: Breaking Bad (2008) S01E04 “Cancer Man”" in text_of(first)
    assert fake.state.checkin is not None and fake.state.checkin.episode == 1388104
    post = fake.calls_to("POST", "/checkin")[0]
    assert post.body["show"]["ids"] == {
        "trakt": 1388,
        "slug": "breaking-bad",
        "imdb": "tt0903747",
        "tmdb": 1396,
        "tvdb": 81189,
    }
    assert post.body["episode"] == {"season": 1, "number": 4}
    assert "message" not in post.body, "no message given: Trakt must fall back to the user's own sharing text"
    assert second.is_error
    assert "a check-in is already in progress until" in text_of(second)
    assert fake.state.checkin.episode == 1388104


async def test_checkin_with_an_ambiguous_title_lists_candidates_and_sends_nothing(
    session: Session, fake: FakeTrakt, signed_in: Any
) -> None:
    async with session() as client:
        result = await client.call_tool("checkin_to_show", {"show_title": "the", "season": 1, "episode": 1})
        unknown = await client.call_tool("checkin_to_show", {"show_title": "No Such Show", "season": 1, "episode": 1})
    text = text_of(result)
    assert result.is_error
    assert "Several shows match" in text and "The Office (2005): show_id 1391" in text
    assert unknown.is_error and "No show on Trakt matches" in text_of(unknown)
    assert not writes(fake)
    assert fake.state.checkin is None


async def test_checkin_shares_and_records_a_history_play(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    async with session() as client:
        result = await client.call_tool(
            "checkin_to_show", {"show_id": "1390", "season": 1, "episode": 2, "share_tumblr": True, "message": "hi"}
        )
    assert "Shared to Tumblr" in text_of(result)
    (post,) = fake.calls_to("POST", "/checkin")
    assert post.body["sharing"] == {"twitter": False, "mastodon": False, "tumblr": True}
    assert post.body["message"] == "hi"
    assert [p.action for p in fake.state.plays_of("episode", 1390102)] == ["checkin"]
