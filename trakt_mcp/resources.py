"""Resources and prompts. Each resource shows the same data as one tool, read with that tool's defaults, so a
policy on the tool covers the resource too (the guard learns the mapping from `RESOURCES`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.prompts import Prompt
from mcp.server.mcpserver.resources import FunctionResource

from trakt_mcp.errors import TraktError
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


@dataclass(frozen=True)
class PromptSpec:
    name: str
    description: str
    text: str


RESOURCES: list[ResourceSpec] = [
    ResourceSpec("trakt://shows/trending", "shows_trending", "Shows trending on Trakt now.", "fetch_trending_shows"),
]

PROMPTS: list[PromptSpec] = []


def register(server: MCPServer, app: App, tools: dict[str, ToolSpec[Any]]) -> None:
    for resource in RESOURCES:
        server.add_resource(_function_resource(resource, app, tools[resource.tool]))
    for prompt in PROMPTS:
        server.add_prompt(Prompt.from_function(_prompt_text(prompt), name=prompt.name, description=prompt.description))


def _function_resource(resource: ResourceSpec, app: App, tool: ToolSpec[Any]) -> FunctionResource:
    async def read() -> str:
        try:
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
