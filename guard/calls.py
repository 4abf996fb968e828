"""What one guarded request is: the tool it acts on (its subject), what the gate concluded (its verdict), and small
readers of the MCP request and result that the middleware needs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.server.context import HandlerResult, ServerRequestContext

from guard.catalog import Catalog
from guard.engine import Decision, Outcome, View
from guard.shadow_calls import Would

Context = ServerRequestContext[Any, Any]


@dataclass
class Verdict:
    """What the gate concluded: `message is None` means run (with `params`); else answer with the message."""

    decision: str
    outcome: Outcome | None
    message: str | None = None
    params: dict[str, Any] | None = None
    unknown: bool = False
    reply: types.Result | None = None
    #: The approval channel that answered or holds the question, and who answered ("owner" or "host").
    channel: str | None = None
    answered_by: str | None = None
    #: False: the message is a plain answer, not an error ("Nothing to clear").
    error: bool = True


@dataclass
class Subject:
    """The tool a request acts on: a tools/call, or the tool a resources/read exposes."""

    raw_name: str
    arguments: dict[str, Any]
    params: dict[str, Any]
    resource: str | None = None
    #: The arguments as the caller sent them (what the audit records), once `arguments` are the canonical ones.
    sent: dict[str, Any] | None = None
    #: What the shadow rules would have done with this call (audited only).
    would: Would | None = None

    def canonical(self, catalog: Catalog, tool: str) -> None:
        """Replace the arguments with the canonical ones the handler will receive (one parse, shared by the
        conditions, the approval binding and the handler); raises InvalidArguments."""
        if catalog.normalize is None:
            return
        canonical = catalog.normalize(tool, self.arguments)
        self.sent = self.arguments if self.sent is None else self.sent
        self.arguments = canonical
        if self.resource is None:
            self.params = {**self.params, "arguments": self.arguments}


def where(outcome: Outcome) -> str:
    where = "the policy default" if outcome.rule == "default" else f"policy rule {outcome.rule}"
    return f"{where} ({outcome.condition})" if outcome.condition else where


def client_name(ctx: Context) -> str | None:
    client = ctx.session.client_params
    if client is not None:
        return client.client_info.name
    meta = (ctx.params or {}).get("_meta") or {}
    info = meta.get("io.modelcontextprotocol/clientInfo") if isinstance(meta, Mapping) else None
    return info.get("name") if isinstance(info, Mapping) else None


def is_error(result: HandlerResult) -> bool:
    if isinstance(result, Mapping):
        return bool(result.get("isError"))
    return bool(getattr(result, "is_error", False))


#: A result's field names on the wire, where they differ from the SDK model's.
WIRE_NAMES = {"uri_template": "uriTemplate"}


def visible_templates(view: View) -> frozenset[str]:
    """A resource template is visible exactly when the tool it mirrors is."""
    return frozenset(uri for uri, template in view.catalog.templates.items() if template.tool in view.visible_tools)


def tool_error(text: str, error: bool = True) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error)


def rate_limited(
    outcome: Outcome, decision: Decision, subject: Subject, blocked: tuple[int, float] | None
) -> Verdict | None:
    if blocked is None:
        return None
    index, wait = blocked
    quota = decision.limits[index]
    return Verdict(
        "rate_limited",
        dataclasses.replace(outcome, rule=quota.path),
        f"Rate limited by policy rule {quota.path}: at most {quota.limit.max} calls per "
        f"{quota.limit.window:g} s. {subject.raw_name} did not run; retry in {math.ceil(wait)} s.",
    )
