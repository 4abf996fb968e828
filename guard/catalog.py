"""What the guard knows of the server it guards: its tools (name, group, risk class), which tool each resource
exposes, and callbacks for effect sentences, canonical arguments and readiness (can this call act at all now?). The
host builds one; the guard needs nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.shared.uri_template import UriTemplate

#: Risk classes a policy can name as `@read`, `@write`, `@destructive`, `@auth`.
RISKS = ("read", "write", "destructive", "auth")

Describe = Callable[[str, dict[str, Any]], Awaitable[str]]
#: The canonical arguments the tool's handler will receive (validated, normalised, defaults filled in); raises
#: InvalidArguments naming the argument and what was expected. The guard judges exactly what it returns and hands
#: exactly that to the handler, so a condition never sees a different value than the tool uses.
Normalize = Callable[[str, dict[str, Any]], dict[str, Any]]


class InvalidArguments(ValueError):
    """The arguments cannot be made canonical; the message names the argument and what was expected."""


@dataclass(frozen=True)
class NotReady:
    """Why a call cannot act now, whatever anyone answers (not signed in, nothing to act on, no such target).
    The guard says so and asks nobody. `error` False: the message is a plain answer ("Nothing to clear")."""

    message: str
    error: bool = True


#: Returns None when the call could act now, else why not. Asked before anyone is asked to confirm it.
Ready = Callable[[str, dict[str, Any]], Awaitable[NotReady | None]]


@dataclass(frozen=True)
class ToolInfo:
    name: str
    group: str
    risk: str
    title: str = ""
    #: The tool's JSON Schema for its arguments; policy conditions on arguments are checked against it.
    input_schema: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ResourceInfo:
    """A resource that shows the same data as `tool` (read with `arguments`), so it follows that tool's rule.
    In `Catalog.templates`, `uri` is an RFC 6570 template whose variables are more of the tool's arguments
    (`trakt://shows/{show_id}`): a read is judged as the tool called with them, conditions included."""

    uri: str
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


async def _title_only(tool: str, arguments: dict[str, Any]) -> str:
    return f"Run {tool}"


@dataclass(frozen=True)
class Catalog:
    tools: Mapping[str, ToolInfo]
    resources: Mapping[str, ResourceInfo] = field(default_factory=dict)
    describe: Describe = _title_only
    normalize: Normalize | None = None
    ready: Ready | None = None
    templates: Mapping[str, ResourceInfo] = field(default_factory=dict)
    #: Groups of tools that act on the owner's own set-up (e.g. signing the server in to an account): hidden from
    #: every identity (a caller over HTTP) unless a rule of that identity's names the tool (guard.engine).
    owner_only: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        tools: Iterable[ToolInfo],
        resources: Iterable[ResourceInfo] = (),
        *,
        describe: Describe | None = None,
        normalize: Normalize | None = None,
        ready: Ready | None = None,
        templates: Iterable[ResourceInfo] = (),
        owner_only: Iterable[str] = (),
    ) -> Catalog:
        tool_map = {tool.name: tool for tool in tools}
        resource_map = {resource.uri: resource for resource in resources}
        template_map = {template.uri: template for template in templates}
        for resource in (*resource_map.values(), *template_map.values()):
            if resource.tool not in tool_map:
                raise ValueError(f"resource {resource.uri} names unknown tool {resource.tool!r}")
        return cls(
            tool_map, resource_map, describe or _title_only, normalize, ready, template_map, frozenset(owner_only)
        )

    def resource_for(self, uri: str) -> tuple[ResourceInfo, dict[str, Any]] | None:
        """The resource or template a URI reads, and the tool arguments that read means; None when none does."""
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, dict(resource.arguments)
        for template in self.templates.values():
            matched = _template(template.uri).match(uri)
            if matched is not None:
                return template, {**template.arguments, **matched}
        return None

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(tool.group for tool in self.tools.values())


@cache
def _template(uri_template: str) -> UriTemplate:
    from mcp.shared.uri_template import UriTemplate  # only when templates are read: `guard.policy` stays SDK-free

    return UriTemplate.parse(uri_template)
