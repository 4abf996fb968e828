"""Selectors: how a policy names tools. An exact name, a glob (`remove_*`), `@group` or `@risk`; case, spacing and
look-alike characters fold away (guard.names). The precedence level at which a selector matches is what orders
rules (guard.engine); capabilities (guard.capabilities) use the same selectors."""

from __future__ import annotations

from fnmatch import fnmatchcase

from guard.catalog import Catalog, ToolInfo
from guard.names import skeleton

GLOB_CHARS = frozenset("*?[")


def selector_level(selector: str, name: str, group: str, risk: str) -> int | None:
    """The precedence level at which `selector` matches this tool, or None."""
    key = skeleton(selector)
    if key.startswith("@"):
        category = key[1:]
        if category == skeleton(group):
            return 2
        return 3 if category == risk else None
    if GLOB_CHARS & set(key):
        return 1 if fnmatchcase(skeleton(name), key) else None
    return 0 if key == skeleton(name) else None


def tool_level(selector: str, tool: ToolInfo) -> int | None:
    """As selector_level; a routed tool is judged by its endpoint's risk class, never by its own."""
    return selector_level(selector, tool.name, tool.group, "" if tool.routed else tool.risk)


def matches_any(selector: str, catalog: Catalog) -> bool:
    return any(tool_level(selector, tool) is not None for tool in catalog.tools.values())
