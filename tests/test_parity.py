"""Parity with the reference surface (../shared/reference/tools.json): prompts and agents written for the reference
server keep working. For every reference tool this server serves: same name, parameters, types, defaults,
required flags and enums. Plus the catalogue's resources and prompts.

One rule differs on purpose (issue #15, portable schemas): the reference publishes optional arguments as
`anyOf: [X, null]` with `default: null`; ours publish X and no default (not required, so it may be left out).
Nullable-ness and a null default are therefore not compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Session
from trakt_mcp.tools import catalogue

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "tools.json"
PUBLIC_PREFIXES = ("trakt://shows/", "trakt://movies/")
CATALOGUE_PROMPTS = {"discover_trending", "search_entertainment"}


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    if not REFERENCE.is_file():
        pytest.skip(f"reference contract not found at {REFERENCE} (it lives next to the repository, not in it)")
    data: dict[str, Any] = json.loads(REFERENCE.read_text())
    return data


def types_of(schema: dict[str, Any]) -> set[str]:
    """{"type": "integer"} -> {"integer"}; {"anyOf": [{"type": "integer"}, {"type": "null"}]} -> {"integer"}."""
    if "anyOf" in schema:
        return set().union(*(types_of(option) for option in schema["anyOf"]))
    kind = schema.get("type")
    return (set(kind) if isinstance(kind, list) else {kind}) - {"null"}


def enum_of(schema: dict[str, Any]) -> list[Any] | None:
    """The allowed values, whether given at the top or inside the non-null branch of an `anyOf`."""
    if "enum" in schema:
        return list(schema["enum"])
    values = [value for option in schema.get("anyOf", []) for value in option.get("enum", [])]
    return values or None


def default_of(schema: dict[str, Any]) -> Any:
    """The default, with `default: null` read as no default (both mean "not given")."""
    return schema.get("default")


def differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    problems = []
    if set(ours["properties"]) != set(theirs["properties"]):
        problems.append(f"parameters {sorted(ours['properties'])} != {sorted(theirs['properties'])}")
    if set(ours.get("required", [])) != set(theirs.get("required", [])):
        problems.append(f"required {ours.get('required', [])} != {theirs.get('required', [])}")
    for name, expected in theirs["properties"].items():
        got = ours["properties"].get(name)
        if got is None:
            continue
        if types_of(got) != types_of(expected):
            problems.append(f"{name}: type {types_of(got)} != {types_of(expected)}")
        if default_of(got) != default_of(expected):
            problems.append(f"{name}: default {got.get('default')!r} != {expected.get('default')!r}")
        if enum_of(got) != enum_of(expected):
            problems.append(f"{name}: enum {enum_of(got)} != {enum_of(expected)}")
    return problems


async def test_served_tools_match_the_reference(session: Session, reference: dict[str, Any]) -> None:
    async with session() as client:
        served = {tool.name: tool for tool in (await client.list_tools()).tools}
    expected = {tool["name"]: tool["inputSchema"] for tool in reference["tools"]}
    #: Catalogue tools of our own beyond the reference's 77 (issue 28's everyday tools).
    beyond = {"search_people"}
    ours = {spec.name for spec in catalogue.TOOLS} - beyond
    assert len(ours) == 53 and beyond <= {spec.name for spec in catalogue.TOOLS}
    assert set(expected) <= set(served), f"reference tools not served: {sorted(set(expected) - set(served))}"
    assert ours <= set(served), f"catalogue tools not served: {sorted(ours - set(served))}"
    assert ours <= set(expected), f"catalogue tools unknown to the reference: {sorted(ours - set(expected))}"
    problems = {
        name: differences(served[name].input_schema, schema)
        for name, schema in expected.items()
        if name in served and differences(served[name].input_schema, schema)
    }
    assert not problems, json.dumps(problems, indent=1)


async def test_served_resources_and_prompts_include_the_catalogue_ones(
    session: Session, reference: dict[str, Any]
) -> None:
    async with session() as client:
        resources = {str(r.uri): r.name for r in (await client.list_resources()).resources}
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    wanted = {r["uri"]: r["name"] for r in reference["resources"] if r["uri"].startswith(PUBLIC_PREFIXES)}
    assert len(wanted) == 13
    assert {uri: resources.get(uri) for uri in wanted} == wanted
    reference_prompts = {p["name"]: p["arguments"] for p in reference["prompts"]}
    assert set(reference_prompts) >= CATALOGUE_PROMPTS
    for name in CATALOGUE_PROMPTS:
        assert name in prompts
        arguments = prompts[name].arguments or []
        # The reference's arguments, in order; any of ours beyond them is optional, so its calls still work.
        assert [a.name for a in arguments][: len(reference_prompts[name])] == reference_prompts[name]
        assert not [a.name for a in arguments[len(reference_prompts[name]) :] if a.required]
