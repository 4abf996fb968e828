"""Capabilities: what a person lets one app (an OAuth client) do, named sets of tools a grant opens.

The host names its capabilities (`Capability`: a title, tool selectors, an offer); a policy's `capabilities` section
changes them by name (another offer, title or set of selectors) or adds its own (which must give a title and tools).
Selectors are the policy's (guard.selectors): names, globs, `@group`, `@risk`, and endpoint entries (`api:...`).
Compiled against the catalog, every tool and endpoint entry falls in exactly one capability. `offer` is
- "choice": a person may tick it (on a consent page, say);
- "always": every grant includes it;
- "off": no grant includes it, whatever a form or a token claims (off for everyone).

A caller with a grant (a set of capability names, `Engine.view(identity, grant)`) sees the tools of the "always"
capabilities and of the granted "choice" ones; every other tool is hidden for it, as a hide entry would: not listed,
refused by name, and so are the resources, completions and card data that reach it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from guard.catalog import Catalog
from guard.rules import Strict
from guard.selectors import Index

Offer = Literal["choice", "always", "off"]
#: The reason a hidden tool gives when it is outside a caller's grant.
NOT_GRANTED = "not in the capabilities this app was granted"


class Capability(Strict):
    """A named set of tools (the host's definition, or a policy's change to it: omitted fields keep the host's)."""

    title: str | None = Field(default=None, max_length=200, description="what a person reads beside its box")
    tools: list[str] | None = Field(
        default=None, description='selectors of the tools it opens: names, globs, "@group", "@risk", "api:..."'
    )
    offer: Offer | None = Field(
        default=None,
        description='"choice": a person may tick it; "always": every grant has it; "off": off for everyone',
    )


@dataclass(frozen=True)
class Compiled:
    name: str
    title: str
    offer: Offer
    tools: frozenset[str]


@dataclass(frozen=True)
class Capabilities:
    """The capabilities in force, in their order (the host's, then the policy's new ones)."""

    named: Mapping[str, Compiled]

    def offered(self) -> list[Compiled]:
        """What a person may tick."""
        return [capability for capability in self.named.values() if capability.offer == "choice"]

    def grantable(self, names: Iterable[str]) -> tuple[str, ...]:
        """The names a grant may hold: ticked, known and offered (an "off" or unknown name is dropped)."""
        chosen = set(names)
        return tuple(c.name for c in self.offered() if c.name in chosen)

    def refused(self, names: Iterable[str]) -> list[str]:
        """The names a person asked for that no grant may hold (off for everyone, always given, or unknown)."""
        offered = {capability.name for capability in self.offered()}
        return sorted(set(names) - offered)

    def opened(self, grant: Collection[str]) -> frozenset[str]:
        """Every tool a grant opens: its offered capabilities' and the "always" ones'."""
        opened: set[str] = set()
        for capability in self.named.values():
            if capability.offer == "always" or (capability.offer == "choice" and capability.name in grant):
                opened |= capability.tools
        return frozenset(opened)

    def of_tool(self, tool: str) -> Compiled | None:
        return next((capability for capability in self.named.values() if tool in capability.tools), None)

    def path_of(self, tool: str) -> str:
        """The JSON path of the capability that holds the tool (what a refusal names)."""
        holder = self.of_tool(tool)
        return "capabilities" if holder is None else f"capabilities.{json.dumps(holder.name)}"


def compile_capabilities(
    host: Mapping[str, Capability],
    policy: Mapping[str, Capability],
    catalog: Catalog,
    no_match: Callable[[str, str], str],
) -> tuple[Capabilities | None, list[str]]:
    """The capabilities in force and the problems found (each names its JSON path and the fix). None when neither
    the host nor the policy names any. `no_match(path, selector)` explains a selector that matches no tool."""
    if not host and not policy:
        return None, []
    problems: list[str] = []
    named: dict[str, Compiled] = {}
    folded = Index(catalog)
    for name in [*host, *(name for name in policy if name not in host)]:
        path = f"capabilities.{json.dumps(name)}"
        merged = _merged(host.get(name), policy.get(name))
        if merged.tools is None or merged.title is None:
            missing = "tools" if merged.tools is None else "title"
            problems.append(
                f"{path}.{missing}: required for a capability the server does not define. Fix: add it, or use one "
                f"of {', '.join(json.dumps(known) for known in host)}"
            )
            continue
        tools: set[str] = set()
        for index, selector in enumerate(merged.tools):
            matched = folded.matching(selector)
            if not matched:
                problems.append(no_match(f"{path}.tools[{index}]", selector))
            tools |= matched
        named[name] = Compiled(name, merged.title, merged.offer or "choice", frozenset(tools))
    problems += _coverage(named, catalog)
    return Capabilities(named), problems


def _merged(host: Capability | None, change: Capability | None) -> Capability:
    if host is None:
        return change or Capability()
    if change is None:
        return host
    return host.model_copy(update=change.model_dump(exclude_none=True))


def _coverage(named: Mapping[str, Compiled], catalog: Catalog) -> list[str]:
    """Each tool and endpoint entry in exactly one capability: in none, no grant could ever reach it or keep it
    out on purpose; in two, ticking one would open part of another."""
    problems, outside = [], []
    for tool in catalog.tools:
        holders = [name for name, capability in named.items() if tool in capability.tools]
        if not holders:
            outside.append(tool)
        elif len(holders) > 1:
            paths = " and ".join(f"capabilities.{json.dumps(name)}" for name in holders)
            problems.append(f"{paths} both hold {tool}. Fix: keep it in one of them")
    if outside:
        shown = ", ".join(outside[:8]) + (f" and {len(outside) - 8} more" if len(outside) > 8 else "")
        problems.append(
            f"capabilities: {shown} {'is' if len(outside) == 1 else 'are'} in no capability. Fix: add each to one "
            '(one whose offer is "always" or "off" if nobody should choose it)'
        )
    return problems[:20]
