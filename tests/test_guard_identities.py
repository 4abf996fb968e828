"""Per-identity grants: an identity can only be stricter than the top level; each identity has its own rate-limit
windows; audit lines name it; an undeclared identity gets nothing; a client's self-reported name grants nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from mcp import types
from mcp.shared.exceptions import MCPError

from guard.catalog import Catalog
from guard.engine import Engine
from guard.policy import PolicyError, identity_for_token, parse_policy
from tests.conftest import text_of
from tests.guard_server import RESOURCES, TOOLS, Harness, write_policy


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


POLICY: dict[str, Any] = {
    "version": "1",
    "default": "allow",
    "rules": {
        "add_item": {"action": "deny", "reason": "read-only week"},
        "remove_*": {"action": "confirm"},
        "@comments": {"action": "allow", "rate_limit": {"max": 2, "window": 60}},
    },
    "identities": {
        "kid": {
            "token_sha256": sha("kid-token"),
            "default": "allow",
            "hide": ["remove_*"],
            "rules": {
                "fetch_item": {"action": "confirm", "reason": "ask a parent"},
                "sign_in": {"action": "allow", "deny_if": [{"arg": "note", "glob": "*admin*"}]},
            },
        },
        "ops": {"token_sha256": sha("ops-token"), "tools": {"fetch_item": {"limits": [{"window": 60, "max": 1}]}}},
    },
}


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", POLICY))


async def visible(h: Harness, **options: Any) -> set[str]:
    async with h.client(**options) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_an_identity_is_stricter_where_it_says_so_and_the_top_level_elsewhere(h: Harness) -> None:
    everything = {"fetch_item", "fetch_item_comments", "add_item", "remove_item", "remove_everything", "sign_in"}
    assert await visible(h) == everything
    h.caller = "kid"
    assert await visible(h) == everything - {"remove_item", "remove_everything"}
    async with h.client(answer="decline") as client:
        asked = await client.call_tool("fetch_item", {"id": 1})  # top level allows; kid confirms
        denied = await client.call_tool("add_item", {"id": 1})  # kid's default allow cannot loosen the top deny
        with pytest.raises(MCPError, match=r"^Unknown tool: remove_item$"):
            await client.call_tool("remove_item", {"id": 1})
        blocked = await client.call_tool("sign_in", {"note": "make me admin"})  # kid's own condition
        signed = await client.call_tool("sign_in", {"note": "hello"})
    # kid's own client is not trusted to answer (no trust_host): the owner is asked at the terminal instead
    assert asked.is_error and "Needs the owner's approval" in text_of(asked) and h.questions == []
    assert denied.is_error and "read-only week" in text_of(denied)
    assert 'identities."kid".rules."sign_in".deny_if[0] (note matches "*admin*")' in text_of(blocked)
    assert not signed.is_error
    assert h.ran == [("sign_in", {"id": 0, "note": "hello"})]
    assert {line["identity"] for line in h.audit_lines()} == {"kid"}


def test_an_identity_rule_that_could_only_loosen_is_refused() -> None:
    catalog = Catalog.build(TOOLS, RESOURCES)
    looser = {**POLICY, "identities": {"x": {"token_sha256": sha("x"), "rules": {"add_item": {"action": "allow"}}}}}
    with pytest.raises(PolicyError) as caught:
        Engine(parse_policy(looser), catalog)
    assert (
        'identities."x".rules."add_item": allow cannot loosen the top level, which decides deny for add_item '
        '(rules."add_item"); an identity can only be stricter' in str(caught.value)
    )
    # a group rule that tightens some tools and merely restates others is fine
    mixed = {**POLICY, "identities": {"x": {"token_sha256": sha("x"), "rules": {"@items": {"action": "confirm"}}}}}
    loaded = Engine(parse_policy(mixed), catalog)
    assert [loaded.decide(n, "x").action for n in ("fetch_item", "add_item", "remove_item")] == [  # type: ignore[union-attr]
        "confirm",
        "deny",
        "confirm",
    ]


async def test_each_identity_has_its_own_rate_limit_windows(h: Harness) -> None:
    for caller in ("kid", "ops", None):
        h.caller = caller
        async with h.client() as client:
            results = [await client.call_tool("fetch_item_comments", {"id": i}) for i in range(3)]
        assert [r.is_error for r in results] == [False, False, True], caller
        assert "at most 2 calls per 60 s" in text_of(results[2])
    h.caller = "ops"  # ops also has its own, tighter, window on fetch_item; the local user has none
    async with h.client() as client:
        assert not (await client.call_tool("fetch_item", {"id": 1})).is_error
        limited = await client.call_tool("fetch_item", {"id": 2})
    assert limited.is_error and 'identities."ops".tools."fetch_item".limits[0]' in text_of(limited)
    h.caller = None
    async with h.client() as client:
        assert not (await client.call_tool("fetch_item", {"id": 3})).is_error
    limited_lines = [line for line in h.audit_lines() if line["decision"] == "rate_limited"]
    assert [line["identity"] for line in limited_lines] == ["kid", "ops", None, "ops"]


async def test_an_undeclared_identity_gets_nothing(h: Harness) -> None:
    h.caller = "mallory"
    async with h.client() as client:
        result = await client.call_tool("fetch_item", {"id": 1})
        with pytest.raises(MCPError, match='identity "mallory" is not declared'):
            await client.list_tools()
        with pytest.raises(MCPError, match="not declared"):
            await client.read_resource("demo://items/1")
    assert result.is_error and 'identity "mallory" is not declared in the policy in force' in text_of(result)
    assert h.ran == []
    [line] = h.audit_lines()
    assert (line["identity"], line["decision"], line["outcome"]) == ("mallory", "denied", "blocked")


async def test_an_identity_removed_by_a_reload_gets_nothing_from_then_on(h: Harness) -> None:
    h.caller = "ops"
    async with h.client() as client:
        assert not (await client.call_tool("fetch_item", {"id": 1})).is_error
        write_policy(h.policy_path, {**POLICY, "identities": {"kid": POLICY["identities"]["kid"]}})
        h.clock.now += 2
        assert (await client.call_tool("fetch_item", {"id": 2})).is_error
    assert h.ran == [("fetch_item", {"id": 1, "note": ""})]


async def test_the_clients_self_reported_name_is_recorded_and_grants_nothing(h: Harness) -> None:
    kid = types.Implementation(name="kid", version="1")
    assert "remove_item" in await visible(h, client_info=kid)  # stdio: the local user, whatever the client says
    async with h.client(client_info=kid) as client:
        assert not (await client.call_tool("fetch_item", {"id": 1})).is_error  # kid would have to confirm
    [line] = h.audit_lines()
    assert (line["identity"], line["client"]) == (None, "kid")


def test_identity_for_token_compares_digests_and_never_needs_the_token_in_the_file() -> None:
    policy = parse_policy(POLICY)
    assert identity_for_token(policy, "kid-token") == "kid"
    assert identity_for_token(policy, "ops-token") == "ops"
    assert identity_for_token(policy, "kid-token ") is None
    assert identity_for_token(policy, "") is None
    assert identity_for_token(parse_policy({"version": "1"}), "kid-token") is None


@pytest.mark.parametrize(
    ("identities", "expected"),
    [
        ({"a": {"token_sha256": "kid-token"}}, 'identities."a".token_sha256: must be 64 lowercase hexadecimal'),
        ({"a": {"token_sha256": sha("t").upper()}}, 'identities."a".token_sha256: must be 64 lowercase'),
        ({"a": {}}, 'identities."a".token_sha256: required'),
        (
            {"a": {"token_sha256": sha("t")}, "b": {"token_sha256": sha("t")}},
            'identities."b".token_sha256: the same digest as identities."a"',
        ),
        ({"a b": {"token_sha256": sha("t")}}, 'identities."a b": not an identity name'),
        ({"a": {"token_sha256": sha("t"), "token": "t"}}, 'identities."a".token: unknown key'),
        ({"a": {"token_sha256": sha("t"), "hide": ["nope"]}}, 'identities."a".hide[0]: no tool is named "nope"'),
        (
            {"a": {"token_sha256": sha("t"), "rules": {"fetch_item": {"action": "deny", "deny_if": [{"arg": "x"}]}}}},
            'identities."a".rules."fetch_item".deny_if[0]: needs exactly one of',
        ),
    ],
)
def test_invalid_identities_are_refused_naming_the_json_path(identities: dict[str, Any], expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        Engine(parse_policy({"version": "1", "identities": identities}), Catalog.build(TOOLS, RESOURCES))
    assert expected in str(caught.value)
