"""The guard on a small MCP server of its own (it knows nothing of Trakt), through in-process client sessions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import types
from mcp.shared.exceptions import MCPError

from guard.names import shown_name
from tests.conftest import text_of
from tests.guard_server import Harness, write_policy

MODES = ["legacy", "auto"]
BASE: dict[str, Any] = {
    "version": "1",
    "default": "allow",
    "hide": ["remove_everything"],
    "rules": {
        "remove_*": {"action": "confirm", "reason": "removes data"},
        "add_item": {"action": "deny", "reason": "the catalogue is read-only this week"},
        "@comments": {"action": "allow", "rate_limit": {"max": 2, "window": 60}},
    },
}


def harness_for(tmp_path: Path, policy: dict[str, Any] | None = None) -> Harness:
    return Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", policy or BASE))


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return harness_for(tmp_path)


def decisions(h: Harness) -> list[str]:
    return [line["decision"] for line in h.audit_lines()]


@pytest.mark.parametrize("mode", MODES)
async def test_lists_leave_out_hidden_tools_and_resources_of_hidden_tools(tmp_path: Path, mode: str) -> None:
    h = harness_for(tmp_path, {**BASE, "hide": ["remove_everything", "fetch_item"]})
    async with h.client(mode) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
    assert tools == {"fetch_item_comments", "add_item", "remove_item", "sign_in"}
    assert resources == set()  # demo://items/1 follows fetch_item; demo://unguarded is unknown to the guard


@pytest.mark.parametrize(
    "name",
    [
        "remove_everything",
        "Remove_Everything",
        " remove_everything\n",
        "remove_everythіng",
        "remove_\u200beverything",
        "remove everything",
        "ｒｅｍｏｖｅ＿everything",
        "remove-everything",
    ],
)
async def test_a_hidden_tool_called_by_any_variant_of_its_name_answers_like_a_tool_that_does_not_exist(
    h: Harness, name: str
) -> None:
    async with h.client() as client:
        with pytest.raises(MCPError) as hidden:
            await client.call_tool(name, {})
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("never_registered", {})
    # The spec's answer to an unknown tool (-32602), the same shape for a hidden one.
    shown = shown_name(name)  # a name with unprintable characters comes back escaped
    assert (hidden.value.error.code, hidden.value.error.message) == (-32602, f"Unknown tool: {shown}")
    assert hidden.value.error.data == {"name": shown}
    assert (unknown.value.error.code, unknown.value.error.data) == (-32602, {"name": "never_registered"})
    assert h.ran == []
    assert decisions(h) == ["hidden", "denied"]  # the audit alone tells them apart


@pytest.mark.parametrize("mode", MODES)
async def test_a_denied_tool_is_listed_but_every_call_fails_with_the_rules_reason(h: Harness, mode: str) -> None:
    async with h.client(mode, answer="accept") as client:
        assert "add_item" in {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("add_item", {"id": 3})
    assert result.is_error
    assert "the catalogue is read-only this week" in text_of(result)
    assert 'rules."add_item"' in text_of(result) and "did not run" in text_of(result)
    assert h.ran == [] and h.questions == []
    [line] = h.audit_lines()
    assert (line["decision"], line["rule"], line["outcome"]) == ("denied", 'rules."add_item"', "blocked")


async def test_an_allowed_call_runs_and_is_audited_with_outcome_and_duration(h: Harness) -> None:
    async with h.client() as client:
        result = await client.call_tool("fetch_item", {"id": 7})
    assert not result.is_error and "fetch_item ran with id=7" in text_of(result)
    [line] = h.audit_lines()
    assert line["decision"] == "allowed" and line["rule"] == "default" and line["outcome"] == "ok"
    assert line["arguments"] == {"id": 7} and line["client"] and line["duration_ms"] >= 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("answer", "runs"), [("accept", True), ("decline", False), ("cancel", False)])
async def test_confirm_asks_the_human_with_the_effect_sentence(h: Harness, mode: str, answer: str, runs: bool) -> None:
    async with h.client(mode, answer=answer) as client:
        result = await client.call_tool("remove_item", {"id": 5})
    assert h.questions and "Permanently remove item #5" in h.questions[0]
    if runs:
        assert not result.is_error and h.ran == [("remove_item", {"id": 5, "note": ""})]
        assert decisions(h) == ["confirmed"]
    else:
        said = "declined" if answer == "decline" else "dismissed the question without answering"
        assert result.is_error and f"The user {said}: Permanently remove item #5" in text_of(result)
        assert h.ran == [] and decisions(h) == ["declined"]
    [line] = h.audit_lines()
    assert (line["channel"], line["answered_by"]) == ("host", "host")


async def test_require_approval_is_a_synonym_of_confirm(tmp_path: Path) -> None:
    h = harness_for(
        tmp_path, {"version": "1", "default": "allow", "rules": {"add_item": {"action": "require_approval"}}}
    )
    async with h.client(answer="decline") as client:
        result = await client.call_tool("add_item", {"id": 1})
    assert result.is_error and h.questions and h.ran == []


async def test_invalid_arguments_to_a_confirmed_tool_fail_without_asking(h: Harness) -> None:
    async with h.client(answer="accept") as client:
        result = await client.call_tool("remove_item", {"id": "seven"})
    assert result.is_error and "id: expected an integer" in text_of(result)
    assert h.questions == [] and h.ran == []


def approval_code(result: types.CallToolResult) -> str:
    match = re.search(r"`demo approve ([A-Z2-9]{4}-[A-Z2-9]{4})`", text_of(result))
    assert match, text_of(result)
    return match.group(1)


@pytest.mark.parametrize("mode", MODES)
async def test_without_elicitation_an_out_of_band_approval_lets_the_same_call_run_exactly_once(
    h: Harness, mode: str
) -> None:
    async with h.client(mode) as client:
        first = await client.call_tool("remove_item", {"id": 1})
        assert first.is_error and "Permanently remove item #1" in text_of(first)
        code = approval_code(first)
        assert approval_code(await client.call_tool("remove_item", {"id": 1})) == code  # asking again: same code
        h.approvals.decide(code, approve=True)
        other = await client.call_tool("remove_item", {"id": 2})  # a changed argument is not approved
        assert other.is_error and approval_code(other) != code
        ran = await client.call_tool("remove_item", {"id": 1})
        assert not ran.is_error and "remove_item ran with id=1" in text_of(ran)
        replay = await client.call_tool("remove_item", {"id": 1})  # single use
        assert replay.is_error and approval_code(replay) != code
    assert h.ran == [("remove_item", {"id": 1, "note": ""})]
    assert decisions(h) == ["approval_pending"] * 3 + ["confirmed", "approval_pending"]


async def test_an_out_of_band_approval_expires(h: Harness) -> None:
    async with h.client() as client:
        code = approval_code(await client.call_tool("remove_item", {"id": 1}))
        h.approvals.decide(code, approve=True)
        h.clock.now += 301
        late = await client.call_tool("remove_item", {"id": 1})
    assert late.is_error and approval_code(late) != code and h.ran == []


async def test_a_declined_out_of_band_approval_is_discarded(h: Harness) -> None:
    async with h.client() as client:
        code = approval_code(await client.call_tool("remove_item", {"id": 1}))
        h.approvals.decide(code, approve=False)
        again = await client.call_tool("remove_item", {"id": 1})
    assert again.is_error and approval_code(again) != code and h.ran == []


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limit_is_a_sliding_window_and_says_when_to_retry(h: Harness, mode: str) -> None:
    async with h.client(mode) as client:
        assert not (await client.call_tool("fetch_item_comments", {"id": 1})).is_error
        h.clock.now += 30
        assert not (await client.call_tool("fetch_item_comments", {"id": 2})).is_error
        h.clock.now += 10
        limited = await client.call_tool("fetch_item_comments", {"id": 3})
        assert limited.is_error and "at most 2 calls per 60 s" in text_of(limited)
        assert "retry in 20 s" in text_of(limited)
        h.clock.now += 21  # the first call left the window; the second is still in it
        assert not (await client.call_tool("fetch_item_comments", {"id": 4})).is_error
        assert (await client.call_tool("fetch_item_comments", {"id": 5})).is_error
    assert [args["id"] for _, args in h.ran] == [1, 2, 4]
    assert decisions(h) == ["allowed", "allowed", "rate_limited", "allowed", "rate_limited"]


async def test_concurrent_flooding_never_exceeds_the_limit_and_audits_every_call_once(h: Harness) -> None:
    results: list[types.CallToolResult] = []
    async with h.client() as client:

        async def call(index: int) -> None:
            results.append(await client.call_tool("fetch_item_comments", {"id": index}))

        async with anyio.create_task_group() as group:
            for index in range(30):
                group.start_soon(call, index)
    assert len(h.ran) == 2
    assert sum(not r.is_error for r in results) == 2
    lines = h.audit_lines()
    assert len(lines) == 30 and sorted(line["arguments"]["id"] for line in lines) == list(range(30))
    assert decisions(h).count("rate_limited") == 28


async def test_concurrent_calls_produce_exactly_one_whole_audit_line_each(h: Harness) -> None:
    async with h.client() as client, anyio.create_task_group() as group:
        for index in range(60):
            group.start_soon(client.call_tool, "fetch_item", {"id": index, "note": "x" * 500})
    raw = (h.home / "audit.jsonl").read_text().splitlines()
    assert len(raw) == 60
    assert sorted(json.loads(line)["arguments"]["id"] for line in raw) == list(range(60))


async def test_secrets_never_reach_the_audit_log(h: Harness) -> None:
    async with h.client() as client:
        await client.call_tool("sign_in", {"token": "sekrit-value-123", "note": "hello"})
    text = (h.home / "audit.jsonl").read_text()
    assert "sekrit" not in text
    assert h.audit_lines()[0]["arguments"] == {"token": "[redacted]", "note": "hello"}


@pytest.mark.parametrize("mode", MODES)
async def test_resources_follow_the_rule_of_the_tool_they_expose(tmp_path: Path, mode: str) -> None:
    h = harness_for(tmp_path, {"version": "1", "default": "allow", "rules": {"fetch_item": {"action": "allow"}}})
    async with h.client(mode) as client:
        assert {str(r.uri) for r in (await client.list_resources()).resources} == {"demo://items/1"}
        assert (await client.read_resource("demo://items/1")).contents
        with pytest.raises(MCPError, match="Unknown resource: demo://unguarded"):
            await client.read_resource("demo://unguarded")  # not in the catalog: fail closed
    for action, expected in (("deny", "the items are private"), ("hide", "Unknown resource: demo://items/1")):
        policy: dict[str, Any] = {"version": "1", "default": "allow"}
        if action == "hide":
            policy["hide"] = ["fetch_item"]
        else:
            policy["rules"] = {"fetch_item": {"action": "deny", "reason": "the items are private"}}
        blocked = harness_for(tmp_path / action, policy)
        async with blocked.client(mode) as client:
            with pytest.raises(MCPError, match=expected):
                await client.read_resource("demo://items/1")
        assert blocked.ran == []
        assert blocked.audit_lines()[0]["resource"] == "demo://items/1"
    assert h.ran == [("demo://items/1", {})]


async def test_a_resource_of_a_confirmed_tool_asks_first(tmp_path: Path) -> None:
    h = harness_for(tmp_path, {"version": "1", "default": "allow", "rules": {"fetch_item": {"action": "confirm"}}})
    async with h.client(answer="decline") as client:
        with pytest.raises(MCPError, match="The user declined"):
            await client.read_resource("demo://items/1")
    assert h.questions and h.ran == []


async def test_an_internal_guard_failure_blocks_the_call_and_the_server_keeps_serving(h: Harness) -> None:
    async def broken(tool: str, arguments: dict[str, Any]) -> str:
        raise RuntimeError("boom")

    h.watcher.engine.catalog.__dict__["describe"] = broken  # frozen dataclass: patch for this test only
    async with h.client(answer="accept") as client:
        blocked = await client.call_tool("remove_item", {"id": 1})
        assert blocked.is_error and "guard could not decide" in text_of(blocked)
        assert not (await client.call_tool("fetch_item", {"id": 1})).is_error
    assert h.ran == [("fetch_item", {"id": 1, "note": ""})]


async def test_hot_reload_applies_edits_keeps_the_last_good_policy_and_notifies(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    notifications: list[Any] = []

    async def on_message(message: Any) -> None:
        notifications.append(message)

    async with h.client(message_handler=on_message) as client:
        capabilities = client.server_capabilities
        assert capabilities.tools and capabilities.tools.list_changed, "the handshake must promise list_changed"
        assert capabilities.resources and capabilities.resources.list_changed
        assert "add_item" in {t.name for t in (await client.list_tools()).tools}
        write_policy(h.policy_path, {**BASE, "hide": ["remove_everything", "add_item"]})
        assert "add_item" in {t.name for t in (await client.list_tools()).tools}  # checked at most once a second
        h.clock.now += 1.5
        assert "add_item" not in {t.name for t in (await client.list_tools()).tools}
        await anyio.sleep(0.05)
        assert any("tools/list_changed" in repr(n) or "ToolListChanged" in repr(n) for n in notifications)

        h.policy_path.write_text('{"version": "1", "default": "allow", "rules": {"no_such_tool": {"action": "allow"}}}')
        h.clock.now += 1.5
        assert not (await client.call_tool("fetch_item", {"id": 1})).is_error  # the last good policy is in force
        assert "add_item" not in {t.name for t in (await client.list_tools()).tools}
    assert h.watcher.error and 'rules."no_such_tool"' in h.watcher.error
    assert 'rules."no_such_tool"' in json.loads((h.home / "status.json").read_text())["error"]
    assert any("keeping the last good policy" in record.getMessage() for record in caplog.records)
