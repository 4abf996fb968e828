"""Prompts, their arguments, and exact answers to `prompts/get`: an unknown prompt, an unknown or missing argument
and a bad value are each a JSON-RPC -32602 error naming what was wrong (the SDK answers these with code 0 and a
traceback on stderr, so prompts/get is served here instead)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp import types
from mcp.server.mcpserver.prompts import Prompt
from mcp.server.mcpserver.prompts.base import PromptArgument
from mcp.shared.exceptions import MCPError

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext
    from mcp.server.mcpserver import MCPServer

MAX_ARGUMENT_LENGTH = 200


@dataclass(frozen=True)
class PromptArg:
    name: str
    description: str
    required: bool = False
    #: The values it may take (offered as completions too); empty = any text up to MAX_ARGUMENT_LENGTH.
    choices: tuple[str, ...] = ()
    #: What completes it: "title" (show and movie titles from Trakt search), else `choices`.
    completes: str = ""


@dataclass(frozen=True)
class PromptSpec:
    name: str
    description: str
    render: Callable[[Mapping[str, str]], str]
    arguments: tuple[PromptArg, ...] = ()


def _discover(arguments: Mapping[str, str]) -> str:
    kind = arguments.get("kind", "both")
    tools = {
        "shows": "fetch_trending_shows",
        "movies": "fetch_trending_movies",
        "both": "fetch_trending_shows and fetch_trending_movies",
    }[kind]
    what = {"shows": "TV shows", "movies": "movies", "both": "both shows and movies"}[kind]
    return (
        f"Show me what is trending on Trakt right now, {what} ({tools}). For the most interesting few, give the "
        "rating, genres and why they may be popular (fetch_show_summary / fetch_movie_summary), and keep the Trakt "
        "IDs so I can ask for more."
    )


def _search(arguments: Mapping[str, str]) -> str:
    query = arguments.get("query")
    explore = (
        "confirm which result I mean, then show its details, ratings and similar titles (fetch_related_shows / "
        "fetch_related_movies)."
    )
    if not query:
        return (
            "Help me find a movie or TV show by title. Ask me what I am looking for, search with search_shows or "
            f"search_movies, {explore}"
        )
    return f"Help me find the movie or TV show titled {query!r}: search with search_shows and search_movies, {explore}"


PROMPTS: list[PromptSpec] = [
    PromptSpec(
        "discover_trending",
        "Discover trending movies and TV shows on Trakt.",
        _discover,
        (
            PromptArg(
                "kind", "What to look at: shows, movies or both (default both).", choices=("shows", "movies", "both")
            ),
        ),
    ),
    PromptSpec(
        "search_entertainment",
        "Search for a movie or TV show by title, then explore it.",
        _search,
        (PromptArg("query", "The title to look for (optional: without it, the agent asks).", completes="title"),),
    ),
]
PROMPTS_BY_NAME = {prompt.name: prompt for prompt in PROMPTS}


class GetPromptParams(types.RequestParams):
    """prompts/get params, with argument values of any JSON type so that a wrong one is named, not just refused."""

    name: str
    arguments: dict[str, Any] | None = None


def invalid(message: str, **data: Any) -> MCPError:
    return MCPError(code=types.INVALID_PARAMS, message=message, data=data or None)


def checked_arguments(prompt: PromptSpec, arguments: Mapping[str, Any]) -> dict[str, str]:
    declared = {argument.name: argument for argument in prompt.arguments}
    expected = ", ".join(declared) or "none"
    for name in arguments:
        if name not in declared:
            raise invalid(
                f"Invalid arguments for prompt {prompt.name}: {name!r} is not an argument of it (expected: {expected})",
                argument=name,
            )
    values: dict[str, str] = {}
    for argument in prompt.arguments:
        value = arguments.get(argument.name)
        if value is None:
            if argument.required:
                raise invalid(
                    f"Invalid arguments for prompt {prompt.name}: {argument.name}: required", argument=argument.name
                )
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ARGUMENT_LENGTH:
            problem = f"expected text of 1 to {MAX_ARGUMENT_LENGTH} characters"
            raise invalid(
                f"Invalid arguments for prompt {prompt.name}: {argument.name}: {problem}", argument=argument.name
            )
        if argument.choices and value not in argument.choices:
            problem = f"expected one of {', '.join(argument.choices)} (got {value[:40]!r})"
            raise invalid(
                f"Invalid arguments for prompt {prompt.name}: {argument.name}: {problem}", argument=argument.name
            )
        values[argument.name] = value.strip()
    return values


async def get_prompt(ctx: ServerRequestContext[Any, Any], params: GetPromptParams) -> types.GetPromptResult:
    prompt = PROMPTS_BY_NAME.get(params.name)
    if prompt is None:
        raise invalid(f"Unknown prompt: {params.name[:100]}", name=params.name[:100])
    text = prompt.render(checked_arguments(prompt, params.arguments or {}))
    message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
    return types.GetPromptResult(description=prompt.description, messages=[message])


def register(server: MCPServer) -> None:
    for prompt in PROMPTS:
        arguments = [
            PromptArgument(name=a.name, description=a.description, required=a.required) for a in prompt.arguments
        ]
        server.add_prompt(
            Prompt.model_validate(
                {"name": prompt.name, "description": prompt.description, "arguments": arguments, "fn": prompt.render}
            )
        )
    server._lowlevel_server.add_request_handler("prompts/get", GetPromptParams, get_prompt)
