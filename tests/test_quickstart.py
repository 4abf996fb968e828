"""The quick start over stdio, in real processes: `initialize` and `tools/list` come from the snapshot the
previous start left, everything else from the server, and a stale snapshot corrects itself."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.conftest import text_of
from trakt_mcp.server.quickstart import SNAPSHOT_PREFIX


def snapshots(home: Path) -> list[Path]:
    return sorted((home / "cache").glob(f"{SNAPSHOT_PREFIX}*.json"))


async def session_report(home: Path, *extra: str) -> dict[str, Any]:
    """Start `python -m trakt_mcp --sandbox` as an MCP client would, list tools, call one, and report."""
    notices: list[str] = []

    async def on_message(message: Any) -> None:
        if not isinstance(message, Exception):
            notices.append(message.method)

    env = {**os.environ, "TRAKT_MCP_HOME": str(home)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp", "--sandbox", *extra], env=env)
    async with Client(params, mode="legacy", message_handler=on_message) as client:
        listed = await client.list_tools()
        called = await client.call_tool("search_movies", {"query": "inception", "limit": 1})
        try:
            await client.call_tool("clear_auth", {})
            hidden = "clear_auth ran"
        except MCPError as exc:
            hidden = f"{exc.error.code} {exc.error.message}"
    return {
        "tools": {tool.name: tool.description for tool in listed.tools},
        "called": text_of(called),
        "hidden": hidden,
        "notices": notices,
    }


async def test_a_second_start_answers_from_the_snapshot_and_serves_the_rest(tmp_path: Path) -> None:
    first = await session_report(tmp_path)
    (snapshot,) = snapshots(tmp_path)
    assert len(first["tools"]) == 77 and "Inception" in first["called"]

    # Mark the snapshot: a second start must show the mark (answered from it), then notice that the server's
    # own list differs, tell the client to list again, and repair the snapshot.
    data = json.loads(snapshot.read_text())
    tool = next(t for t in data["tools_list"]["tools"] if t["name"] == "search_movies")
    tool["description"] = "MARKED"
    snapshot.write_text(json.dumps(data))

    second = await session_report(tmp_path)
    assert second["tools"]["search_movies"] == "MARKED"
    assert "Inception" in second["called"]
    assert any("list_changed" in notice for notice in second["notices"])
    (repaired,) = snapshots(tmp_path)
    assert "MARKED" not in repaired.read_text()

    third = await session_report(tmp_path)
    assert third["tools"] == first["tools"]
    assert not any("list_changed" in notice for notice in third["notices"])


async def test_the_snapshot_follows_the_policy_and_never_shows_a_hidden_tool(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"version": "1", "default": "allow", "hide": ["clear_auth"]}))
    await session_report(tmp_path)  # no policy: a snapshot with every tool
    first = await session_report(tmp_path, "--policy", str(policy))
    second = await session_report(tmp_path, "--policy", str(policy))
    for report in (first, second):
        assert "clear_auth" not in report["tools"] and len(report["tools"]) == 76
        assert report["hidden"] == "-32602 Unknown tool: clear_auth"
    assert len(snapshots(tmp_path)) == 1, "one snapshot: the one for the configuration in use"
    policy.write_text(json.dumps({"version": "1", "default": "allow", "hide": ["clear_auth", "remove_*"]}))
    edited = await session_report(tmp_path, "--policy", str(policy))
    assert not any(name.startswith("remove_") for name in edited["tools"])


def test_answers_recorded_after_a_policy_edit_are_not_filed_under_the_old_key(tmp_path: Path) -> None:
    from trakt_mcp.server.quickstart import Session, _Recorder

    class Wire:
        def send(self, message: dict[str, Any]) -> None:
            sent.append(message)

    sent: list[dict[str, Any]] = []
    path = tmp_path / f"{SNAPSHOT_PREFIX}old.json"
    recorder = _Recorder(Session(Wire(), None), path, still_current=lambda: False)  # type: ignore[arg-type]
    recorder.seen(b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}')
    recorder.seen(b'{"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}')
    recorder.answer({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}})
    recorder.answer({"jsonrpc": "2.0", "id": 2, "result": {"tools": []}})
    assert [message["id"] for message in sent] == [1, 2]  # the client still gets every answer
    assert not path.exists()
