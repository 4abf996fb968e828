"""Resources and resource templates. Each resource shows the same data as one tool, read with that tool's defaults, so a
policy on the tool covers the resource too (the guard learns the mapping from `RESOURCES`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.resources import FunctionResource
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import ValidationError

from trakt_mcp.tools.auth import auth_status
from trakt_mcp.tools.spec import ToolSpec, explain_validation_error
from trakt_mcp.trakt.errors import TraktError

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

#: Resource templates for what agents read most; each variable is an argument of the tool it mirrors, so the
#: tool's policy (hide, deny, conditions on arguments, confirm, limits) decides each read.
TEMPLATES: list[ResourceSpec] = [
    ResourceSpec(
        "trakt://shows/{show_id}",
        "show",
        "A show's summary (show_id: Trakt ID, slug or IMDB ID).",
        "fetch_show_summary",
    ),
    ResourceSpec(
        "trakt://movies/{movie_id}",
        "movie",
        "A movie's summary (movie_id: Trakt ID, slug or IMDB ID).",
        "fetch_movie_summary",
    ),
    ResourceSpec("trakt://shows/{show_id}/seasons/{season}", "season", "A season's episodes.", "fetch_season_episodes"),
    ResourceSpec(
        "trakt://shows/{show_id}/seasons/{season}/translations/{language}",
        "season_translations",
        "A season's title and overview in one language (a two-letter code such as 'es').",
        "fetch_season_translations",
    ),
    ResourceSpec(
        "trakt://user/progress/{show_id}",
        "show_progress",
        "Your watched progress on a show: what is next and what is left (needs sign-in).",
        "fetch_show_progress",
    ),
    *(
        ResourceSpec(
            f"trakt://{kind}/{chart}/{{period}}",
            f"{kind}_{chart}_by_period",
            f"{kind.title()} {CHART_RESOURCES[chart]} over a period: daily, weekly, monthly, yearly or all.",
            f"fetch_{chart}_{kind}",
        )
        for kind in ("shows", "movies")
        for chart in ("played", "watched")
    ),
]


def register(server: MCPServer, app: App, tools: dict[str, ToolSpec[Any]]) -> None:
    for resource in RESOURCES:
        if resource.tool in tools:
            server.add_resource(_function_resource(resource, app, tools[resource.tool]))
    for template in TEMPLATES:
        if template.tool in tools:
            server.resource(**_about(template))(_template_reader(template, app, tools[template.tool]))


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


def _about(template: ResourceSpec) -> dict[str, Any]:
    return {
        "uri": template.uri,
        "name": template.name,
        "description": template.description,
        "mime_type": "text/markdown",
    }


def _template_reader(template: ResourceSpec, app: App, tool: ToolSpec[Any]) -> Callable[..., Awaitable[str]]:
    """Reads the template as its tool with the URI's variables as arguments; a bad variable is the caller's
    mistake (-32602 naming it), a Trakt failure is shown as the resource's text, as for the fixed resources."""

    async def read(**variables: str) -> str:
        try:
            arguments = tool.parse({**template.arguments, **variables})
        except ValidationError as exc:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Invalid resource URI: {explain_validation_error(exc)}",
                data={"uriTemplate": template.uri},
            ) from None
        try:
            return await tool.run(app, arguments)
        except TraktError as exc:
            return f"Error: {exc}"

    variables = _variables(template.uri)
    read.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str) for name in variables]
    )
    read.__annotations__ = {name: str for name in variables} | {"return": str}
    return read


def _variables(uri_template: str) -> list[str]:
    return re.findall(r"{([a-z_]+)}", uri_template)
