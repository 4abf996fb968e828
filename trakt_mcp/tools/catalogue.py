"""The public catalogue: shows, movies, seasons, episodes, people, search and comments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from trakt_mcp.client import endpoint
from trakt_mcp.tools.format import bullet_list, media_line
from trakt_mcp.tools.params import Limit, PageNumber
from trakt_mcp.tools.spec import ToolArgs, ToolSpec

if TYPE_CHECKING:
    from trakt_mcp.app import App


class ListArgs(ToolArgs):
    limit: Limit = 10
    page: PageNumber = None


class SearchArgs(ToolArgs):
    query: Annotated[str, Field(min_length=1, max_length=200)]
    limit: Annotated[int, Field(ge=0, le=100)] = 10
    page: PageNumber = None


async def trending_shows(app: App, args: ListArgs) -> str:
    page = await app.client.paginate(endpoint("shows", "trending"), page=args.page, limit=args.limit)
    return bullet_list(
        "Trending shows", page.items, lambda row: media_line(row["show"], f"{row['watchers']} watching"), page
    )


async def search_shows(app: App, args: SearchArgs) -> str:
    page = await app.client.paginate(
        endpoint("search", "show"), params={"query": args.query}, page=args.page, limit=args.limit
    )
    return bullet_list(
        f"Shows matching “{args.query}”", page.items, lambda row: media_line(row["show"]), page, "No show matched."
    )


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="fetch_trending_shows",
        title="Trending shows",
        description="Shows being watched right now on Trakt, most watchers first.",
        group="shows",
        risk="read",
        args=ListArgs,
        run=trending_shows,
        endpoints=("GET /shows/trending",),
    ),
    ToolSpec(
        name="search_shows",
        title="Search shows",
        description="Find shows by title; gives the Trakt IDs other tools need.",
        group="search",
        risk="read",
        args=SearchArgs,
        run=search_shows,
        endpoints=("GET /search/show",),
    ),
]
