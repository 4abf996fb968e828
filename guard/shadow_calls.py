"""What the shadow rules would have done with one call (guard.shadow_policy): `would_deny`, `would_confirm` or
`would_limit`, and the rule that would have done it, for the audit line. It never changes what happens: any
failure here is logged and the call goes on as the policy in force decided.

Shadow rate limits count in windows of their own (keys prefixed `shadow:`), so they never use up a real window."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from guard.engine import RANK, Decision, Outcome, UnknownIdentity, View
from guard.ratelimit import RateLimiter, window_key

log = logging.getLogger("guard")
SHADOW_WINDOW = "shadow:"


@dataclass(frozen=True)
class Would:
    """What a shadow rule would have done ("would_deny", "would_confirm", "would_limit"), and which rule."""

    action: str
    rule: str


def would(
    view: View, tool: str, arguments: dict[str, Any], real: Decision, outcome: Outcome, limiter: RateLimiter
) -> Would | None:
    """The shadow verdict when it is stricter than `outcome` (the decision in force for this call), else None."""
    shadow = view.engine.shadow
    if shadow is None or outcome.action in ("deny", "hide"):
        return None
    try:
        return _would(shadow.view(view.identity), tool, arguments, real, outcome, limiter)
    except UnknownIdentity:
        return Would("would_deny", "identities")
    except Exception:
        log.exception("shadow rules could not judge a call to %s; the call goes on as the policy decided", tool)
        return None


def _would(
    view: View, tool: str, arguments: dict[str, Any], real: Decision, outcome: Outcome, limiter: RateLimiter
) -> Would | None:
    decision = view.decide(tool)
    if decision is None:
        return None
    if decision.action == "hide":
        return Would("would_deny", decision.rule)
    shadow = decision.judge(arguments)
    if RANK[shadow.action] > RANK[outcome.action]:
        return Would("would_deny" if shadow.action == "deny" else "would_confirm", shadow.rule)
    if shadow.action == "deny":
        return None
    known = {(quota.path, quota.limit) for quota in real.limits}
    extra = [quota for quota in decision.limits if (quota.path, quota.limit) not in known]
    keys = [(SHADOW_WINDOW + window_key(q.path, q.limit, view.identity), q.limit) for q in extra]
    blocked = limiter.acquire_all(keys)
    return Would("would_limit", extra[blocked[0]].path) if blocked is not None else None
