from tests.conftest import Session, text_of
from trakt_mcp.sandbox import FakeTrakt


async def test_trending_through_mcp(session: Session, fake: FakeTrakt) -> None:
    async with session() as client:
        result = await client.call_tool("fetch_trending_shows", {"limit": 2})
    assert not result.is_error
    assert "Breaking Bad" in text_of(result)
    assert fake.calls[-1].path == "/shows/trending"
