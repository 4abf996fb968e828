"""Resources and prompts. Each resource shows the same data as one tool, read with that tool's defaults, so a
policy on the tool covers the resource too (the guard learns the mapping from `RESOURCES`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.prompts import Prompt
from mcp.server.mcpserver.resources import FunctionResource

from trakt_mcp.errors import TraktError
from trakt_mcp.tools.auth import auth_status
from trakt_mcp.tools.spec import ToolSpec

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App


@dataclass(frozen=True)
class ResourceSpec:
    uri: str
    name: str
    description: str
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    #: A read-only view used instead of running `tool` (whose policy still covers it), when the tool has effects.
    read: Callable[[App], Awaitable[str]] | None = None


@dataclass(frozen=True)
class PromptSpec:
    name: str
    description: str
    text: str


#: The public charts offered as resources: trakt://shows/trending ... trakt://movies/anticipated.
CHART_RESOURCES = {
    "trending": "trending on Trakt now",
    "popular": "most popular on Trakt",
    "favorited": "most favorited this week",
    "played": "most played this week",
    "watched": "most watched this week",
    "anticipated": "most anticipated",
}

RESOURCES: list[ResourceSpec] = [
    *(
        ResourceSpec(f"trakt://{kind}/{chart}", f"{kind}_{chart}", f"{kind.title()} {what}.", f"fetch_{chart}_{kind}")
        for kind in ("shows", "movies")
        for chart, what in CHART_RESOURCES.items()
    ),
    ResourceSpec(
        "trakt://movies/boxoffice",
        "movies_boxoffice",
        "Top 10 movies at last weekend's US box office.",
        "fetch_boxoffice_movies",
    ),
    ResourceSpec(
        "trakt://user/auth/status",
        "auth_status",
        "Whether this server is signed in to Trakt, until when, and where the token is kept.",
        "check_auth_status",
        read=auth_status,
    ),
    *(
        ResourceSpec(
            f"trakt://user/watched/{kind}",
            f"user_watched_{kind}",
            f"Every {kind[:-1]} you have watched on Trakt, with plays (needs sign-in).",
            f"fetch_user_watched_{kind}",
        )
        for kind in ("shows", "movies")
    ),
]

PROMPTS: list[PromptSpec] = [
    PromptSpec(
        "discover_trending",
        "Discover trending movies and TV shows on Trakt.",
        "Show me what is trending on Trakt right now, both shows and movies (fetch_trending_shows and "
        "fetch_trending_movies). For the most interesting few, give the rating, genres and why they may be popular "
        "(fetch_show_summary / fetch_movie_summary), and keep the Trakt IDs so I can ask for more.",
    ),
    PromptSpec(
        "search_entertainment",
        "Search for a movie or TV show by title, then explore it.",
        "Help me find a movie or TV show by title. Ask me what I am looking for, search with search_shows or "
        "search_movies, confirm which result I mean, then show its details, ratings and similar titles "
        "(fetch_related_shows / fetch_related_movies).",
    ),
]


def register(server: MCPServer, app: App, tools: dict[str, ToolSpec[Any]]) -> None:
    for resource in RESOURCES:
        server.add_resource(_function_resource(resource, app, tools[resource.tool]))
    for prompt in PROMPTS:
        server.add_prompt(Prompt.from_function(_prompt_text(prompt), name=prompt.name, description=prompt.description))


def _function_resource(resource: ResourceSpec, app: App, tool: ToolSpec[Any]) -> FunctionResource:
    async def read() -> str:
        try:
            if resource.read is not None:
                return await resource.read(app)
            return await tool.run(app, tool.parse(resource.arguments))
        except TraktError as exc:
            return f"Error: {exc}"

    return FunctionResource.from_function(
        read, uri=resource.uri, name=resource.name, description=resource.description, mime_type="text/markdown"
    )


def _prompt_text(prompt: PromptSpec) -> Any:
    def render() -> str:
        return prompt.text

    return render
