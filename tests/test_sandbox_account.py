"""The sandbox feels like an account: what one process changes, the next one sees; `sandbox reset` starts over;
its hints name the sandbox commands and no real trakt.tv page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trakt_mcp.cli.main import main
from trakt_mcp.sandbox.state import SandboxState
from trakt_mcp.terminal import command
from trakt_mcp.trakt.errors import NotSignedIn


def trakt_mcp(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """A separate `trakt-mcp` process, as each client or terminal command is."""
    env = {**os.environ, "TRAKT_MCP_HOME": str(home)}
    command = [sys.executable, "-m", "trakt_mcp", *argv]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_a_deleted_show_stays_deleted_in_the_next_process_until_reset(tmp_path: Path) -> None:
    home = tmp_path / "home"
    policy = tmp_path / "allow.json"
    policy.write_text(json.dumps({"version": "1", "default": "allow"}))
    assert trakt_mcp(home, "login", "--sandbox").returncode == 0
    before = trakt_mcp(home, "call", "--sandbox", "fetch_user_watchlist").stdout
    assert "Severance" in before

    removed = trakt_mcp(
        home,
        "call",
        "--sandbox",
        "--policy",
        str(policy),
        "remove_user_watchlist",
        "watchlist_type=shows",
        'items=[{"trakt_id": "154997"}]',
    )
    assert removed.returncode == 0, removed.stdout + removed.stderr
    after = trakt_mcp(home, "call", "--sandbox", "fetch_user_watchlist").stdout
    assert "Severance" not in after and "Dune: Part Two" in after

    reset = trakt_mcp(home, "sandbox", "reset")
    assert reset.returncode == 0 and "starts over" in reset.stdout
    assert "Severance" in trakt_mcp(home, "call", "--sandbox", "fetch_user_watchlist").stdout


def test_the_account_round_trips_through_json() -> None:
    state = SandboxState()
    state.hidden_recommendations.add(("show", 1390))
    state.new_id()
    again = SandboxState.from_json(state.to_json())
    assert again == state


def test_an_unreadable_account_file_starts_from_the_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    account = tmp_path / "home" / "sandbox" / "account.json"
    account.parent.mkdir(parents=True)
    account.write_text("{not json")
    assert main(["call", "--sandbox", "--home", str(tmp_path / "home"), "fetch_trending_shows", "limit=1"]) == 0
    assert "unreadable" in capsys.readouterr().err


def test_sandbox_hints_name_the_sandbox_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert f"`{command('login --sandbox')}`" in str(NotSignedIn(sandbox=True))
    assert main(["call", "--sandbox", "fetch_user_watchlist"]) == 1
    hint = capsys.readouterr().out
    assert "trakt-mcp login --sandbox" in hint and "open the link" not in hint
    assert main(["call", "--sandbox", "start_device_auth"]) == 0
    flow = capsys.readouterr().out
    assert "trakt.tv" not in flow and "Sandbox sign-in: nothing to open" in flow
