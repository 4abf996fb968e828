"""The catalogue cache and the caching hints: an agent that asks twice spends Trakt's rate limit once, as long as
Trakt's own Cache-Control allows, revalidating with its ETag; a signed-in user's answers are never kept; results of
the 2026-07-28 era carry `ttlMs` / `cacheScope`."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import types

from tests.conftest import FakeTime, Session, text_of
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.fake import PUBLIC_CACHE_CONTROL, Fault
from trakt_mcp.server.cache_hints import CATALOGUE_TTL_MS
from trakt_mcp.trakt.cache import MAX_FRESH, freshness


async def test_asking_twice_asks_trakt_once_then_revalidates_with_the_etag(
    session: Session, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    assert PUBLIC_CACHE_CONTROL == "public, max-age=300"
    async with session() as client:
        first = await client.call_tool("fetch_trending_shows", {"limit": 3})
        second = await client.call_tool("fetch_trending_shows", {"limit": 3})
        assert len(fake.calls_to("GET", "/shows/trending")) == 1
        fake_time.now += 301  # stale now: asked again, with the ETag, and Trakt says 304 Not Modified
        third = await client.call_tool("fetch_trending_shows", {"limit": 3})
        fourth = await client.call_tool("fetch_trending_shows", {"limit": 3})
    calls = fake.calls_to("GET", "/shows/trending")
    assert len(calls) == 2 and calls[1].headers["if-none-match"].startswith('W/"')
    assert text_of(first) == text_of(second) == text_of(third) == text_of(fourth)
    other = {"limit": 3, "page": 2}
    async with session() as client:
        await client.call_tool("fetch_trending_shows", other)
    assert len(fake.calls_to("GET", "/shows/trending")) == 3, "other arguments are another answer"


async def test_a_signed_in_users_answers_are_never_kept(session: Session, fake: FakeTrakt, signed_in: Any) -> None:
    async with session() as client:
        for _ in range(2):
            await client.call_tool("fetch_user_watchlist", {})
    assert len([c for c in fake.calls if c.path.startswith("/sync/watchlist")]) == 2


async def test_an_answer_trakt_says_not_to_store_is_asked_for_every_time(session: Session, fake: FakeTrakt) -> None:
    body = b'[{"watchers": 1, "show": {"title": "Fresh", "year": 2020, "ids": {"trakt": 1, "slug": "fresh"}}}]'
    fake.inject(Fault(status=200, body=body, headers={"Cache-Control": "no-store"}, path_prefix="/shows/trending"))
    async with session() as client:
        first = await client.call_tool("fetch_trending_shows", {"limit": 1})
        second = await client.call_tool("fetch_trending_shows", {"limit": 1})
    assert "Fresh" in text_of(first) and "Fresh" not in text_of(second)
    assert len(fake.calls_to("GET", "/shows/trending")) == 2


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("public, max-age=300", 300.0),
        ("public, s-maxage=60, max-age=300", 60.0),
        ("max-age=0, private, must-revalidate", 0.0),
        ("no-cache", 0.0),
        (None, 0.0),
        ("no-store", None),
        ("max-age=86400", MAX_FRESH),
    ],
)
def test_freshness_follows_cache_control(header: str | None, seconds: float | None) -> None:
    assert freshness(header) == seconds


async def test_modern_era_results_carry_caching_hints(session: Session) -> None:
    seen: dict[str, Any] = {}
    async with session(mode="auto") as client:
        seen["tools"] = await client.list_tools()
        seen["prompts"] = await client.list_prompts()
        seen["chart"] = await client.read_resource("trakt://shows/trending")
        seen["show"] = await client.read_resource("trakt://shows/breaking-bad")
        seen["mine"] = await client.read_resource("trakt://user/auth/status")
    hints = {name: (result.ttl_ms, result.cache_scope) for name, result in seen.items()}
    assert hints["tools"] == (300_000, "private")  # the list depends on the caller's policy
    assert hints["prompts"] == (300_000, "public")
    assert hints["chart"] == hints["show"] == (CATALOGUE_TTL_MS, "public")
    assert hints["mine"] == (0, "private")
    assert isinstance(seen["show"], types.ReadResourceResult)
