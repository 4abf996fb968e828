"""Gateway-style policy documents load unchanged and decide exactly like the equivalent document in our own form,
on the Trakt server: for every tool at engine level, and through in-process MCP sessions for a representative set."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from guard.engine import Decision, Engine
from guard.policy import parse_policy
from tests.conftest import text_of
from tests.test_guard_trakt import ROOT, served
from trakt_mcp.cli.main import main
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.server.guarded import build_catalog
from trakt_mcp.settings import Settings

SIX = [{"trakt_id": str(n)} for n in range(6)]
CONDITIONS: dict[str, Any] = {
    "remove_from_history": {"deny_if": [{"arg": "items", "count": {"gt": 5}}]},
    "checkin_to_show": {"require": ["message"], "confirm_if": [{"arg": "share_*", "equals": True}]},
    "add_user_ratings": {"deny_if": [{"arg": "items[*].rating", "lt": 3}], "limits": [{"window": "minute", "max": 30}]},
}  # fmt: skip
GATEWAY: dict[str, Any] = {
    "version": "1",
    "default": "deny",
    "hide": ["clear_auth"],
    "all_tools": {"limits": [{"window": "hour", "max": 100}]},
    "tools": {"search_shows": {}, "fetch_trending_movies": {"limits": [{"window": 30, "max": 3}]}, **CONDITIONS},
}
OWN: dict[str, Any] = {
    "version": "1",
    "default": "deny",
    "hide": ["clear_auth"],
    "all_tools": {"limits": [{"window": 3600, "max": 100}]},
    "rules": {
        "search_shows": {"action": "allow"},
        "fetch_trending_movies": {"action": "allow", "rate_limit": {"max": 3, "window": 30}},
        "remove_from_history": {"action": "allow", "deny_if": [{"arg": "items", "count": {"gt": 5}}]},
        "checkin_to_show": {
            "action": "allow",
            "require": [{"arg": "message", "present": True}],
            "confirm_if": [{"arg": "share_*", "equals": True}],
        },
        "add_user_ratings": {
            "action": "allow",
            "rate_limit": {"max": 30, "window": "minute"},
            "deny_if": [{"arg": "items[*].rating", "lt": 3}],
        },
    },
}
HIDE_ALL = ({"version": "1", "default": "allow", "hide": ["*"]},
            {"version": "1", "default": "allow", "hide": ["@read", "@write", "@destructive", "@auth"]})  # fmt: skip
SHOW = {"show_id": "1390", "season": 1, "episode": 2}
LOW = {"rating_type": "movies", "items": [{"trakt_id": "1", "rating": 9}, {"trakt_id": "2", "rating": 2}]}
CALLS: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("search_shows", {"query": "dark"}, "allow", None),
    ("fetch_trending_shows", {}, "deny", None),
    ("clear_auth", {}, "hide", None),
    ("remove_from_history", {"history_type": "movies", "items": SIX}, "deny", "count(items) > 5"),
    ("remove_from_history", {"history_type": "movies", "items": SIX[:5]}, "allow", None),
    ("checkin_to_show", {**SHOW}, "deny", "requires message is present"),
    ("checkin_to_show", {**SHOW, "message": "hi", "share_mastodon": True}, "confirm", "share_* == true"),
    ("checkin_to_show", {**SHOW, "message": "hi"}, "allow", None),
    ("add_user_ratings", LOW, "deny", "items[*].rating < 3"),
    ("add_user_ratings", {"rating_type": "movies", "items": [{"trakt_id": "1", "rating": 3}]}, "allow", None),
]  # fmt: skip


def engine(document: dict[str, Any]) -> Engine:
    return Engine(parse_policy(document), build_catalog(None))


def shape(decision: Decision) -> tuple[Any, ...]:
    """Everything that decides a call, without the JSON paths that name where it was written."""
    limits = sorted((q.limit.max, q.limit.window) for q in decision.limits)
    return decision.action, limits, [(c.kind, c.text) for c in decision.checks]


@pytest.mark.parametrize(("gateway", "own"), [(GATEWAY, OWN), HIDE_ALL])
def test_every_tool_gets_the_same_decision_from_both_forms(gateway: dict[str, Any], own: dict[str, Any]) -> None:
    left, right = engine(gateway), engine(own)
    assert len(left.decisions) == 77
    assert {name: shape(d) for name, d in left.decisions.items()} == {
        name: shape(d) for name, d in right.decisions.items()
    }


@pytest.mark.parametrize(("tool", "arguments", "action", "condition"), CALLS, ids=lambda v: str(v)[:30])
def test_the_same_call_gets_the_same_outcome_from_both_forms(
    tool: str, arguments: dict[str, Any], action: str, condition: str | None
) -> None:
    outcomes = [engine(document).decide(tool).judge(arguments) for document in (GATEWAY, OWN)]  # type: ignore[union-attr]
    assert [(o.action, o.condition) for o in outcomes] == [(action, condition)] * 2


async def audited(settings: Settings, fake: FakeTrakt, document: dict[str, Any], tmp_path: Path) -> list[Any]:
    """Run the representative calls through an MCP session (a client that cannot elicit) and read the audit."""
    tmp_path.mkdir()
    settings = settings.model_copy(update={"home": tmp_path / "home"})
    texts = []
    async with served(settings, fake, document, tmp_path) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        for tool, arguments, _, _ in CALLS:
            try:
                text = text_of(await client.call_tool(tool, arguments)).replace(str(settings.home), "HOME")
            except MCPError as exc:  # an unknown (or hidden) tool is a JSON-RPC error
                text = f"{exc.error.code} {exc.error.message}"
            texts.append(re.sub(r"[A-Z2-9]{4}-[A-Z2-9]{4}", "CODE", text))
    lines = [json.loads(line) for line in (settings.home / "audit.jsonl").read_text().splitlines()]
    answers = [text if line["outcome"] == "blocked" else "ran" for text, line in zip(texts, lines, strict=True)]
    return [sorted(listed), [(line["tool"], line["decision"], line["condition"]) for line in lines], answers]


async def test_through_mcp_sessions_both_forms_list_run_and_block_the_same(
    settings: Settings, fake: FakeTrakt, signed_in: Any, tmp_path: Path
) -> None:
    gateway = await audited(settings, fake, GATEWAY, tmp_path / "gateway")
    own = await audited(settings, fake, OWN, tmp_path / "own")
    assert [line[:2] for line in gateway[1]] == [
        ("search_shows", "allowed"),
        ("fetch_trending_shows", "denied"),
        ("clear_auth", "hidden"),
        ("remove_from_history", "denied"),
        ("remove_from_history", "allowed"),
        ("checkin_to_show", "denied"),
        ("checkin_to_show", "approval_pending"),
        ("checkin_to_show", "allowed"),
        ("add_user_ratings", "denied"),
        ("add_user_ratings", "allowed"),
    ]
    assert "clear_auth" not in gateway[0] and "search_shows" in gateway[0]
    texts = gateway[2]
    assert "(count(items) > 5)" in texts[3] and "did not run" in texts[3]
    assert "(requires message is present)" in texts[5]
    assert "asked because of" in texts[6] and "(share_* == true)" in texts[6]
    assert "(items[*].rating < 3)" in texts[8]
    gateway_paths = [t.replace('tools."', "") for t in texts]
    own_paths = [t.replace('rules."', "") for t in own[2]]
    assert (gateway[0], [line[1:] for line in gateway[1]], gateway_paths) == (
        own[0],
        [line[1:] for line in own[1]],
        own_paths,
    )


def test_policy_explain_with_args_shows_the_condition_that_fired(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps(GATEWAY))
    arguments = json.dumps({"history_type": "movies", "items": SIX})
    assert main(["policy", "explain", "remove_from_history", "--policy", str(path), "--args", arguments]) == 0
    out = capsys.readouterr().out
    assert 'condition   tools."remove_from_history".deny_if[0]: deny_if count(items) > 5' in out
    assert 'With --args: deny, fired tools."remove_from_history".deny_if[0]: count(items) > 5' in out
    assert main(["policy", "explain", "remove_from_history", "--policy", str(path), "--args", "[1]"]) == 2
    assert "--args must be a JSON object" in capsys.readouterr().err


def test_policy_check_shows_both_forms_the_same_way_and_an_identitys_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tables = []
    for name, document in (("gateway", GATEWAY), ("own", OWN)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        assert main(["policy", "check", str(path)]) == 0
        tables.append(re.sub(r'(tools|rules)\."|\S+\.json', "", capsys.readouterr().out))
    assert tables[0] == tables[1]
    assert re.search(r"checkin_to_show .* allow +- +require message is present; confirm if share_\* == true", tables[0])
    assert "shared by every call: 100 per 3600s (all_tools.limits[0])" in tables[0]

    example = str(ROOT / "policy.http.example.json")
    assert main(["policy", "check", example, "--identity", "living-room-tablet"]) == 0
    table = capsys.readouterr().out
    assert "for identity living-room-tablet" in table
    assert re.search(
        r"remove_from_history +sync +destructive +hide .*identities.\"living-room-tablet\".hide\[0\]", table
    )
    assert re.search(r"add_to_history .* confirm .*identities.\"living-room-tablet\".rules.\"@write\"", table)
    assert main(["policy", "check", example, "--identity", "nobody"]) == 2
    assert "declares no identity 'nobody' (declared: living-room-tablet)" in capsys.readouterr().err
