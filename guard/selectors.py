"""Selectors: how a policy names tools. An exact name, a glob (`remove_*`), `@group` or `@risk`; case, spacing and
look-alike characters fold away (guard.names). The precedence level at which a selector matches is what orders
rules (guard.engine); capabilities (guard.capabilities) use the same selectors."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase, translate
from functools import lru_cache

from guard.catalog import Catalog, ToolInfo
from guard.names import skeleton

GLOB_CHARS = frozenset("*?[")


@lru_cache(maxsize=8192)
def _key(text: str) -> str:
    """A selector's, tool's or group's skeleton, folded once: compiling capabilities and rules matches every
    selector against every tool and endpoint (a few hundred), and folding is the costly part."""
    return skeleton(text)


def selector_level(selector: str, name: str, group: str, risk: str) -> int | None:
    """The precedence level at which `selector` matches this tool, or None."""
    key = _key(selector)
    if key.startswith("@"):
        category = key[1:]
        if category == _key(group):
            return 2
        return 3 if category == risk else None
    if GLOB_CHARS & set(key):
        return 1 if fnmatchcase(_key(name), key) else None
    return 0 if key == _key(name) else None


def tool_level(selector: str, tool: ToolInfo) -> int | None:
    """As selector_level; a routed tool is judged by its endpoint's risk class, never by its own."""
    return selector_level(selector, tool.name, tool.group, "" if tool.routed else tool.risk)


def matches_any(selector: str, catalog: Catalog) -> bool:
    return any(tool_level(selector, tool) is not None for tool in catalog.tools.values())


class Index:
    """A catalog's tools folded once, to find every tool many selectors match (as `tool_level` would) quickly."""

    def __init__(self, catalog: Catalog) -> None:
        self.rows = [
            (tool.name, _key(tool.name), _key(tool.group), "" if tool.routed else tool.risk)
            for tool in catalog.tools.values()
        ]
        self.by_key: dict[str, set[str]] = {}
        for name, key, _, _ in self.rows:
            self.by_key.setdefault(key, set()).add(name)

    def matching(self, selector: str) -> set[str]:
        key = _key(selector)
        if key.startswith("@"):
            category = key[1:]
            return {name for name, _, group, risk in self.rows if category in (group, risk)}
        if GLOB_CHARS & set(key):
            match = re.compile(translate(key)).match
            return {name for name, folded, _, _ in self.rows if match(folded)}
        return set(self.by_key.get(key, ()))
