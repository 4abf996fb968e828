"""`policy replay`: the audit log's calls decided again under another policy, in the order they happened, with
the identity, tool and canonical arguments recorded for each (guard.verdicts). Rate-limit windows are replayed on
each line's own time, so "the 4th call this hour" means what it meant then. What flips is counted per rule and
tool, with the first few examples.

A line records `canonical` when the arguments the tool received differ from those sent (`arguments`), so the
call is re-decided on exactly what ran; values under credential-like keys were redacted before they were written,
so a condition on such an argument sees "[redacted]"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from guard.engine import Engine
from guard.ratelimit import RateLimiter
from guard.store.memory import MemoryStore
from guard.verdicts import STRICTNESS, Judged, judge_call

#: The verdict an audit line's decision stands for. Any question asked means the policy said confirm.
RECORDED = {
    "allowed": "allow",
    "confirmed": "confirm",
    "declined": "confirm",
    "approval_pending": "confirm",
    "not_ready": "confirm",
    "denied": "deny",
    "hidden": "hide",
    "rate_limited": "limited",
    "invalid": "invalid",
}
EXAMPLES = 3


@dataclass(frozen=True)
class Call:
    """One audited call: when, who, what, and the verdict it got."""

    seq: int | None
    at: float
    identity: str | None
    tool: str
    arguments: dict[str, Any]
    verdict: str
    rule: str


@dataclass(frozen=True)
class Flip:
    call: Call
    now: Judged

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(from, to, rule, tool): the rule that makes the difference (the new one when stricter)."""
        stricter = STRICTNESS[self.now.verdict] > STRICTNESS[self.call.verdict]
        return self.call.verdict, self.now.verdict, self.now.rule if stricter else self.call.rule, self.call.tool


@dataclass
class Replay:
    calls: int = 0
    skipped: int = 0
    flips: list[Flip] = field(default_factory=list)

    def groups(self) -> list[tuple[tuple[str, str, str, str], list[Flip]]]:
        grouped: dict[tuple[str, str, str, str], list[Flip]] = {}
        for flip in self.flips:
            grouped.setdefault(flip.key, []).append(flip)
        return sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))


def recorded_call(entry: dict[str, Any]) -> Call | None:
    """The call an audit line records; None for lines that are not a judged call (a suppressed burst, an unknown
    tool, an approval card's answer)."""
    verdict = RECORDED.get(str(entry.get("decision")))
    tool = entry.get("tool")
    if verdict is None or not isinstance(tool, str) or entry.get("unknown_tool"):
        return None
    if str(entry.get("rule") or "").startswith("channels."):
        return None
    arguments = entry.get("canonical", entry.get("arguments"))
    try:
        at = datetime.fromisoformat(str(entry.get("time"))).timestamp()
    except ValueError:
        return None
    identity = entry.get("identity")
    seq = entry.get("seq")
    return Call(
        seq if isinstance(seq, int) else None,
        at,
        identity if isinstance(identity, str) else None,
        tool,
        arguments if isinstance(arguments, dict) else {},
        verdict,
        str(entry.get("rule") or "-"),
    )


def replay(engine: Engine, entries: Iterable[dict[str, Any]]) -> Replay:
    """Decide every recorded call again under `engine`, windows replayed in time order."""
    clock = _Clock()
    limiter = RateLimiter(clock, MemoryStore())
    result = Replay()
    calls = []
    for entry in entries:
        call = recorded_call(entry)
        if call is None:
            result.skipped += 1
        else:
            calls.append(call)
    for call in sorted(calls, key=lambda c: c.at):
        clock.now = call.at
        result.calls += 1
        now = judge_call(engine, call.identity, call.tool, call.arguments, limiter)
        if now.verdict != call.verdict:
            result.flips.append(Flip(call, now))
    return result


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now
