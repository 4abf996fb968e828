"""What the guard would do with a call, asked ahead of time and without side effects: for a UI that draws a
button per action (show it, grey it with the rule's reason, or mark that a person will be asked).

A preview is advice for drawing, never a permission: the call itself still goes through the guard, which decides
again (rate limits, a policy edit made meanwhile, the confirmation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from guard.engine import View

Shown = Literal["allow", "confirm", "deny", "hidden"]


@dataclass(frozen=True)
class Preview:
    state: Shown
    #: For `deny` and `confirm`: why, in the policy's words ("Blocked by policy rule tools.x: reason").
    reason: str | None = None


def preview(view: View, tool: str, arguments: Mapping[str, Any]) -> Preview:
    decision = view.decide(tool)
    if decision is None or decision.action == "hide":
        return Preview("hidden")
    outcome = decision.judge(arguments)
    where = "the policy default" if outcome.rule == "default" else f"policy rule {outcome.rule}"
    because = f": {outcome.reason}" if outcome.reason else ""
    if outcome.action == "deny":
        return Preview("deny", f"Blocked by {where}{because}.")
    if outcome.action == "confirm":
        return Preview("confirm", f"Asks first ({where}{because}).")
    return Preview("allow")


def may_confirm(view: View, tool: str) -> bool:
    """Whether some call of `tool` may need a person's confirmation for this caller (its rule, or a condition)."""
    decision = view.decide(tool)
    if decision is None or decision.action in ("hide", "deny"):
        return False
    return decision.action == "confirm" or any(check.kind == "confirm_if" for check in decision.checks)
