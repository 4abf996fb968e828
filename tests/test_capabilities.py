"""Capabilities (guard.capabilities) and Trakt's (trakt_mcp.server.capabilities): every one of the 93 tools and every
endpoint of the generic tool falls in exactly one; the policy's `capabilities` section is validated with errors
that name the field; a grant opens only its offered capabilities, never an "off" one."""

from __future__ import annotations

from typing import Any

import pytest

from guard.engine import Engine
from guard.policy import PolicyError, parse_policy
from trakt_mcp.server.capabilities import CAPABILITIES
from trakt_mcp.server.guarded import build_catalog
from trakt_mcp.tools import tools_by_name
from trakt_mcp.tools.endpoints import catalogue

CATALOG = build_catalog(None)


def engine(**policy: Any) -> Engine:
    document = parse_policy({"version": "1", "default": "allow", **policy})
    return Engine(document, CATALOG, people=True, capabilities=CAPABILITIES)


def problems(**policy: Any) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        engine(**policy)
    return raised.value.problems


def test_every_tool_and_every_endpoint_falls_in_exactly_one_capability() -> None:
    compiled = engine().capabilities
    assert compiled is not None
    names = set(tools_by_name()) | {f"api:{entry.key}" for entry in catalogue()}
    assert len(tools_by_name()) == 93 and names == set(CATALOG.tools)
    for name in names:
        holders = [c.name for c in compiled.named.values() if name in c.tools]
        assert len(holders) == 1, (name, holders)
    assert [c.name for c in compiled.offered()] == ["read", "rate", "history", "lists", "checkin", "logout"]
    offers = {c.name: c.offer for c in compiled.named.values()}
    assert offers == {
        "read": "choice",
        "rate": "choice",
        "history": "choice",
        "lists": "choice",
        "checkin": "choice",
        "logout": "choice",
        "community": "off",
        "status": "always",
        "trakt-oauth": "off",
    }
    where = {c.name: c.tools for c in compiled.named.values()}
    assert {"add_user_ratings", "api:POST /sync/ratings"} <= where["rate"]
    assert {"add_to_history", "remove_from_history", "api:POST /sync/history/remove"} <= where["history"]
    assert {"add_user_watchlist", "delete_user_list", "api:POST /sync/watchlist"} <= where["lists"]
    assert {"checkin_to_movie", "api:POST /checkin"} <= where["checkin"]
    assert where["logout"] == {"clear_auth"} and "api:GET /sync/watchlist/{type}/{sort_by}/{sort_how}" in where["read"]


def test_a_grant_opens_its_capabilities_and_never_one_that_is_off() -> None:
    loaded = engine(capabilities={"checkin": {"offer": "off"}, "community": {"offer": "choice"}})
    view = loaded.view("alice", {"read", "checkin", "community"})
    assert "fetch_user_watchlist" in view.visible_tools and "check_auth_status" in view.visible_tools
    assert "checkin_to_movie" not in view.visible_tools and "add_user_ratings" not in view.visible_tools
    hidden = view.decide("checkin_to_movie")
    assert hidden is not None and hidden.action == "hide" and hidden.rule == 'capabilities."checkin"'
    assert view.decide("api:POST /comments").action == "allow"  # type: ignore[union-attr]  # turned on by the policy
    assert loaded.view("alice") is loaded.view("alice") and loaded.view("alice", ["read"]) is loaded.view(
        "alice", {"read"}
    ), "a grant's view is compiled once"
    assert "add_user_ratings" in loaded.view("alice").visible_tools, "no grant (the local user): nothing hidden"
    assert loaded.capabilities is not None and loaded.capabilities.refused(["read", "checkin", "x"]) == ["checkin", "x"]


def test_the_capabilities_section_is_validated_with_errors_naming_the_field() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy({"version": "1", "capabilities": {"checkin": {"offer": "sometimes"}, "rate": {"offered": 1}}})
    found = raised.value.problems
    assert any(p.startswith('capabilities."checkin".offer:') and "'choice', 'always' or 'off'" in p for p in found)
    assert any(p.startswith('capabilities."rate".offered: unknown key') and "offer" in p for p in found), found
    assert problems(capabilities={"mine": {"offer": "choice"}})[0].startswith(
        'capabilities."mine".tools: required for a capability the server does not define'
    )
    typo = problems(capabilities={"mine": {"title": "Mine", "tools": ["add_user_rating"]}})
    assert any(p.startswith('capabilities."mine".tools[0]: no tool is named') and "add_user_ratings" in p for p in typo)
    twice = problems(capabilities={"rate": {"tools": ["add_user_ratings", "add_to_history"]}})
    assert any('capabilities."rate" and capabilities."history" both hold add_to_history' in p for p in twice), twice
    outside = problems(capabilities={"logout": {"tools": ["check_auth_status"]}})
    assert any("clear_auth is in no capability" in p for p in outside), outside


def test_the_folded_index_matches_exactly_what_a_rule_selector_matches() -> None:
    from guard.selectors import Index, tool_level

    index = Index(CATALOG)
    selectors = [s for capability in CAPABILITIES.values() for s in capability.tools or ()]
    selectors += ["@write", "@Sync", "remove_*", "Add-User-Ratings", "api:DELETE /sync/*", "@destructive", "*", "x"]
    for selector in selectors:
        expected = {tool.name for tool in CATALOG.tools.values() if tool_level(selector, tool) is not None}
        assert index.matching(selector) == expected, selector
