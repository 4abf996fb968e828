"""`policy init`: a starter policy written from the catalogue's risk classes, and cases that test it.

- read-only: reading and signing in only; every write and destructive tool is hidden.
- careful: reading allowed; every write is confirmed; destructive tools are confirmed and limited to 5 an hour.
- open: everything allowed (as an unguarded server), with a shared ceiling of 300 calls an hour.

The cases are generated from the same catalogue: for each risk class, its first tool whose arguments can be made
from its input schema, with the verdict the preset means for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard.catalog import Catalog, InvalidArguments
from guard.engine import matches_any
from guard.policy import parse_policy

PRESETS: dict[str, str] = {
    "read-only": "reading and signing in only; every write and destructive tool is hidden",
    "careful": "reading allowed; every write confirmed; destructive tools confirmed and limited to 5 an hour",
    "open": "everything allowed, as an unguarded server would; a shared ceiling of 300 calls an hour",
}
DESTRUCTIVE_PER_HOUR = 5
#: What each preset means for each risk class (the verdict a first call gets).
EXPECTED: dict[str, dict[str, str]] = {
    "read-only": {"read": "allow", "auth": "allow", "write": "hide", "destructive": "hide"},
    "careful": {"read": "allow", "auth": "allow", "write": "confirm", "destructive": "confirm"},
    "open": {"read": "allow", "auth": "allow", "write": "allow", "destructive": "allow"},
}


def starter_policy(preset: str, catalog: Catalog) -> dict[str, Any]:
    """The policy document for `preset`, naming only the risk classes the catalogue has."""
    described = f"Starter policy ({preset}): {PRESETS[preset]}. Written by `policy init`; edit freely."
    document: dict[str, Any] = {"$schema": "./policy.schema.json", "description": described, "version": "1"}
    if preset == "open":
        document |= {"default": "allow", "all_tools": {"limits": [{"max": 300, "window": "hour"}]}}
    elif preset == "read-only":
        document |= {
            "default": "deny",
            "hide": ["@write", "@destructive"],
            "rules": {"@read": {"action": "allow"}, "@auth": {"action": "allow"}},
        }
    else:
        destructive = {
            "action": "confirm",
            "reason": "removes data from the account",
            "rate_limit": {"max": DESTRUCTIVE_PER_HOUR, "window": "hour"},
        }
        document |= {
            "default": "deny",
            "rules": {
                "@read": {"action": "allow"},
                "@auth": {"action": "allow"},
                "@write": {"action": "confirm", "reason": "changes the account"},
                "@destructive": destructive,
            },
        }
    hide = [name for selector in document.get("hide", []) for name in _selectors(selector, catalog)]
    document["hide"] = hide or None
    rules = {
        name: rule for selector, rule in document.get("rules", {}).items() for name in _selectors(selector, catalog)
    }
    document["rules"] = rules or None
    cleaned = {key: value for key, value in document.items() if value is not None}
    parse_policy(cleaned, f"preset {preset}")  # a preset that does not load is a bug, not a file to write
    return cleaned


def _selectors(risk_selector: str, catalog: Catalog) -> list[str]:
    """How to name a risk class: `@write`, unless a tool group has the same name (`@auth` would then select the
    group, sign-out included), in which case the tools of that risk class one by one."""
    risk = risk_selector.removeprefix("@")
    if not matches_any(risk_selector, catalog):
        return []
    if all(tool.risk == risk for tool in catalog.tools.values() if tool.group == risk):
        return [risk_selector]
    return sorted(tool.name for tool in catalog.tools.values() if tool.risk == risk)


def starter_cases(preset: str, catalog: Catalog, policy_name: str) -> dict[str, Any]:
    """Cases for the starter policy: one tool of each risk class, and the destructive limit for `careful`."""
    cases: list[dict[str, Any]] = []
    for risk, verdict in EXPECTED[preset].items():
        found = _callable_tool(catalog, risk)
        if found is None:
            continue
        tool, arguments = found
        cases.append({"name": f"@{risk}: {tool} -> {verdict}", "tool": tool, "arguments": arguments, "expect": verdict})
        if preset == "careful" and risk == "destructive":
            cases.append(
                {
                    "name": f"@destructive: call {DESTRUCTIVE_PER_HOUR + 1} of {tool} in an hour -> limited",
                    "tool": tool,
                    "arguments": arguments,
                    "expect": "limited",
                    "calls": DESTRUCTIVE_PER_HOUR + 1,
                }
            )
    return {"policy": policy_name, "description": f"cases for the {preset} starter policy", "cases": cases}


def _callable_tool(catalog: Catalog, risk: str) -> tuple[str, dict[str, Any]] | None:
    """The first tool of this risk class (by name) whose arguments, made from its schema, normalise."""
    for name in sorted(t.name for t in catalog.tools.values() if t.risk == risk):
        schema = catalog.tools[name].input_schema or {}
        arguments = example(schema, schema)
        if not isinstance(arguments, dict):
            continue
        try:
            if catalog.normalize is not None:
                catalog.normalize(name, dict(arguments))
        except InvalidArguments:
            continue
        return name, arguments
    return None


def example(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """A small value that satisfies `schema`: required properties only, the first enum value, the minimum."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return example(root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}), root)
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return example(options[0], root)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        value = {name: example(properties.get(name, {}), root) for name in required}
        if not value and properties and schema.get("minProperties"):
            first = next(iter(properties))
            value[first] = example(properties[first], root)
        return value
    if kind == "array":
        return [example(schema.get("items", {}), root) for _ in range(max(1, schema.get("minItems", 0)))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    return "example"
