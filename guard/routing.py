"""A generic (routed) tool's call, judged by the endpoint entry it reaches as well as by the tool's own decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guard.catalog import ENDPOINT_PREFIX, InvalidArguments
from guard.engine import RANK, Decision, Outcome, Quota, View


@dataclass(frozen=True)
class Routed:
    """A call's outcome, every rate limit that applies, and the endpoint entry a routed call reaches."""

    outcome: Outcome
    limits: tuple[Quota, ...]
    endpoint: str | None = None


def judge_routed(view: View, decision: Decision, arguments: Mapping[str, Any]) -> Routed:
    """The call's outcome. A routed tool's call is judged twice, by the tool's decision and by the decision
    for the endpoint it reaches (the stricter wins; both rate limits apply); an endpoint that is hidden
    (e.g. by --read-only) refuses the call. Raises InvalidArguments when the call reaches no endpoint."""
    outcome = decision.judge(arguments)
    route = view.catalog.route
    if not view.catalog.tools[decision.tool].routed or route is None or outcome.action in ("deny", "hide"):
        return Routed(outcome, decision.limits)
    name, endpoint_arguments = route(decision.tool, dict(arguments))
    reached = view.decide(name)
    if reached is None:
        raise InvalidArguments(f"{name} is not in the endpoint catalogue; nothing was sent")
    shown = name.removeprefix(ENDPOINT_PREFIX)
    if reached.action == "hide":
        theirs = Outcome("deny", reached.rule, f"{shown} is hidden by it")
    else:
        theirs = reached.judge(endpoint_arguments)
    winner = theirs if RANK[theirs.action] >= RANK[outcome.action] else outcome
    # Quotas shared by every call (all_tools) are in both decisions: each is counted once.
    limits = decision.limits + tuple(quota for quota in reached.limits if quota not in decision.limits)
    return Routed(winner, limits, shown)
