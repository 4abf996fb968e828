"""Policy loading and decisions: every invalid policy is refused with its JSON path and a fix; precedence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import types

from guard.catalog import Catalog
from guard.engine import Engine
from guard.policy import PolicyError, parse_policy, policy_schema, read_policy
from tests.guard_server import RESOURCES, TOOLS, Harness, write_policy

CATALOG = Catalog.build(TOOLS, RESOURCES)


def engine(policy: dict[str, Any]) -> Engine:
    return Engine(parse_policy(policy), CATALOG)


def rules(**entries: Any) -> dict[str, Any]:
    return {"version": "1", "default": "allow", "rules": entries}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            {"version": "1", "mode": "strict"},
            "mode: unknown key. Fix: remove it or correct its spelling (allowed here: ",
        ),
        (rules(add_item={"action": "deny", "why": "x"}), 'rules."add_item".why: unknown key'),
        (
            rules(add_itme={"action": "deny"}),
            'rules."add_itme": no tool is named "add_itme". Fix: did you mean "add_item"',
        ),
        (
            rules(**{"fetch_*_ratings": {"action": "deny"}}),
            'rules."fetch_*_ratings": the glob "fetch_*_ratings" matches no',
        ),
        (
            rules(**{"@sync": {"action": "deny"}}),
            'rules."@sync": no tool is in the group or risk class "@sync". Fix: use one of',
        ),
        (rules(add_item={"action": "maybe"}), 'rules."add_item".action: Input should be'),
        (
            rules(add_item={"action": "allow", "rate_limit": {"max": 0, "window": 60}}),
            "rate_limit.max: Input should be greater",
        ),
        (
            rules(add_item={"action": "allow", "rate_limit": {"max": "10", "window": 60}}),
            "rate_limit.max: Input should be a valid integer",
        ),
        (rules(add_item={"action": "allow", "rate_limit": {"max": 2.5, "window": 60}}), "rate_limit.max"),
        (
            rules(add_item={"action": "allow", "rate_limit": {"max": 1, "window": -1}}),
            "rate_limit.window: Input should be greater than 0",
        ),
        (
            rules(add_item={"action": "allow", "rate_limit": {"max": 1, "window": "fortnight"}}),
            "rate_limit.window: must be a number of seconds or one of day, hour",
        ),
        (
            rules(add_item={"action": "allow", "rate_limit": {"max": 1, "window": float("nan")}}),
            "rate_limit.window: must be a finite",
        ),
        (rules(add_item={"action": "allow", "rate_limit": {"max": 1}}), "rate_limit.window: required. Fix: add it"),
        ({"version": "2"}, "version: Input should be '1'"),
        ({"default": "allow"}, "version: required"),
        ({"version": "1", "hide": ["nope"]}, 'hide[0]: no tool is named "nope"'),
        ({"version": "1", "default": "allow-all"}, "default: Input should be 'allow', 'deny' or 'confirm'"),
        (
            rules(**{"remove_*": {"action": "deny"}, "*_item": {"action": "confirm"}}),
            'rules."remove_*" and rules."*_item" both match remove_item at the same precedence (glob) but disagree '
            '(deny vs confirm). Fix: add a rule for "remove_item" itself, or make them agree',
        ),
        (
            rules(
                **{
                    "@read": {"action": "allow", "rate_limit": {"max": 1, "window": 1}},
                    "@comments": {"action": "allow"},
                    "@items": {"action": "deny"},
                    "fetch_item": {"action": "allow"},
                    "Fetch_Item": {"action": "deny"},
                }
            ),
            'rules."fetch_item" and rules."Fetch_Item" both match fetch_item at the same precedence (exact name)',
        ),
    ],
)
def test_invalid_policies_are_refused_naming_the_json_path_and_the_fix(policy: dict[str, Any], expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        engine(policy)
    assert expected in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        engine(rules(nope={"action": "deny"}, **{"zzz_*": {"action": "deny"}}))
    assert len(caught.value.problems) == 2


def test_a_file_that_is_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"version": "1",\n "default": allow}')
    with pytest.raises(PolicyError, match="not JSON: Expecting value at line 2 column 13"):
        read_policy(path)
    path.write_text('{"version": "1", "rules": {"x": ' + "[" * 5000 + "]" * 5000 + "}}")
    with pytest.raises(PolicyError, match="nested deeper than 64 levels"):  # a error, not a RecursionError
        read_policy(path)
    with pytest.raises(PolicyError, match="cannot read the file"):
        read_policy(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("entries", "tool", "action", "rule"),
    [
        (
            {"remove_item": {"action": "allow"}, "remove_*": {"action": "deny"}},
            "remove_item",
            "allow",
            'rules."remove_item"',
        ),
        ({"remove_*": {"action": "deny"}, "@items": {"action": "allow"}}, "remove_item", "deny", 'rules."remove_*"'),
        (
            {"@items": {"action": "confirm"}, "@destructive": {"action": "deny"}},
            "remove_item",
            "confirm",
            'rules."@items"',
        ),
        ({"@destructive": {"action": "deny"}}, "remove_item", "deny", 'rules."@destructive"'),
        ({"@destructive": {"action": "deny"}}, "add_item", "allow", "default"),
        ({"@auth": {"action": "deny"}}, "sign_in", "deny", 'rules."@auth"'),
        (
            {"remove_*": {"action": "deny"}, "*_item": {"action": "deny", "reason": "same"}},
            "remove_item",
            "deny",
            'rules."remove_*"',
        ),
    ],
)
def test_the_most_specific_rule_decides(entries: dict[str, Any], tool: str, action: str, rule: str) -> None:
    decision = engine(rules(**entries)).decide(tool)
    assert decision is not None and (decision.action, decision.rule) == (action, rule)


def test_hide_wins_over_every_rule_and_accepts_globs_and_categories() -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "hide": ["@admin", "fetch_*"],
        "rules": {"fetch_item": {"action": "allow"}},
    }
    loaded = engine(policy)
    assert {n for n, d in loaded.decisions.items() if d.action == "hide"} == {
        "remove_everything",
        "fetch_item",
        "fetch_item_comments",
    }
    assert loaded.visible_resources == frozenset()
    everything = engine({"version": "1", "hide": ["*"]})
    assert everything.visible_tools == frozenset()


def test_a_minimal_gateway_style_document_loads_as_is() -> None:
    loaded = engine({"version": "1", "default": "deny", "hide": ["sign_in"]})
    assert loaded.decide("fetch_item").action == "deny"  # type: ignore[union-attr]
    assert loaded.decide("sign_in").action == "hide"  # type: ignore[union-attr]


def test_named_windows_and_the_schema() -> None:
    loaded = engine(rules(add_item={"action": "allow", "rate_limit": {"max": 3, "window": "hour"}}))
    assert loaded.decide("add_item").limits[0].limit.window == 3600  # type: ignore[union-attr]
    schema = policy_schema()
    assert schema["additionalProperties"] is False and "$schema" in schema["properties"]
    assert "require_approval" in json.dumps(schema)


def test_explain_lists_every_match_with_its_level() -> None:
    loaded = engine(
        rules(**{"remove_*": {"action": "deny"}, "@items": {"action": "allow"}, "@destructive": {"action": "confirm"}})
    )
    kinds = [(m.path, m.kind) for m in loaded.explain("remove_item")]
    assert kinds == [('rules."remove_*"', "glob"), ('rules."@items"', "group"), ('rules."@destructive"', "risk class")]


class _Session:
    """Just enough of a server session for the modern era, where a confirmation is a retried request."""

    client_params = None
    client_capabilities = types.ClientCapabilities(elicitation=types.ElicitationCapability())


async def test_a_modern_era_confirmation_is_single_use_and_bound_to_tool_and_arguments(tmp_path: Path) -> None:
    """The client's retry carries our state back: another call's arguments, or a replay, must not run."""
    from mcp.server.context import ServerRequestContext

    h = Harness(tmp_path / "home", write_policy(tmp_path / "p.json", rules(remove_item={"action": "confirm"})))
    ran: list[dict[str, Any]] = []

    async def call_next(ctx: Any) -> Any:
        ran.append(dict(ctx.params))
        return types.CallToolResult(content=[])

    async def send(arguments: dict[str, Any], **extra: Any) -> Any:
        session: Any = _Session()
        request: ServerRequestContext[Any, Any] = ServerRequestContext(
            session=session,
            lifespan_context={},
            protocol_version="2026-07-28",
            method="tools/call",
            params={"name": "remove_item", "arguments": arguments, **extra},
            request_id=1,
        )
        return await h.guard(request, call_next)

    yes = {"guard_confirm": {"action": "accept", "content": {"confirm": True}}}
    asked = await send({"id": 1})
    assert isinstance(asked, types.InputRequiredResult) and asked.request_state
    swapped = await send({"id": 2}, inputResponses=yes, requestState=asked.request_state)
    assert swapped.is_error and "does not match a pending question" in swapped.content[0].text
    asked = await send({"id": 1})
    assert not (await send({"id": 1}, inputResponses=yes, requestState=asked.request_state)).is_error
    assert (await send({"id": 1}, inputResponses=yes, requestState=asked.request_state)).is_error  # replayed
    assert (await send({"id": 1}, inputResponses=yes, requestState="mcp-guard:made-up")).is_error  # forged
    # the guard's keys are stripped before the handler, which gets the canonical arguments the guard judged
    assert ran == [{"name": "remove_item", "arguments": {"id": 1, "note": "", "token": ""}}]


def test_the_audit_log_rotates_at_its_size_and_keeps_whole_lines(tmp_path: Path) -> None:
    from guard.audit import AuditLog

    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=400, backups=2, keep=0)
    for index in range(40):
        log.write({"tool": "fetch_item", "arguments": {"id": index}})
    files = sorted(p.name for p in tmp_path.glob("audit.jsonl*"))
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2", "audit.jsonl.lock"]
    for path in tmp_path.glob("audit.jsonl*"):
        assert path.stat().st_size <= 400
        assert all(json.loads(line)["tool"] == "fetch_item" for line in path.read_text().splitlines())
    assert [entry["arguments"]["id"] for entry in log.tail(1)] == [39]
