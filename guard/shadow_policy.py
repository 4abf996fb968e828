"""Shadow rules (`"mode": "shadow"`), split off a policy: the part that acts, and the part that would act.

The engine compiles the policy without its shadow rules (so a shadow rule never changes what happens) and, beside
it, a shadow engine: the same policy with its shadow rules in force, or a whole other policy given as the shadow
(`--shadow-policy`). guard.shadow_calls compares the two for each call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from guard.policy import Layer, Policy, Rule

L = TypeVar("L", bound=Layer)


def _with_rules(layer: L, keep: Callable[[Rule], Rule | None]) -> L:
    changes: dict[str, Any] = {}
    for field in ("rules", "tools"):
        kept = {selector: keep(rule) for selector, rule in getattr(layer, field).items()}
        changes[field] = {selector: rule for selector, rule in kept.items() if rule is not None}
    return layer.model_copy(update=changes)


def _enforced(rule: Rule) -> Rule | None:
    return None if rule.mode == "shadow" else rule


def _armed(rule: Rule) -> Rule:
    return rule.model_copy(update={"mode": "enforce"}) if rule.mode == "shadow" else rule


def _each_layer(policy: Policy, keep: Callable[[Rule], Rule | None]) -> Policy:
    identities = {name: _with_rules(identity, keep) for name, identity in policy.identities.items()}
    return _with_rules(policy, keep).model_copy(update={"identities": identities})


def has_shadow_rules(policy: Policy) -> bool:
    layers: list[Layer] = [policy, *policy.identities.values()]
    return any(entry.rule.mode == "shadow" for layer in layers for entry in layer.rule_entries())


def enforced_part(policy: Policy) -> Policy:
    """The policy without its shadow rules: what acts."""
    return _each_layer(policy, _enforced) if has_shadow_rules(policy) else policy


def armed(policy: Policy) -> Policy:
    """The policy with its shadow rules in force: what would act."""
    return _each_layer(policy, _armed) if has_shadow_rules(policy) else policy
