"""`policy diff OLD NEW`: which tools change verdict for which caller, from the two policies alone (no history).

A tool's verdict is its action, its rate limits, its argument conditions and the channels that confirm it; each
caller is the local user and every identity either policy declares (one only one declares is "not declared" in
the other: its every call is refused there)."""

from __future__ import annotations

from dataclasses import dataclass

from guard.engine import Decision, Engine, UnknownIdentity

NOT_DECLARED = "not declared (refused)"


@dataclass(frozen=True)
class Change:
    identity: str | None
    tool: str
    old: str
    new: str


def summary(decision: Decision) -> str:
    """'confirm, 5/3600s, deny if count(items) > 5, via desktop,terminal'."""
    parts: list[str] = [decision.action]
    if decision.action != "hide":
        parts += [f"{quota.limit.max}/{quota.limit.window:g}s" for quota in decision.limits]
        words = {"require": "require", "deny_if": "deny if", "confirm_if": "confirm if"}
        parts += [f"{words[check.kind]} {check.text}" for check in decision.checks]
        if decision.may_ask and decision.confirm_via:
            parts.append("via " + ",".join(decision.confirm_via))
    return ", ".join(parts)


def _summaries(engine: Engine, identity: str | None) -> dict[str, str] | None:
    try:
        view = engine.view(identity)
    except UnknownIdentity:
        return None
    return {name: summary(decision) for name, decision in view.decisions.items()}


def diff(old: Engine, new: Engine) -> list[Change]:
    callers: list[str | None] = [None, *sorted(set(old.policy.identities) | set(new.policy.identities))]
    changes = []
    for identity in callers:
        before, after = _summaries(old, identity), _summaries(new, identity)
        for tool in sorted(old.catalog.tools):
            was = before[tool] if before is not None else NOT_DECLARED
            now = after[tool] if after is not None else NOT_DECLARED
            if was != now:
                changes.append(Change(identity, tool, was, now))
    return changes
