"""The command line: version, help, configuration errors, `call`, and the real stdio server process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import text_of
from trakt_mcp import __version__
from trakt_mcp.cli.main import main, parse_call_arguments


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"trakt-mcp {__version__}"


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "trakt_mcp", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "call" in done.stdout and "--sandbox" in done.stdout


def test_invalid_configuration_exits_2_naming_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--api-url", "ftp://example.org", "call", "fetch_trending_shows"]) == 2
    assert "api_url" in capsys.readouterr().err


def test_call_runs_a_tool_offline_in_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--sandbox", "search_shows", "query=breaking", "limit=3"]) == 0
    out = capsys.readouterr().out
    assert "Breaking Bad (2008) `breaking-bad`" in out


def test_call_reports_tool_errors_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--sandbox", "fetch_trending_shows", "limit=-4"]) == 1
    assert "limit" in capsys.readouterr().out


def test_call_arguments_parse_as_json_when_they_can() -> None:
    parsed = parse_call_arguments(["limit=3", "query=the office", "flag=true", "ids=[1,2]"], '{"page": 2}')
    assert parsed == {"page": 2, "limit": 3, "query": "the office", "flag": True, "ids": [1, 2]}
    with pytest.raises(ValueError, match="key=value"):
        parse_call_arguments(["oops"], None)


async def test_stdio_server_speaks_only_mcp_on_stdout(tmp_path: Path) -> None:
    """The real process, as an MCP client launches it: `trakt-mcp --sandbox` over stdio."""
    env = {**os.environ, "TRAKT_MCP_HOME": str(tmp_path)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp", "--sandbox"], env=env)
    async with Client(params, mode="legacy") as client:
        listed = await client.list_tools()
        result = await client.call_tool("fetch_trending_shows", {"limit": 1})
    assert any(tool.name == "search_shows" for tool in listed.tools)
    assert not result.is_error
    assert "watching" in text_of(result)


async def test_a_confirmation_question_cannot_redraw_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """`trakt-mcp call` shows the guard's question; text in it that came from elsewhere is shown escaped."""
    from mcp import types

    from trakt_mcp.cli.local import ask_on_terminal

    message = "Remove from your watchlist: Evil\x1b[2J\u202eeivom (2020)\n\nAllow this once?"
    answer = await ask_on_terminal(None, types.ElicitRequestFormParams(message=message, requested_schema={}))  # type: ignore[arg-type]
    shown = capsys.readouterr().err
    assert answer.action == "decline"  # no terminal in tests
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "Evil\\x1b[2J\\u202eeivom (2020)\n\nAllow this once?" in shown
