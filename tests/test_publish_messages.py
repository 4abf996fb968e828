"""Every message true (issue #25): which policy is in force (`policy show`, `status`, `policy check`), status
without stray log lines or rate-limit counts a policy does not have, `approve CODE` without null fields, the
sign-in check that says what is missing, and an audit that tells the owner's terminal from a host application."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trakt_mcp.cli.main import main

PROGRAM = [sys.executable, "-m", "trakt_mcp"]


def cli(home: Path, *argv: str, stdin: int | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "HOME": str(home.parent),
        "TRAKT_MCP_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",  # the file fallback, which logs a warning
        **env,
    }
    environ.pop("TRAKT_CLIENT_ID", None)
    return subprocess.run(
        [*PROGRAM, *argv], capture_output=True, text=True, env=environ, stdin=stdin, timeout=120, check=False
    )


def test_policy_show_prints_the_policy_in_force_as_a_policy_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "show"]) == 0
    shown = capsys.readouterr()
    builtin = json.loads(shown.out)
    assert builtin["rules"]["remove_*"]["action"] == "confirm" and "built-in" in shown.err
    start = tmp_path / "policy.json"
    start.write_text(shown.out)
    assert main(["policy", "check", str(start)]) == 0, "a file to start editing from"
    assert "remove_from_history" in capsys.readouterr().out

    mine = tmp_path / "mine.json"
    mine.write_text('{"version": "1", "rules": {"search_shows": {"action": "deny"}}}')
    assert main(["policy", "show", "--policy", str(mine)]) == 0
    shown = capsys.readouterr()
    assert json.loads(shown.out)["rules"] == {"search_shows": {"action": "deny"}} and str(mine) in shown.err
    assert main(["policy", "show", "--policy", str(mine), "--builtin"]) == 0
    assert "remove_*" in json.loads(capsys.readouterr().out)["rules"]


def test_status_and_policy_check_say_which_policy_and_where_the_clients_get_theirs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    mine = tmp_path / "mine.json"
    mine.write_text('{"version": "1"}')
    assert main(["install", "cursor", "--policy", str(mine)]) == 0
    capsys.readouterr()
    assert main(["status", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "as no --policy or TRAKT_MCP_POLICY is given here" in out
    assert re.search(rf"Cursor \(.*mcp\.json\): --policy {re.escape(str(mine))}", out), out
    assert main(["policy", "check"]) == 0
    assert "policy: built-in (no --policy or TRAKT_MCP_POLICY given) (valid)" in capsys.readouterr().out
    assert main(["status", "--sandbox", "--policy", str(mine)]) == 0
    assert f"- Policy: {mine}\n" in capsys.readouterr().out


def test_status_has_no_log_lines_and_no_rate_limit_count_without_limits(tmp_path: Path) -> None:
    home = tmp_path / "state"
    for name in ("nope", "nope2", "nope3"):  # refused calls: the audit's flood control counts them
        cli(home, "call", "--sandbox", name)
    status = cli(home, "status")
    assert status.returncode == 0, status.stderr
    assert "WARNING" not in status.stdout + status.stderr and status.stderr == "", status.stderr
    # The built-in policy sets no rate limit: nothing is counted in windows it does not have.
    assert "the policy sets no rate limit" in status.stdout and "rate-limit windows" not in status.stdout
    # (Under a policy with a limit, the count is there: tests/test_store.py, reset-limits.)


def test_checking_sign_in_without_credentials_says_what_is_missing(tmp_path: Path) -> None:
    done = cli(tmp_path / "state", "call", "check_auth_status")
    assert "no client ID" in done.stdout and "setup" in done.stdout, done.stdout
    assert "call start_device_auth first" not in done.stdout


def _approve_with_terminal(home: Path, code: str) -> subprocess.CompletedProcess[str]:
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"n\n")
        return cli(home, "approve", code, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)


def test_approve_shows_only_the_arguments_that_were_given(tmp_path: Path) -> None:
    home = tmp_path / "state"
    assert cli(home, "login", "--sandbox").returncode == 0
    asked = cli(home, "call", "--sandbox", "remove_user_watchlist", "watchlist_type=movies", 'items=[{"slug": "dune"}]')
    code = re.search(r"approve --home \S+ ([A-Z0-9]{4}-[A-Z0-9]{4})", asked.stdout)
    assert code, asked.stdout
    shown = _approve_with_terminal(home, code.group(1))
    assert '"slug": "dune"' in shown.stdout and "null" not in shown.stdout, shown.stdout


def _answer_at_a_terminal(home: Path, keys: bytes | None) -> None:
    """`trakt-mcp call` at a real terminal, its confirmation answered with `keys`, or Ctrl-C (SIGINT) for None."""
    controller, terminal = pty.openpty()
    environ = {**os.environ, "TRAKT_MCP_HOME": str(home)}
    argv = ["call", "--sandbox", "remove_user_watchlist", "watchlist_type=movies", 'items=[{"slug": "dune"}]']
    process = subprocess.Popen([*PROGRAM, *argv], stdin=terminal, stdout=terminal, stderr=terminal, env=environ)
    os.close(terminal)
    seen, deadline = b"", time.monotonic() + 60
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.2)[0]:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:
                    break
                seen += chunk
                if chunk and b"[y/N]" in seen and b"[y/N]" not in seen[: -len(chunk)]:
                    os.write(controller, keys) if keys is not None else process.send_signal(signal.SIGINT)
        assert process.wait(timeout=max(1, deadline - time.monotonic())) in (1, 130), seen
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()


def test_the_audit_tells_the_owner_at_the_terminal_and_a_dismissal(tmp_path: Path) -> None:
    home = tmp_path / "state"
    assert cli(home, "login", "--sandbox").returncode == 0
    _answer_at_a_terminal(home, b"n\n")
    _answer_at_a_terminal(home, None)
    lines = [json.loads(line) for line in (home / "audit.jsonl").read_text().splitlines()]
    answered = [line for line in lines if line.get("tool") == "remove_user_watchlist"]
    assert [(e["decision"], e["channel"], e["answered_by"], e.get("dismissed")) for e in answered] == [
        ("declined", "terminal", "owner", None),
        ("declined", "terminal", "owner", True),
    ]
    shown = cli(home, "audit")
    assert "declined (terminal, by the owner)" in shown.stdout
    assert "declined (terminal, dismissed by the owner)" in shown.stdout


def test_every_policy_problem_is_reported_in_one_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        '{"version": "1", "hide": ["nosuch", 5],'
        ' "rules": {"remove_x": {"action": "deny"}, "fetch_trending_shows": {"action": "nope"}}}'
    )
    assert main(["policy", "check", str(policy)]) == 2
    problems = [line for line in capsys.readouterr().err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 4, problems
    assert any("hide[1]" in line for line in problems) and any('"nope"' in line for line in problems)
    assert any('no tool is named "nosuch"' in line for line in problems)
    assert any('rules."remove_x": no tool' in line for line in problems)


DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


@pytest.mark.parametrize(
    "argv",
    [
        ["call", "--sandbox", "search_shows", "--json", DEEP_OBJECT],
        ["call", "--sandbox", "search_shows", "query=" + "[" * 5000 + "]" * 5000],
        ["call", "--sandbox", "search_shows", "--json", "{x"],
        ["call", "--sandbox", "serch_shows"],
    ],
    ids=["deep --json", "deep value", "broken --json", "unknown tool"],
)
def test_no_cli_input_ends_in_a_traceback(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("trakt-mcp call: ") and err.count("\n") == 1, err
