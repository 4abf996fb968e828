"""How a tool is declared: one ToolSpec holds its name, title, group, risk class, endpoint, arguments and handler.

Everything tools share (argument validation, error mapping, annotations, the published schema) lives here, so a
tool module is a list of declarations and small handlers, never a copy of this plumbing.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import ToolAnnotations
from pydantic import ConfigDict, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema

from trakt_mcp.terminal import excerpt
from trakt_mcp.trakt.errors import TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App

Risk = Literal["read", "write", "destructive", "auth"]
Group = Literal[
    "shows",
    "movies",
    "seasons",
    "episodes",
    "people",
    "search",
    "comments",
    "user",
    "sync",
    "progress",
    "recommendations",
    "checkin",
    "auth",
    "calendar",
    "lists",
    "api",
]


class ToolArgs(ArgModelBase):
    """Base of every tool's argument model. Unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class NoArgs(ToolArgs):
    pass


A = TypeVar("A", bound=ToolArgs)
Handler = Callable[["App", A], Awaitable[str]]


@dataclass(frozen=True)
class Unready:
    """Why a call cannot do anything now (no such target, nothing to clear). The guard says so instead of asking
    anyone to confirm it; `error` False when it is a plain answer rather than a failure."""

    message: str
    error: bool = True


Ready = Callable[["App", A], Awaitable[Unready | None]]


@dataclass(frozen=True)
class ToolSpec(Generic[A]):
    """One tool, declared once.

    `endpoints` lists everything the tool may call at Trakt ("GET /shows/{id}"; `{name?}`: a segment that may be
    left out), and is enforced: the guard's gate lets a call of this tool reach these and nothing else
    (trakt_mcp.trakt.gate). `effect`, for write tools, says in one human sentence what a call will change;
    the guard shows it when it asks a person to confirm; `ready` says when a call could not act at all (nothing
    to remove), so nobody is asked to approve it.
    """

    name: str
    title: str
    description: str
    group: Group
    risk: Risk
    args: type[A]
    run: Handler[A]
    endpoints: tuple[str, ...] = ()
    #: The tool answers from the server's own data and calls Trakt not at all (its admission reaches nothing).
    offline: bool = False
    effect: Handler[A] | None = None
    idempotent: bool | None = None
    #: For tools a policy may confirm: can this call act at all now? Checked before anyone is asked.
    ready: Ready[A] | None = None
    #: A generic tool (call_trakt_api): the guard judges each call by the Trakt endpoint it reaches.
    routed: bool = False

    @property
    def annotations(self) -> ToolAnnotations:
        """The MCP hints, without the ones that cost context and say nothing. Every tool talks to Trakt, so
        openWorldHint is true, which is the spec's default and is left unsaid. A read-only tool publishes
        readOnlyHint alone: the spec gives destructiveHint and idempotentHint meaning only when readOnlyHint is
        false. Every other tool states readOnlyHint, destructiveHint and idempotentHint. The title is the tool's."""
        if self.risk == "read":
            return ToolAnnotations(read_only_hint=True)
        return ToolAnnotations(
            read_only_hint=False,
            destructive_hint=self.risk == "destructive",
            idempotent_hint=bool(self.idempotent),
        )

    def parse(self, arguments: dict[str, Any]) -> A:
        """Validate raw arguments into the model (raises pydantic.ValidationError naming the field)."""
        return self.args.model_validate(arguments)

    def canonical(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments exactly as the handler will use them: validated, normalised (IDs trimmed, numbers
        without leading zeros), every default filled in, as JSON values. Parsing them again gives the same values,
        so the guard judges, and the handler receives, this one result. (model_validate and model_dump without
        their Python wrappers: the guard canonicalises every call's arguments.)"""
        parsed = self.args.__pydantic_validator__.validate_python(arguments)
        return self.args.__pydantic_serializer__.to_python(parsed, mode="json", by_alias=True)  # type: ignore[no-any-return]

    async def describe(self, app: App, arguments: dict[str, Any]) -> str:
        """The effect sentence for these arguments (the title when the tool declares none)."""
        if self.effect is None:
            return self.title
        return await self.effect(app, self.parse(arguments))

    def to_sdk_tool(self, app: App) -> Tool:
        spec = self

        async def call(ctx: Context, **validated: Any) -> str:
            try:
                return await spec.run(app, spec.args.model_construct(**validated))
            except TraktError as exc:
                raise ToolError(str(exc)) from None

        return _SpecTool(
            fn=call,
            name=self.name,
            title=self.title,
            description=self.description,
            parameters=published_schema(self.args),
            fn_metadata=FuncMetadata(arg_model=self.args),
            is_async=True,
            context_kwarg="ctx",
            annotations=self.annotations,
        )


def explain_validation_error(exc: ValidationError) -> str:
    """'limit: expected 0 or more (got -1); period: Input should be 'daily', 'weekly', ...' — one clause per field."""
    clauses = []
    for problem in exc.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "arguments"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            clauses.append(f"{where}: required")
        elif problem["type"] == "extra_forbidden":
            clauses.append(f"{where}: not an argument of this tool")
        else:
            clauses.append(f"{where}: {message} (got {excerpt(problem.get('input'))})")
    return "; ".join(clauses)


class _SpecTool(Tool):
    """A Tool whose argument errors read as one clear sentence per field, without pydantic's boilerplate."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            self.fn_metadata.arg_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(f"Invalid arguments, nothing was sent: {explain_validation_error(exc)}") from None
        return await super().run(arguments, context, convert_result)


class _CompactSchema(GenerateJsonSchema):
    """JSON Schema as small as it can be while saying the same: every token here is context the agent pays for.

    Auto-generated titles (they repeat the field names) are dropped. The schema is portable to single-type
    dialects (Gemini function declarations, OpenAPI 3.0 tooling): `anyOf: [{type: X, ...}, {type: null}]` becomes
    `{type: X, ...}` and `default: null` is left out, so an optional argument without a default is simply not
    required; the model still accepts an explicit null. `additionalProperties: false` is not published: unknown
    arguments are still refused, by the model, with an error naming them.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        result: JsonSchemaValue = _compact(super().generate(schema, mode))
        for shape in (result, *result.get("$defs", {}).values()):
            shape.pop("title", None)
            shape.pop("additionalProperties", None)
            for field in shape.get("properties", {}).values():
                if field.get("default", ...) is None:
                    del field["default"]
        return result


def _compact(node: Any) -> Any:
    """Drop the `null` branch of every `anyOf` (a single remaining branch replaces the `anyOf` itself) and
    `additionalProperties: true`, which JSON Schema assumes anyway."""
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _compact(value) for key, value in node.items() if (key, value) != ("additionalProperties", True)}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        kept = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        node = {**kept[0], **node} if len(kept) == 1 else {**node, "anyOf": kept}
    return node


def published_schema(model: type[ToolArgs]) -> dict[str, Any]:
    """The input schema agents see (a fresh copy: the server and the guard each keep one)."""
    return copy.deepcopy(_schema_of(model))


@functools.cache
def _schema_of(model: type[ToolArgs]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True, schema_generator=_CompactSchema)
