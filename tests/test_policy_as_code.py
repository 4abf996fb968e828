"""Policy as code (issue 27), through the real CLI and real `trakt-mcp` servers on the sandbox: `policy test`,
shadow rules, `policy replay` against what a fresh run really does, `policy diff`, `policy init`, and the audit
chain that `audit verify` checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from guard.audit import AuditLog
from guard.auditchain import StoreHead
from guard.home import secret_key
from guard.store.sqlite import SqliteStore
from tests.process_support import audit_lines
from trakt_mcp.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CASES = ROOT / "policy.example.tests.toml"
#: 30 calls an agent might make: searches, fetches (of several tools) and people look-ups, interleaved.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("search_shows", {"query": "breaking", "limit": 1}),
    ("fetch_trending_shows", {"limit": 1}),
    ("fetch_show_summary", {"show_id": "breaking-bad"}),
    ("search_movies", {"query": "inception", "limit": 1}),
    ("fetch_person_summary", {"person_id": "bryan-cranston"}),
    ("fetch_trending_movies", {"limit": 1}),
] * 5
NEW_POLICY = {
    "version": "1",
    "default": "allow",
    "rules": {
        "search_*": {"action": "deny", "reason": "no searching"},
        "fetch_*": {"action": "allow", "rate_limit": {"max": 3, "window": "hour"}},
    },
}


def trakt_mcp(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAKT_MCP_HOME": str(home)}
    command = [sys.executable, "-m", "trakt_mcp", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def in_process(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The same CLI in this process (no interpreter start-up): exit code, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def server(home: Path, *flags: str) -> StdioServerParameters:
    env = {**os.environ, "TRAKT_MCP_HOME": str(home)}
    return StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp", "--sandbox", *flags], env=env)


async def run_calls(home: Path, *flags: str) -> None:
    async with Client(server(home, *flags), mode="legacy") as client:
        for tool, arguments in CALLS:
            await client.call_tool(tool, arguments)


def test_shipped_cases_pass_and_one_wrong_expectation_fails_with_a_table_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = trakt_mcp(tmp_path / "home", "policy", "test", str(SHIPPED_CASES))
    cases = tomllib.loads(SHIPPED_CASES.read_text())["cases"]
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert f"{len(cases)} passed, 0 failed." in shipped.stdout
    assert {"allow", "confirm", "limited", "deny", "hide", "invalid"} <= {case["expect"] for case in cases}

    wrong = json.loads(json.dumps(cases))
    wrong[2]["expect"] = "allow"  # signing out is hidden, not allowed
    broken = tmp_path / "wrong.json"
    broken.write_text(json.dumps({"policy": str(ROOT / "policy.example.json"), "cases": wrong}))
    code, out, _ = in_process(capsys, "policy", "test", str(broken))
    assert code == 1
    rows = [line for line in out.splitlines() if line.rstrip().endswith("FAIL")]
    assert len(rows) == 1 and cases[2]["name"] in rows[0] and "hide" in rows[0]
    assert f"FAIL #3 {cases[2]['name']}: expected allow, got hide" in out

    broken.write_text(json.dumps({"cases": [{"tool": "search_shows", "expct": "allow"}]}))
    code, _, err = in_process(capsys, "policy", "test", str(broken))
    assert code == 2 and "cases[0].expct: unknown key" in err and "cases[0].expect: required" in err


async def test_a_shadow_deny_lets_the_call_run_and_is_audited_and_summed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    policy = tmp_path / "shadow.json"
    rule = {"action": "deny", "mode": "shadow", "reason": "trying it out"}
    policy.write_text(json.dumps({"version": "1", "default": "allow", "rules": {"add_user_watchlist": rule}}))
    assert trakt_mcp(home, "login", "--sandbox").returncode == 0
    async with Client(server(home, "--policy", str(policy)), mode="legacy") as client:
        added = await client.call_tool(
            "add_user_watchlist", {"watchlist_type": "shows", "items": [{"slug": "the-office"}]}
        )
        assert not added.is_error
        listed = await client.call_tool("fetch_user_watchlist", {"watchlist_type": "shows"})
    assert "The Office" in str(listed.content)
    line = audit_lines(home)[0]
    assert (line["decision"], line["outcome"]) == ("allowed", "ok")
    assert (line["shadow"], line["shadow_rule"]) == ("would_deny", 'rules."add_user_watchlist"')

    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps({"version": "1", "default": "allow", "rules": {"fetch_*": {"action": "confirm"}}}))
    called = trakt_mcp(home, "call", "--sandbox", "--shadow-policy", str(whole), "fetch_trending_shows", "limit=1")
    assert called.returncode == 0
    assert (audit_lines(home)[-1]["shadow"], audit_lines(home)[-1]["decision"]) == ("would_confirm", "allowed")

    checked = in_process(capsys, "policy", "check", str(policy))[1]
    assert "shadow: " in checked and ["add_user_watchlist", "sync", "write", "allow"] in [
        row.split()[:4] for row in checked.splitlines()
    ]
    summed = in_process(capsys, "audit", "--shadow", "--home", str(home))[1].splitlines()
    assert any(row.split()[:3] == ['rules."add_user_watchlist"', "deny", "1"] for row in summed), summed
    assert any(row.split()[:3] == ['rules."fetch_*"', "confirm", "1"] for row in summed), summed


async def test_replay_reports_exactly_the_flips_a_fresh_run_under_the_new_policy_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded, fresh = tmp_path / "recorded", tmp_path / "fresh"
    new = tmp_path / "new.json"
    new.write_text(json.dumps(NEW_POLICY))
    await run_calls(recorded)
    await run_calls(fresh, "--policy", str(new))
    before, after = audit_lines(recorded), audit_lines(fresh)
    assert len(before) == len(after) == len(CALLS) and {line["decision"] for line in before} == {"allowed"}
    seen = {
        (line["seq"], line["tool"], "allow", {"denied": "deny", "rate_limited": "limited"}[again["decision"]])
        for line, again in zip(before, after, strict=True)
        if again["decision"] != "allowed"
    }
    assert {flip[3] for flip in seen} == {"deny", "limited"}

    replayed = trakt_mcp(recorded, "policy", "replay", "--policy", str(new), "--since", "1h", "--json")
    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["calls"] == len(CALLS)
    assert {(f["seq"], f["tool"], f["from"], f["to"]) for f in report["flips"]} == seen

    table = in_process(capsys, "policy", "replay", "--home", str(recorded), "--policy", str(new))[1]
    assert f"{len(seen)} would flip" in table
    rows = {tuple(row.split()[:4]): row.split()[4] for row in table.splitlines() if row.startswith("allow ")}
    counted = {(was, now, tool): n for (was, now, _rule, tool), n in rows.items()}
    for seq_tool in {(tool, to) for _, tool, _, to in seen}:
        expected = sum(1 for _, tool, _, to in seen if (tool, to) == seq_tool)
        assert counted[("allow", seq_tool[1], seq_tool[0])] == str(expected), table
    assert rows[("allow", "deny", 'rules."search_*"', "search_shows")] == "5"

    code, changed, _ = in_process(capsys, "policy", "diff", "built-in", str(new))
    assert code == 1 and "search_shows" in changed and "allow, 3/3600s" in changed


def test_init_careful_is_valid_and_passes_its_own_cases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "mine.json"
    made = trakt_mcp(tmp_path / "home", "policy", "init", str(policy), "--preset", "careful")
    assert made.returncode == 0, made.stderr
    assert in_process(capsys, "policy", "check", str(policy))[0] == 0
    code, out, _ = in_process(capsys, "policy", "test", str(tmp_path / "mine.tests.json"))
    assert code == 0 and ", 0 failed." in out, out
    verdicts = {case["expect"] for case in json.loads((tmp_path / "mine.tests.json").read_text())["cases"]}
    assert verdicts == {"allow", "confirm", "limited"}
    code, _, err = in_process(capsys, "policy", "init", str(policy), "--preset", "open")
    assert code == 2 and "refusing to overwrite" in err
    assert json.loads(policy.read_text())["rules"]["@write"]["action"] == "confirm"


def _tampered(home: Path, name: str, file: str, change: Any) -> Path:
    """A copy of the state folder with one audit file changed as `change` says."""
    copy = home.parent / name
    shutil.copytree(home, copy)
    path = copy / file
    path.write_bytes(b"".join(change(path.read_bytes().splitlines(keepends=True))))
    return copy


def _forged(lines: list[bytes]) -> list[bytes]:
    last = json.loads(lines[-1])
    body = {**{k: v for k, v in last.items() if k not in ("tag", "prev")}, "seq": last["seq"] + 1, "tool": "x"}
    text = json.dumps(body).encode()
    guess = hmac.new(b"not the key", text, hashlib.sha256).hexdigest().encode()
    return [*lines, text[:-1] + b', "tag": "' + guess + b'"}\n']


async def test_audit_verify_passes_across_a_rotation_and_names_the_line_of_each_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = in_process(capsys, "audit", "verify", "--home", str(tmp_path / "new"))
    assert code == 0 and "intact: 0 line(s)" in out and not err  # a home that never served: nothing to doubt
    home = tmp_path / "home"
    await run_calls(home)  # a real server writes 30 chained lines
    store = SqliteStore(home / "state.db")
    rotating = AuditLog(
        home / "audit.jsonl", max_bytes=200, key=lambda: secret_key(home), head=StoreHead(store, "audit.jsonl")
    )
    rotating.write({"decision": "allowed", "tool": "rotated"})  # the full file rotates; the chain carries on
    store.close()
    assert trakt_mcp(home, "call", "--sandbox", "fetch_trending_shows", "limit=1").returncode == 0
    assert [path.name for path in AuditLog(home / "audit.jsonl").files()] == ["audit.jsonl.1", "audit.jsonl"]
    intact = trakt_mcp(home, "audit", "verify")
    assert intact.returncode == 0 and f"up to seq {len(CALLS) + 2}" in intact.stdout, intact.stdout + intact.stderr

    current, backup = "audit.jsonl", "audit.jsonl.1"
    breaks = {
        "byte": (
            current,
            lambda lines: [lines[0].replace(b"rotated", b"rotatex"), *lines[1:]],
            "audit.jsonl line 1: the tag",
        ),
        "byte-backup": (
            backup,
            lambda lines: [lines[0].replace(b"breaking", b"breakinG"), *lines[1:]],
            "audit.jsonl.1 line 1: the tag",
        ),
        "deleted": (backup, lambda lines: lines[:4] + lines[5:], "audit.jsonl.1 line 5: 1 line(s) missing"),
        "deleted-first": (current, lambda lines: lines[1:], "audit.jsonl line 1: 1 line(s) missing"),
        "swapped": (
            backup,
            lambda lines: [*lines[:10], lines[11], lines[10], *lines[12:]],
            "audit.jsonl.1 line 11: out of order",
        ),
        "forged": (current, _forged, "audit.jsonl line 3: the tag does not match"),
        "cut": (
            current,
            lambda lines: lines[:1],
            "audit.jsonl line 1: the log ends at seq 31, but the state store remembers seq 32",
        ),
    }
    for name, (file, change, expected) in breaks.items():
        code, out, _ = in_process(capsys, "audit", "verify", "--home", str(_tampered(home, name, file, change)))
        assert code == 1 and expected in out, (name, out)
