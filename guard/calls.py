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

#: How the rules of a policy no file holds (a server's built-in default) start their path, so that messages never
#: send a person to a file they did not write (trakt_mcp's BuiltinPolicy).
BUILTIN_PATH = "built-in rules."

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
    #: The person closed the question without answering.
    dismissed: bool = False
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
    """The rule that decided, as a person reads it: a JSON path in their policy file, or a built-in rule."""
    if outcome.rule == "default":
        where = "the policy default"
    elif outcome.rule.startswith(BUILTIN_PATH):
        where = f"the built-in rule {outcome.rule.removeprefix(BUILTIN_PATH)}"
    else:
        where = f"policy rule {outcome.rule}"
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


#: The `_meta` key of a result the guard answered by a rule: which decision stopped the call ("denied", "declined",
#: "rate_limited", ...), so a program (`trakt-mcp call`) need not read the sentence. Absent when the guard itself
#: failed (its state store, say): that is not the policy's answer.
DECISION_KEY = "guard/decision"


def tool_error(text: str, error: bool = True, decision: str | None = None) -> types.CallToolResult:
    meta = {DECISION_KEY: decision} if decision is not None else None
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error, _meta=meta)


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
