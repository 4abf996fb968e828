"""List semantics through MCP: `page` given -> that page with its facts; omitted -> pages fetched until `limit`;
`limit=0` -> everything, capped; `max_pages` stops comment walks."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Session, text_of
from trakt_mcp.sandbox import FakeTrakt, community, data
from trakt_mcp.sandbox.routes import catalogue as routes
from trakt_mcp.tools import catalogue


def ids_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^- #(\d+) by", text, flags=re.MULTILINE)]


@pytest.fixture
def many_comments(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Severance gets 250 comments: three fake pages of 100. Returns their IDs, newest first."""
    extra = [community._comment(9000 + n, ("shows", 154997), n) for n in range(250)]
    for n, item in enumerate(extra):
        item["created_at"] = f"2020-01-01T00:{n // 60:02d}:{n % 60:02d}.000Z"
    monkeypatch.setattr(routes, "COMMENTS", [*community.COMMENTS, *extra])
    return [item["id"] for item in reversed(extra)]


async def test_a_given_page_is_that_page_with_its_facts(session: Session, fake: FakeTrakt) -> None:
    async with session() as client:
        text = text_of(await client.call_tool("fetch_popular_shows", {"page": 2, "limit": 5}))
    ranked = sorted(data.SHOWS, key=lambda s: s["rating"] * s["votes"], reverse=True)
    assert [c.query["page"] for c in fake.calls] == ["2"]
    assert f"- {ranked[5]['title']} (" in text and f"- {ranked[4]['title']} (" not in text
    assert "_Page 2 of 3, 12 items._" in text


async def test_without_page_it_walks_pages_up_to_limit(
    session: Session, fake: FakeTrakt, many_comments: list[int]
) -> None:
    async with session() as client:
        text = text_of(await client.call_tool("fetch_show_comments", {"show_id": "severance", "limit": 150}))
    assert sorted(c.query["page"] for c in fake.calls) == ["1", "2"]
    assert ids_in(text) == many_comments[:150]


async def test_limit_zero_fetches_everything_up_to_the_cap(
    session: Session, fake: FakeTrakt, many_comments: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "MAX_AUTO_ITEMS", 300)
    async with session() as client:
        text = text_of(await client.call_tool("fetch_show_comments", {"show_id": "severance", "limit": 0}))
    assert sorted(c.query["page"] for c in fake.calls) == ["1", "2", "3"]
    assert ids_in(text) == many_comments
    assert "Page 1 of 3, 250 items." in text and "safety cap" not in text


async def test_limit_zero_stops_at_the_safety_cap(session: Session, fake: FakeTrakt, many_comments: list[int]) -> None:
    """The cap is the reference server's: limit=0 means the first 100 items, one page of 100."""
    async with session() as client:
        text = text_of(await client.call_tool("fetch_show_comments", {"show_id": "severance", "limit": 0}))
    assert [(c.query["page"], c.query["limit"]) for c in fake.calls] == [("1", "100")]
    assert ids_in(text) == many_comments[:100]
    assert "Stopped at the safety cap" in text


async def test_max_pages_limits_the_walk(
    session: Session, fake: FakeTrakt, many_comments: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "MAX_AUTO_ITEMS", 300)
    async with session() as client:
        text = text_of(
            await client.call_tool("fetch_show_comments", {"show_id": "severance", "limit": 0, "max_pages": 2})
        )
    assert sorted(c.query["page"] for c in fake.calls) == ["1", "2"]
    assert ids_in(text) == many_comments[:200]
    assert "Stopped after max_pages=2" in text
