"""Decisions: a policy compiled against the catalog into one precomputed decision per tool and caller.

Order within a layer: `hide` wins; then the most specific matching rule (exact name, then glob, then @group, then
@risk class); then `default`. Everything that could make a decision ambiguous or a rule dead is a load error.

The top level is one layer; each identity is another, merged by one rule: the identity can only be stricter. The
effective action is the stricter of the two (hide > deny > confirm > allow; the top level names it on a tie), the
argument conditions and rate limits of both apply, and an identity rule that could only loosen is a load error.

Argument conditions refine the chosen rule per call (`Decision.judge`): a failed `require` or a holding `deny_if`
denies; a holding `confirm_if` turns allow into confirm.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from guard import commands
from guard.capabilities import NOT_GRANTED, Capabilities, Capability, compile_capabilities
from guard.catalog import ENDPOINT_PREFIX, RISKS, Catalog
from guard.conditions import ConditionError, Mismatch, Test, compile_condition, describe
from guard.names import skeleton
from guard.policy import HOST_CHANNELS, Action, Layer, Policy, PolicyError, RateLimit, Rule
from guard.selectors import GLOB_CHARS, matches_any, selector_level, tool_level
from guard.shadow_policy import armed, enforced_part, has_shadow_rules

__all__ = [
    "Decision",
    "Engine",
    "Match",
    "Outcome",
    "PolicyError",
    "UnknownIdentity",
    "View",
    "matches_any",
    "selector_level",
    "tool_level",
]

Effective = Action | Literal["hide"]
LEVELS = ("exact name", "glob", "group", "risk class")
#: How strict an action is; an identity can only move a tool up this scale.
RANK: dict[str, int] = {"allow": 0, "confirm": 1, "deny": 2, "hide": 3}
#: Who calls when nobody had to say (HTTP with `--no-auth`): the top level's decisions, but a caller of its own
#: (its own rate-limit windows and question ration; its client never answers its questions; the audit names it).
UNAUTHENTICATED = "(unauthenticated)"
#: Why an identity does not see a tool of an owner-only group (Catalog.owner_only).
OWNER_ONLY = "the owner's own set-up (sign-in): closed to identities unless a rule of the identity names the tool"


class UnknownIdentity(LookupError):
    """A caller's identity the policy in force does not declare: nothing may run for it."""


@dataclass(frozen=True)
class Quota:
    """A rate limit and the JSON path that declares it (the window is counted per path and per identity)."""

    path: str
    limit: RateLimit


@dataclass(frozen=True)
class Check:
    kind: str  # "require", "deny_if" or "confirm_if"
    path: str  # e.g. tools."remove_from_history".deny_if[0]
    text: str  # e.g. count(items) > 5
    test: Test
    reason: str | None
    confirm_via: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Outcome:
    """The action for one call, the JSON path that decided it, and the condition that fired (if one did)."""

    action: Effective
    rule: str
    reason: str | None = None
    condition: str | None = None
    #: The channels the deciding rule names for asking (None: the default order).
    confirm_via: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Decision:
    tool: str
    action: Effective
    rule: str  # the JSON path of the deciding entry, or "default"
    reason: str | None = None
    limits: tuple[Quota, ...] = ()
    checks: tuple[Check, ...] = ()
    confirm_via: tuple[str, ...] | None = None
    outcome: Outcome = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", Outcome(self.action, self.rule, self.reason, None, self.confirm_via))

    @property
    def may_ask(self) -> bool:
        """Some call of this tool is confirmed: the action is confirm, or a confirm_if can turn allow into it."""
        if self.action == "confirm":
            return True
        return self.action == "allow" and any(check.kind == "confirm_if" for check in self.checks)

    def judge(self, arguments: Mapping[str, Any]) -> Outcome:
        """The action for a call with these arguments: the rule's, unless one of its conditions fires."""
        if not self.checks or self.action in ("deny", "hide"):
            return self.outcome
        confirm: Outcome | None = None
        for check in self.checks:
            try:
                holds = check.test(arguments)
            except Mismatch as exc:
                return Outcome("deny", check.path, f"cannot test {check.text}: {exc}", check.text)
            if check.kind == "require" and not holds:
                return Outcome("deny", check.path, check.reason, f"requires {check.text}")
            if check.kind == "deny_if" and holds:
                return Outcome("deny", check.path, check.reason, check.text)
            if check.kind == "confirm_if" and holds and confirm is None:
                confirm = Outcome("confirm", check.path, check.reason, check.text, check.confirm_via)
        return confirm if confirm is not None and self.action == "allow" else self.outcome


@dataclass(frozen=True)
class Match:
    path: str
    selector: str
    level: int  # index into LEVELS; -1 for a hide entry
    rule: Rule | None

    @property
    def kind(self) -> str:
        return "hide" if self.level < 0 else LEVELS[self.level]


@dataclass
class _Compiled:
    """One layer (the top level, or one identity) compiled against the catalog."""

    matches: dict[str, list[Match]]
    decisions: dict[str, Decision | None]
    quotas: tuple[Quota, ...]


@dataclass(frozen=True)
class View:
    """The decisions for one caller (identity None = the local user, the top level alone)."""

    engine: Engine
    identity: str | None
    decisions: Mapping[str, Decision]
    visible_tools: frozenset[str]
    visible_resources: frozenset[str]
    shared: tuple[Quota, ...] = ()  # all_tools quotas, included in every visible tool's limits

    @property
    def catalog(self) -> Catalog:
        return self.engine.catalog

    def decide(self, name: str) -> Decision | None:
        return self.decisions.get(name)

    def resolve(self, raw_name: str) -> str | None:
        return self.engine.resolve(raw_name)


class Engine:
    """A policy bound to a catalog. Construction validates; `decide` is one dictionary lookup."""

    def __init__(
        self,
        policy: Policy,
        catalog: Catalog,
        source: str = "<policy>",
        *,
        shadow: Policy | None = None,
        people: bool = False,
        capabilities: Mapping[str, Capability] | None = None,
    ) -> None:
        """`shadow`: a whole policy that decides beside this one without acting (default: this policy with its
        shadow rules in force, when it has any). `people`: multi-user mode, where a caller the policy does not
        declare is a person signed in through the server; they get the top level (their own windows and audit
        lines), a declared name its own rules too. `capabilities`: the host's named capabilities
        (guard.capabilities), which the policy's `capabilities` section changes; a grant opens them."""
        self.policy = policy
        self.catalog = catalog
        self.source = source
        self.people = people
        self._problems: list[str] = []
        would = shadow if shadow is not None else armed(policy) if has_shadow_rules(policy) else None
        alike: dict[str, Any] = {"people": people, "capabilities": capabilities}
        self.shadow = None if would is None else Engine(armed(would), catalog, f"{source} (shadow)", **alike)
        policy = enforced_part(policy)
        top = self._top = self._compile(policy, "", policy.default)
        compiled, problems = compile_capabilities(capabilities or {}, policy.capabilities, catalog, self._no_match)
        self.capabilities: Capabilities | None = compiled
        self._problems += problems
        self._granted: dict[tuple[str | None, frozenset[str]], View] = {}
        self._layers: dict[str | None, list[_Compiled]] = {None: [top]}
        self.views: dict[str | None, View] = {None: self._view(None, top, None)}
        for name, identity in policy.identities.items():
            prefix = f"identities.{json.dumps(name)}."
            layer = self._compile(identity, prefix, identity.default)
            self._check_only_stricter(identity, prefix, layer, top)
            self._layers[name] = [top, layer]
            self.views[name] = self._view(name, top, layer)
            if not identity.trust_host:
                self._check_channels(name, self.views[name])
        if self._problems:
            raise PolicyError(source, list(dict.fromkeys(self._problems)))
        self._skeletons = {skeleton(name): name for name, tool in catalog.tools.items() if not tool.endpoint}
        self._endpoints = {skeleton(name): name for name, tool in catalog.tools.items() if tool.endpoint}

    # --- the local user's view, as before identities ----------------------------------------------------------

    @property
    def decisions(self) -> Mapping[str, Decision]:
        return self.views[None].decisions

    @property
    def visible_tools(self) -> frozenset[str]:
        return self.views[None].visible_tools

    @property
    def visible_resources(self) -> frozenset[str]:
        return self.views[None].visible_resources

    def view(self, identity: str | None, grant: Collection[str] | None = None) -> View:
        """The decisions for a caller. With a `grant` (the capability names a person gave one app), only the tools
        it opens (guard.capabilities) stay; every other one is hidden, as by a hide entry."""
        base = self._identity_view(identity)
        if grant is None:
            return base
        key = (identity, frozenset(grant))
        granted = self._granted.get(key)
        if granted is None:
            granted = self._granted[key] = self._granted_view(base, key[1])
        return granted

    def _granted_view(self, base: View, grant: frozenset[str]) -> View:
        capabilities = self.capabilities or Capabilities({})
        opened, decisions = capabilities.opened(grant), dict(base.decisions)
        for name, decision in base.decisions.items():
            if name not in opened and decision.action != "hide":
                decisions[name] = Decision(name, "hide", capabilities.path_of(name), NOT_GRANTED)
        visible = base.visible_tools & opened
        resources = frozenset(uri for uri, res in self.catalog.resources.items() if res.tool in visible)
        return dataclasses.replace(base, decisions=decisions, visible_tools=visible, visible_resources=resources)

    def _identity_view(self, identity: str | None) -> View:
        if identity == UNAUTHENTICATED:
            return dataclasses.replace(self.views[None], identity=UNAUTHENTICATED)
        try:
            return self.views[identity]
        except KeyError:
            if self.people and identity is not None:
                self._layers[identity] = [self._top]
                view = self.views[identity] = self._view(identity, self._top, None)
                return view
            raise UnknownIdentity(
                f"the caller's identity {json.dumps(identity)} is not declared in the policy in force"
            ) from None

    def visibility(self) -> dict[str | None, tuple[frozenset[str], frozenset[str]]]:
        return {name: (view.visible_tools, view.visible_resources) for name, view in self.views.items()}

    def decide(self, name: str, identity: str | None = None) -> Decision | None:
        """The decision for an exact tool name; None when the catalog has no such tool."""
        return self.view(identity).decide(name)

    def resolve(self, raw_name: str, *, endpoints: bool = False) -> str | None:
        """The catalog tool a (possibly disguised) name stands for: case, spacing and look-alikes fold away.
        Endpoint entries (`api:...`) are never callable tools; `endpoints` resolves them too (for explaining)."""
        found = self._skeletons.get(skeleton(raw_name))
        return found if found is not None or not endpoints else self._endpoints.get(skeleton(raw_name))

    def explain(self, name: str, identity: str | None = None) -> list[Match]:
        self.view(identity)
        return [match for layer in self._layers[identity] for match in layer.matches.get(name, [])]

    # --- compiling ---------------------------------------------------------------------------------------------

    def _view(self, identity: str | None, top: _Compiled, layer: _Compiled | None) -> View:
        quotas = top.quotas + (layer.quotas if layer else ())
        decisions: dict[str, Decision] = {}
        for name in self.catalog.tools:
            base = top.decisions[name]
            assert base is not None  # the top level always has a default
            own = layer.decisions[name] if layer else None
            decision = _stricter(base, own) if own else base
            if identity is not None and layer is not None and not self.people and self._owners_only(name, layer):
                decision = Decision(name, "hide", f"identities.{json.dumps(identity)}", OWNER_ONLY)
            if decision.action != "hide" and quotas:
                decision = dataclasses.replace(decision, limits=decision.limits + quotas)
            decisions[name] = decision
        tools = self.catalog.tools
        visible = frozenset(n for n, d in decisions.items() if d.action != "hide" and not tools[n].endpoint)
        resources = frozenset(uri for uri, res in self.catalog.resources.items() if res.tool in visible)
        return View(self, identity, decisions, visible, resources, quotas)

    def _owners_only(self, name: str, layer: _Compiled) -> bool:
        """A tool of an owner-only group (Catalog.owner_only) that no rule of this identity's own names. Not in
        multi-user mode (`people`), where each person signs in to their own Trakt account."""
        if self.catalog.tools[name].group not in self.catalog.owner_only:
            return False
        return not any(match.rule is not None for match in layer.matches[name])

    def _compile(self, layer: Layer, prefix: str, default: Action | None) -> _Compiled:
        matches: dict[str, list[Match]] = {name: [] for name in self.catalog.tools}
        entries: list[tuple[str, str, Rule | None]] = [(p, s, None) for p, s in layer.hide_entries(prefix)]
        entries += [(e.path, e.selector, e.rule) for e in layer.rule_entries(prefix)]
        for path, selector, rule in entries:
            matched = False
            for tool in self.catalog.tools.values():
                level = tool_level(selector, tool)
                if level is not None:
                    matched = True
                    matches[tool.name].append(Match(path, selector, -1 if rule is None else level, rule))
            if not matched:
                self._problems.append(self._no_match(path, selector))
        decisions = {name: self._decide_tool(name, matches[name], default) for name in self.catalog.tools}
        quotas = tuple(Quota(path, limit) for path, limit in layer.quota_entries(prefix))
        return _Compiled(matches, decisions, quotas)

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
        if key.startswith(ENDPOINT_PREFIX):
            close = difflib.get_close_matches(key, list(self._endpoint_keys()), n=1)
            hint = f'did you mean "{self._endpoint_keys()[close[0]]}"?' if close else "find_trakt_endpoints lists them"
            return f"{path}: no Trakt endpoint matches {json.dumps(selector)}. Fix: {hint}"
        if GLOB_CHARS & set(key):
            return f"{path}: the glob {json.dumps(selector)} matches no tool. Fix: correct the pattern or remove it"
        close = difflib.get_close_matches(key, list(self.catalog.tools), n=1)
        hint = f'did you mean "{close[0]}"?' if close else f"`{commands.command('policy check')}` lists the tool names"
        return f"{path}: no tool is named {json.dumps(selector)}. Fix: {hint}"

    def _endpoint_keys(self) -> dict[str, str]:
        return {skeleton(name): name for name, tool in self.catalog.tools.items() if tool.endpoint}

    def _decide_tool(self, name: str, matches: list[Match], default: Action | None) -> Decision | None:
        hidden = [m for m in matches if m.level < 0]
        if hidden:
            return Decision(name, "hide", hidden[0].path)
        rules = [m for m in matches if m.rule is not None]
        if not rules:
            return Decision(name, default, "default") if default else None
        best = min(m.level for m in rules)
        winners = [m for m in rules if m.level == best]
        first = winners[0]
        assert first.rule is not None
        for other in winners[1:]:
            assert other.rule is not None
            if not first.rule.same_effect(other.rule):
                self._problems.append(
                    f"{first.path} and {other.path} both match {name} at the same precedence ({LEVELS[best]}) "
                    f"but disagree ({_summary(first.rule)} vs {_summary(other.rule)}). "
                    f"Fix: add a rule for {json.dumps(name)} itself, or make them agree"
                )
                return Decision(name, "deny", first.path)
        rule = first.rule
        via = tuple(rule.confirm_via) if rule.confirm_via else None
        return Decision(
            name, rule.action, first.path, rule.reason, _quotas(first.path, rule), self._checks(name, first), via
        )

    def _checks(self, tool: str, match: Match) -> tuple[Check, ...]:
        assert match.rule is not None
        schema = self.catalog.tools[tool].input_schema
        checks = []
        for kind, index, condition in match.rule.checks():
            path = f"{match.path}.{kind}[{index}]"
            try:
                test = compile_condition(condition, tool, schema)
            except ConditionError as exc:
                self._problems.append(f"{path}: {exc}")
                continue
            via = tuple(match.rule.confirm_via) if match.rule.confirm_via else None
            checks.append(Check(kind, path, describe(condition), test, match.rule.reason, via))
        return tuple(checks)

    def _check_only_stricter(self, identity: Layer, prefix: str, layer: _Compiled, top: _Compiled) -> None:
        """An identity rule that is looser than the top level for every tool it decides could never apply."""
        decided: dict[str, list[str]] = {}
        for name, decision in layer.decisions.items():
            if decision is not None:
                decided.setdefault(decision.rule, []).append(name)
        for entry in identity.rule_entries(prefix):
            tools = decided.get(entry.path, [])
            looser = [t for t in tools if RANK[top.decisions[t].action] > RANK[entry.rule.action]]  # type: ignore[union-attr]
            if tools and len(looser) == len(tools):
                base = top.decisions[tools[0]]
                assert base is not None
                self._problems.append(
                    f"{entry.path}: {entry.rule.action} cannot loosen the top level, which decides {base.action} "
                    f"for {tools[0]} ({base.rule}); an identity can only be stricter. "
                    f"Fix: remove it, use {base.action} or stricter, or change the top level"
                )

    def _check_channels(self, name: str, view: View) -> None:
        """A caller whose own client is not trusted can never confirm through it: a rule whose only channels are
        the caller's client would leave its calls with nobody to ask."""
        stranded: dict[str, tuple[tuple[str, ...], str]] = {}
        for tool, decision in view.decisions.items():
            vias = [(decision.rule, decision.confirm_via)] if decision.action == "confirm" else []
            if decision.may_ask:
                vias += [(check.path, check.confirm_via) for check in decision.checks if check.kind == "confirm_if"]
            for path, via in vias:
                if via is not None and set(via) <= HOST_CHANNELS:
                    stranded.setdefault(path.split(".confirm_if[")[0], (via, tool))
        for path, (via, tool) in stranded.items():
            self._problems.append(
                f"{path}.confirm_via: {json.dumps(list(via))} asks only the caller's own MCP client, which is never "
                f"trusted to confirm for identity {json.dumps(name)} (e.g. {tool}): nobody could approve. Fix: add "
                f'"desktop" or "terminal", or set identities.{json.dumps(name)}.trust_host to true if that client '
                "really shows its questions to you"
            )


def _stricter(top: Decision, own: Decision) -> Decision:
    winner = own if RANK[own.action] > RANK[top.action] else top
    if winner.action == "hide":
        return winner
    via = own.confirm_via or top.confirm_via
    return dataclasses.replace(winner, limits=top.limits + own.limits, checks=top.checks + own.checks, confirm_via=via)


def _quotas(path: str, rule: Rule) -> tuple[Quota, ...]:
    quotas = [Quota(f"{path}.rate_limit", rule.rate_limit)] if rule.rate_limit else []
    return tuple(quotas + [Quota(f"{path}.limits[{i}]", limit) for i, limit in enumerate(rule.limits)])


def _summary(rule: Rule) -> str:
    limits = "".join(f", at most {limit.max} per {limit.window:g}s" for limit in rule.all_limits)
    conditions = sum(1 for _ in rule.checks())
    return rule.action + limits + (f", {conditions} conditions" if conditions else "")
