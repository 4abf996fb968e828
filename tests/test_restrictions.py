"""--read-only, --toolsets and --tools (and their environment variables): compiled into the guard's policy, the
stricter of file and flags wins, `policy check` shows them, and a real stdio process hides and refuses."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.conftest import text_of
from trakt_mcp.cli.main import main
from trakt_mcp.server.guarded import SIGN_IN_TOOLS, build_catalog, load_engine
from trakt_mcp.settings import Settings
from trakt_mcp.tools import tools_by_name

WRITES = {name for name, spec in tools_by_name().items() if spec.risk in ("write", "destructive")}


def visible(settings: Settings) -> frozenset[str]:
    return load_engine(settings, build_catalog(None)).visible_tools


def test_read_only_hides_every_write_destructive_and_auth_tool_but_sign_in(tmp_path: Path) -> None:
    shown = visible(Settings(home=tmp_path, read_only=True))
    specs = tools_by_name()
    assert WRITES and not WRITES & shown
    assert {name for name in shown if specs[name].risk != "read"} == set(SIGN_IN_TOOLS)
    assert "clear_auth" not in shown and "fetch_trending_shows" in shown


def test_toolsets_and_tools_add_up_and_keep_sign_in(tmp_path: Path) -> None:
    shown = visible(Settings(home=tmp_path, toolsets=("search",), tools=("fetch_show_summary",)))
    assert shown == {"search_shows", "search_movies", "fetch_show_summary", *SIGN_IN_TOOLS}


def test_the_stricter_of_file_and_flags_wins(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"version": "1", "default": "allow", "hide": ["search_movies"]}))
    shown = visible(Settings(home=tmp_path, policy=policy, toolsets=("search",)))
    assert shown == {"search_shows", *SIGN_IN_TOOLS}  # the file hides search_movies, the flag everything else
    engine = load_engine(Settings(home=tmp_path, policy=policy, read_only=True), build_catalog(None))
    assert engine.decisions["add_to_history"].rule == "--read-only"
    assert engine.decisions["search_movies"].rule == "hide[0]"


def test_environment_variables_and_flags(tmp_path: Path) -> None:
    env = {"TRAKT_MCP_READ_ONLY": "true", "TRAKT_MCP_TOOLSETS": "shows, movies", "TRAKT_MCP_TOOLS": "fetch_history"}
    settings = Settings.load(environ=env)
    assert settings.read_only and settings.toolsets == ("shows", "movies") and settings.tools == ("fetch_history",)
    assert not Settings.load(environ={"TRAKT_MCP_READ_ONLY": "0"}).read_only


def test_unknown_names_are_refused_naming_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", "--toolsets", "shows,movie", "--tools", "fetch_histroy"]) == 2
    err = capsys.readouterr().err
    assert "unknown toolset 'movie' (did you mean 'movies'?)" in err
    assert "unknown tool 'fetch_histroy' (did you mean 'fetch_history'?)" in err


def test_policy_check_shows_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", "--read-only"]) == 0
    out = capsys.readouterr().out
    assert "policy: built-in (no --policy or TRAKT_MCP_POLICY given) + --read-only (valid)" in out
    row = next(line for line in out.splitlines() if line.startswith("remove_user_watchlist "))
    assert row.split()[3] == "hide" and row.endswith("--read-only")


@pytest.mark.parametrize("how", ["flag", "environment"])
async def test_read_only_through_a_real_stdio_process(tmp_path: Path, how: str) -> None:
    env = {**os.environ, "TRAKT_MCP_HOME": str(tmp_path)}
    args = ["-m", "trakt_mcp", "--sandbox"]
    if how == "flag":
        args.append("--read-only")
    else:
        env["TRAKT_MCP_READ_ONLY"] = "1"
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    async with Client(params, mode="legacy") as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as refused:  # a hidden tool is an unknown one: JSON-RPC error -32602
            await client.call_tool("remove_user_watchlist", {"items": [{"type": "movie", "trakt": 585005}]})
        allowed = await client.call_tool("fetch_trending_shows", {"limit": 1})
    assert listed and not listed & WRITES
    assert {"start_device_auth", "check_auth_status", "fetch_trending_shows"} <= listed
    assert refused.value.error.message == "Unknown tool: remove_user_watchlist"
    assert not allowed.is_error, text_of(allowed)
