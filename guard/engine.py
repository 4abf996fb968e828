"""Decisions: a policy compiled against the catalog into one precomputed decision per tool.

Order: `hide` wins; then the most specific matching rule (exact name, then glob, then @group, then @risk class);
then `default`. Everything that could make a decision ambiguous or a rule dead is a load error.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from guard.catalog import RISKS, Catalog
from guard.names import skeleton
from guard.policy import Action, Policy, PolicyError, RateLimit, Rule

__all__ = ["Decision", "Engine", "Match", "PolicyError"]

Effective = Action | Literal["hide"]
LEVELS = ("exact name", "glob", "group", "risk class")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Decision:
    tool: str
    action: Effective
    rule: str  # the JSON path of the deciding entry, or "default"
    reason: str | None = None
    rate_limit: RateLimit | None = None


@dataclass(frozen=True)
class Match:
    path: str
    selector: str
    level: int  # index into LEVELS; -1 for a hide entry
    rule: Rule | None

    @property
    def kind(self) -> str:
        return "hide" if self.level < 0 else LEVELS[self.level]


def selector_level(selector: str, name: str, group: str, risk: str) -> int | None:
    """The precedence level at which `selector` matches this tool, or None."""
    key = skeleton(selector)
    if key.startswith("@"):
        category = key[1:]
        if category == skeleton(group):
            return 2
        return 3 if category == risk else None
    if _GLOB_CHARS & set(key):
        return 1 if fnmatchcase(skeleton(name), key) else None
    return 0 if key == skeleton(name) else None


def matches_any(selector: str, catalog: Catalog) -> bool:
    return any(selector_level(selector, t.name, t.group, t.risk) is not None for t in catalog.tools.values())


class Engine:
    """A policy bound to a catalog. Construction validates; `decide` is one dictionary lookup."""

    def __init__(self, policy: Policy, catalog: Catalog, source: str = "<policy>") -> None:
        self.policy = policy
        self.catalog = catalog
        self.source = source
        self._matches: dict[str, list[Match]] = {name: [] for name in catalog.tools}
        problems = self._match_all()
        self.decisions: dict[str, Decision] = {}
        conflicts: set[tuple[str, str]] = set()
        for name in catalog.tools:
            decision, conflict = self._decide_tool(name)
            self.decisions[name] = decision
            if conflict and conflict[0] not in conflicts:
                conflicts.add(conflict[0])
                problems.append(conflict[1])
        if problems:
            raise PolicyError(source, problems)
        self._skeletons = {skeleton(name): name for name in catalog.tools}
        self.visible_tools = frozenset(n for n, d in self.decisions.items() if d.action != "hide")
        self.visible_resources = frozenset(
            uri for uri, res in catalog.resources.items() if self.decisions[res.tool].action != "hide"
        )

    def _match_all(self) -> list[str]:
        problems: list[str] = []
        entries: list[tuple[str, str, Rule | None]] = [(p, sel, None) for p, sel in self.policy.hide_entries()]
        entries += [(e.path, e.selector, e.rule) for e in self.policy.rule_entries()]
        for path, selector, rule in entries:
            matched = False
            for tool in self.catalog.tools.values():
                level = selector_level(selector, tool.name, tool.group, tool.risk)
                if level is not None:
                    matched = True
                    self._matches[tool.name].append(Match(path, selector, -1 if rule is None else level, rule))
            if not matched:
                problems.append(self._no_match(path, selector))
        return problems

    def _no_match(self, path: str, selector: str) -> str:
        key = skeleton(selector)
        if not key:
            return f"{path}: empty selector. Fix: use a tool name, a glob such as remove_*, or a @category"
        if key.startswith("@"):
            known = sorted({f"@{g}" for g in self.catalog.groups} | {f"@{r}" for r in RISKS})
            return (
                f"{path}: no tool is in the group or risk class {json.dumps(selector)}. "
                f"Fix: use one of {', '.join(known)}"
            )
        if _GLOB_CHARS & set(key):
            return f"{path}: the glob {json.dumps(selector)} matches no tool. Fix: correct the pattern or remove it"
        close = difflib.get_close_matches(key, list(self.catalog.tools), n=1)
        hint = f'did you mean "{close[0]}"?' if close else "see `policy check` for the tool names"
        return f"{path}: no tool is named {json.dumps(selector)}. Fix: {hint}"

    def _decide_tool(self, name: str) -> tuple[Decision, tuple[tuple[str, str], str] | None]:
        matches = self._matches[name]
        hidden = [m for m in matches if m.level < 0]
        if hidden:
            return Decision(name, "hide", hidden[0].path), None
        rules = [m for m in matches if m.rule is not None]
        if not rules:
            return Decision(name, self.policy.default, "default"), None
        best = min(m.level for m in rules)
        winners = [m for m in rules if m.level == best]
        first = winners[0]
        assert first.rule is not None
        for other in winners[1:]:
            assert other.rule is not None
            if (other.rule.action, other.rule.rate_limit) != (first.rule.action, first.rule.rate_limit):
                return Decision(name, "deny", first.path), (
                    (first.path, other.path),
                    f"{first.path} and {other.path} both match {name} at the same precedence ({LEVELS[best]}) "
                    f"but disagree ({_summary(first.rule)} vs {_summary(other.rule)}). "
                    f"Fix: add a rule for {json.dumps(name)} itself, or make them agree",
                )
        rule = first.rule
        return Decision(name, rule.action, first.path, rule.reason, rule.rate_limit), None

    def decide(self, name: str) -> Decision | None:
        """The decision for an exact tool name; None when the catalog has no such tool."""
        return self.decisions.get(name)

    def resolve(self, raw_name: str) -> str | None:
        """The catalog tool a (possibly disguised) name stands for: case, spacing and look-alikes fold away."""
        return self._skeletons.get(skeleton(raw_name))

    def explain(self, name: str) -> list[Match]:
        return list(self._matches.get(name, []))


def _summary(rule: Rule) -> str:
    limit = f", at most {rule.rate_limit.max} per {rule.rate_limit.window:g}s" if rule.rate_limit else ""
    return rule.action + limit
