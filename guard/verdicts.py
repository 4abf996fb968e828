"""One call judged offline the way the gate judges it (guard.middleware): the caller's view, the tool's decision,
the canonical arguments (the catalog's own normalisation), the argument conditions, then the rate-limit windows.
`policy test`, `policy replay` and `policy diff` all ask this one function, so none of them can drift from another.

Offline, nobody is asked: a call the policy would confirm is taken as approved (it counts in its windows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guard.catalog import InvalidArguments
from guard.engine import RANK, Engine, UnknownIdentity
from guard.ratelimit import RateLimiter, window_key

#: Every verdict a call can get, as people write them in cases and read them in reports.
VERDICTS = ("allow", "confirm", "limited", "deny", "hide", "invalid", "unknown")
#: How strict a verdict is, for telling a tightening flip from a loosening one.
STRICTNESS = {"allow": 0, "confirm": 1, "limited": 2, "invalid": 2, "deny": 3, "hide": 4, "unknown": 4}
assert set(STRICTNESS) == set(VERDICTS) and RANK["hide"] > RANK["deny"] > RANK["confirm"]


@dataclass(frozen=True)
class Judged:
    verdict: str
    #: The JSON path that decided ("default", "identities" for an undeclared caller, "-" for an unknown tool).
    rule: str
    #: For confirm: the channels the rule names, in order (None: the default order).
    channels: tuple[str, ...] | None = None
    detail: str | None = None


def judge_call(
    engine: Engine, identity: str | None, tool: str, arguments: dict[str, Any], limiter: RateLimiter | None
) -> Judged:
    """The verdict for one call; with `limiter`, the call counts in its windows when it would run."""
    try:
        view = engine.view(identity)
    except UnknownIdentity as exc:
        return Judged("deny", "identities", detail=str(exc))
    name = tool if tool in engine.catalog.tools else engine.resolve(tool)
    decision = view.decide(name) if name is not None else None
    if name is None or decision is None:
        return Judged("unknown", "-", detail=f"no tool is named {tool!r}")
    if decision.action == "hide":
        return Judged("hide", decision.rule)
    if decision.action != "deny" and engine.catalog.normalize is not None:
        try:
            arguments = engine.catalog.normalize(name, arguments)
        except InvalidArguments as exc:
            return Judged("invalid", decision.rule, detail=str(exc))
    outcome = decision.judge(arguments)
    if outcome.action in ("deny", "hide"):
        return Judged("deny", outcome.rule, detail=outcome.condition)
    keys = [(window_key(quota.path, quota.limit, identity), quota.limit) for quota in decision.limits]
    blocked = limiter.acquire_all(keys) if limiter is not None else None
    if blocked is not None:
        return Judged("limited", decision.limits[blocked[0]].path)
    channels = outcome.confirm_via if outcome.action == "confirm" else None
    return Judged(outcome.action, outcome.rule, channels, outcome.condition)
