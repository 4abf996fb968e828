"""What one guarded request is: the tool it acts on (its subject), what the gate concluded (its verdict), and small
readers of the MCP request and result that the middleware needs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.server.context import HandlerResult, ServerRequestContext

from guard.audit import summarize
from guard.catalog import Catalog
from guard.channels import Answer, Refusal, Result, Unasked, Waiting
from guard.engine import Outcome, Quota, View
from guard.names import shown_name
from guard.policy import RateLimit
from guard.ratelimit import window_key
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
    #: Gives the owner's approval back if the call cannot run after all (guard.channels.Answer.undo).
    undo: Callable[[], None] | None = None


@dataclass
class Subject:
    """The tool a request acts on: a tools/call, or the tool a resources/read exposes."""

    raw_name: str
    arguments: dict[str, Any]
    params: dict[str, Any]
    resource: str | None = None
    #: The arguments as the caller sent them (what the audit records), once `arguments` are the canonical ones.
    sent: dict[str, Any] | None = None
    #: The Trakt endpoint a generic (routed) call reaches, once judged: 'POST /sync/history/remove'.
    endpoint: str | None = None
    #: Set for a use that is not a call (guard.gate.use): "completion", "card", ...
    via: str | None = None
    #: The tool the policy decided on (`raw_name` resolved), once the gate found it.
    tool: str | None = None
    #: What the shadow rules would have done with this call (audited only).
    would: Would | None = None

    @property
    def door(self) -> str:
        """How the request reached the tool, as an admission names it (guard.gate.Admission.via)."""
        return self.via or ("resource" if self.resource is not None else "call")

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


#: Questions to the owner (a desktop dialog, a terminal code) one identity may cause, across every process: the
#: owner's screen is not the callers'. The owner's own calls (identity None) are not rationed.
QUESTION_LIMITS = (RateLimit(max=5, window=60), RateLimit(max=30, window=86_400))
QUESTIONS = "questions to the owner"


def question_windows(identity: str | None) -> list[tuple[str, RateLimit]]:
    if identity is None:
        return []
    return [(window_key(QUESTIONS, limit, identity), limit) for limit in QUESTION_LIMITS]


def too_many_questions(blocked: tuple[int, float]) -> str:
    index, wait = blocked
    limit = QUESTION_LIMITS[index]
    return (
        f"this caller already asked the owner {limit.max} questions in {limit.window:g} s, the most it may; "
        f"retry in {math.ceil(wait)} s"
    )


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
    if isinstance(result, types.CallToolResult):  # the usual answer: no ABC check on the way
        return bool(result.is_error)
    if isinstance(result, Mapping):
        return bool(result.get("isError"))
    return bool(getattr(result, "is_error", False))


def with_params(ctx: Context, params: dict[str, Any] | None) -> Context:
    """`dataclasses.replace(ctx, params=params)` for the SDK's request context, a plain dataclass, without the
    walk over its fields that replace() (or copy.copy) makes on every call: its attributes copied, one replaced."""
    if not hasattr(ctx, "__dict__"):  # a context with slots: the general way
        return dataclasses.replace(ctx, params=params)
    copied: Context = object.__new__(type(ctx))
    copied.__dict__.update(ctx.__dict__)
    copied.params = params
    return copied


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
    outcome: Outcome, limits: tuple[Quota, ...], subject: Subject, blocked: tuple[int, float] | None
) -> Verdict | None:
    """The refusal when a rate limit is spent (`blocked`: which of `limits`, and the seconds until it frees)."""
    if blocked is None:
        return None
    index, wait = blocked
    quota = limits[index]
    return Verdict(
        "rate_limited",
        dataclasses.replace(outcome, rule=quota.path),
        f"Rate limited by policy rule {quota.path}: at most {quota.limit.max} calls per "
        f"{quota.limit.window:g} s. {subject.raw_name} did not run; retry in {math.ceil(wait)} s.",
    )


def verdict_of(outcome: Outcome, subject: Subject, result: Result | Unasked) -> Verdict:
    """What the approval channels' answer (or that nobody could be asked) means for the call."""
    did_not_run = f"{subject.raw_name} did not run."
    if isinstance(result, Answer):
        if result.approved:
            params = dict(result.params) if result.params is not None else subject.params
            return Verdict(
                "confirmed", outcome, params=params, channel=result.channel, answered_by=result.by, undo=result.undo
            )
        message = f"{result.message} {did_not_run}"
        by, dismissed = result.by, result.dismissed
        return Verdict("declined", outcome, message, channel=result.channel, answered_by=by, dismissed=dismissed)
    if isinstance(result, Waiting):
        return Verdict("approval_pending", outcome, result.message, reply=result.reply, channel=result.channel)
    if isinstance(result, Refusal):
        return Verdict("denied", outcome, f"{result.message} {did_not_run}", channel=result.channel)
    reasons = "; ".join(result.reasons)
    return Verdict(
        "denied",
        outcome,
        f"Nobody could be asked to confirm this call ({where(outcome)}), so {did_not_run} Nobody declined it: "
        f'{reasons}. Fix: name a channel that works here in the rule\'s confirm_via (e.g. ["terminal"]), '
        "run the server where a display is available, or use a client that can ask (elicitation).",
    )


def audit_entry(
    identity: str | None, client: str | None, subject: Subject, verdict: Verdict, outcome: str, seconds: float
) -> dict[str, Any]:
    """The audit line for one judged request (guard.audit.AuditLog writes it)."""
    decided = verdict.outcome
    entry: dict[str, Any] = {
        "identity": identity,
        "client": summarize(client),
        "tool": shown_name(subject.raw_name) if verdict.unknown else summarize(subject.raw_name),
        "decision": verdict.decision,
        "rule": decided.rule if decided else None,
        "condition": decided.condition if decided else None,
        "reason": decided.reason if decided and verdict.decision != "allowed" else None,
        "arguments": (sent := summarize(subject.arguments if subject.sent is None else subject.sent)),
        "outcome": outcome,
        "duration_ms": round(seconds * 1000, 2),
    }
    if verdict.unknown:
        entry["unknown_tool"] = True
    if verdict.channel is not None:
        entry.update(channel=verdict.channel, answered_by=verdict.answered_by)
        entry.update({"dismissed": True} if verdict.dismissed else {})
    if subject.resource is not None:
        entry["resource"] = summarize(subject.resource)
    if subject.endpoint is not None:
        entry["endpoint"] = subject.endpoint
    if subject.via is not None:
        entry["via"] = subject.via
    if subject.sent is not None and (whole := summarize(subject.arguments, shorten=False)) != sent:
        entry["canonical"] = whole  # what the tool received, whole but for secrets: `policy replay` re-decides it
    if subject.would is not None:
        entry["shadow"], entry["shadow_rule"] = subject.would.action, subject.would.rule
    return entry


def lists_may_change(result: HandlerResult) -> HandlerResult:
    """An initialize result that declares that the tool and resource lists may change: the guard tells clients when
    a policy edit changes what they may see, and a client may ignore notifications it was not promised."""
    capabilities = result.get("capabilities") if isinstance(result, dict) else None
    if isinstance(capabilities, dict):
        for kind in ("tools", "resources"):
            if isinstance(capabilities.get(kind), dict):
                capabilities[kind]["listChanged"] = True
    return result


def filtered(result: HandlerResult, field: str, key: str, visible: frozenset[str]) -> HandlerResult:
    """A list result (tools, resources, templates) with only the items this caller may see."""

    def shown(item: Any) -> bool:
        value = item.get(WIRE_NAMES.get(key, key)) if isinstance(item, Mapping) else getattr(item, key, None)
        return str(value) in visible

    if isinstance(result, Mapping):
        return {**result, field: [item for item in result.get(field, []) if shown(item)]}
    if result is None:
        return None
    return result.model_copy(update={field: [item for item in getattr(result, field) if shown(item)]})
