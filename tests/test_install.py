"""`trakt-mcp install` / `uninstall`: for each client, the entry written starts the server exactly as the client
would (command, args and env from the file, nothing inherited, no PATH), merges without losing anything, is
idempotent, keeps a backup, and `uninstall` gives the rest of the file back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from trakt_mcp.cli import jsonc
from trakt_mcp.cli.clients import CLIENTS, SERVER_NAME
from trakt_mcp.cli.install import BACKUP_SUFFIX
from trakt_mcp.cli.main import main

#: An existing config per client: another server, and (where the format allows) comments and a trailing comma.
EXISTING = {
    "claude-desktop": (
        '{\n  "mcpServers": {\n    "fetch": {\n      "command": "uvx",\n      "args": ["mcp-server-fetch"]\n'
        '    }\n  },\n  "globalShortcut": ""\n}\n'
    ),
    "claude-code": (
        '{\n  "numStartups": 3,\n  "mcpServers": {\n    "fetch": {"type": "stdio", "command": "uvx", '
        '"args": ["mcp-server-fetch"], "env": {}}\n  }\n}\n'
    ),
    "cursor": '{\n  "mcpServers": {\n    "fetch": { "command": "uvx", "args": ["mcp-server-fetch"] }\n  }\n}\n',
    "vscode": (
        '{\n\t// Servers for this workspace\n\t"servers": {\n\t\t"fetch": {\n\t\t\t"type": "stdio",\n'
        '\t\t\t"command": "uvx", /* pinned */\n\t\t\t"args": ["mcp-server-fetch"],\n\t\t},\n\t},\n'
        '\t"inputs": []\n}\n'
    ),
    "windsurf": '{"mcpServers": {"fetch": {"command": "uvx", "args": ["mcp-server-fetch"]}}}',
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def written_entry(path: Path, client: str) -> dict[str, Any]:
    document = jsonc.loads(path.read_text())
    value: dict[str, Any] = document[CLIENTS[client].container][SERVER_NAME]
    return value


@pytest.mark.parametrize("client", list(CLIENTS))
async def test_install_then_start_exactly_as_the_client_would(
    client: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(EXISTING[client])
    home = tmp_path / "state"
    code, out = run(capsys, "install", client, "--config", str(config), "--sandbox", "--home", str(home))
    assert code == 0, out
    value = written_entry(config, client)
    assert Path(value["command"]).is_absolute() and "env" not in value
    assert value["args"] == ["--sandbox", "--home", str(home)]

    # `env -i`: the server gets the entry's env and nothing else (no PATH, no HOME, no virtual environment).
    env_pairs = [f"{k}={v}" for k, v in (value.get("env") or {}).items()]
    params = StdioServerParameters(command="/usr/bin/env", args=["-i", *env_pairs, value["command"], *value["args"]])
    async with Client(params, mode="legacy") as session:
        tools = (await session.list_tools()).tools
        server = session.server_info
    assert server is not None and server.name == "trakt-mcp"
    assert len(tools) == 93

    installed = config.read_bytes()
    backup = config.with_name(config.name + BACKUP_SUFFIX)
    assert backup.read_text() == EXISTING[client]
    code, out = run(capsys, "install", client, "--config", str(config), "--sandbox", "--home", str(home))
    assert code == 0 and out.startswith("Unchanged:")
    assert config.read_bytes() == installed, "installing twice changes nothing"
    assert "fetch" in jsonc.loads(config.read_text())[CLIENTS[client].container], "the other server survives"

    code, out = run(capsys, "uninstall", client, "--config", str(config))
    assert code == 0 and "Removed" in out
    assert config.read_text() == EXISTING[client], "uninstall restores the rest byte for byte"
    assert backup.exists()


def test_uninstall_after_the_client_edited_the_file_removes_only_our_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(EXISTING["vscode"])
    assert run(capsys, "install", "vscode", "--config", str(config))[0] == 0
    edited = config.read_text().replace('"inputs": []', '"inputs": [{"id": "token"}]')
    config.write_text(edited)
    assert run(capsys, "uninstall", "vscode", "--config", str(config))[0] == 0
    assert config.read_text() == EXISTING["vscode"].replace('"inputs": []', '"inputs": [{"id": "token"}]')


def test_a_new_file_and_an_empty_servers_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fresh = tmp_path / "deep" / "claude_desktop_config.json"
    assert run(capsys, "install", "claude-desktop", "--config", str(fresh))[0] == 0
    assert list(json.loads(fresh.read_text())["mcpServers"]) == [SERVER_NAME]
    empty = tmp_path / "empty.json"
    empty.write_text('{"mcpServers": {}}')
    assert run(capsys, "install", "cursor", "--config", str(empty))[0] == 0
    assert SERVER_NAME in json.loads(empty.read_text())["mcpServers"]
    assert run(capsys, "uninstall", "cursor", "--config", str(empty))[0] == 0
    assert empty.read_text() == '{"mcpServers": {}}'


def test_a_broken_file_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "mcp.json"
    broken.write_text('{"mcpServers": {"a": }')
    code, out = run(capsys, "install", "cursor", "--config", str(broken))
    assert code == 1 and "line 1 column 22: expected a value" in out and "Nothing was changed" in out
    assert broken.read_text() == '{"mcpServers": {"a": }'
    assert not broken.with_name(broken.name + BACKUP_SUFFIX).exists()


def test_print_changes_nothing_and_shows_the_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mcp.json"
    policy = tmp_path / "policy.json"
    policy.write_text('{"version": "1"}')
    code = main(["install", "cursor", "--config", str(config), "--print", "--policy", str(policy), "--read-only"])
    out, err = capsys.readouterr()
    assert code == 0 and not config.exists() and str(config) in err
    value = json.loads(out)["mcpServers"][SERVER_NAME]
    home = str(tmp_path / "home")  # TRAKT_MCP_HOME in the tests: not the default, so the entry names it
    assert value["args"] == ["--home", home, "--policy", str(policy), "--read-only"]
    # --uvx alone: from where this installation came (this clone, installed editable), which uv can run now.
    code = main(["install", "cursor", "--print", "--uvx"])
    assert json.loads(capsys.readouterr().out)["mcpServers"][SERVER_NAME]["args"][:3] == [
        "--from",
        str(Path(__file__).resolve().parent.parent),
        "trakt-guardrails",
    ]
    code = main(["install", "cursor", "--print", "--uvx", "trakt-guardrails"])  # from PyPI, once published
    assert json.loads(capsys.readouterr().out)["mcpServers"][SERVER_NAME]["args"][:1] == ["trakt-guardrails"]


def test_project_and_user_paths(tmp_path: Path) -> None:
    assert CLIENTS["cursor"].config_path(tmp_path) == tmp_path / ".cursor" / "mcp.json"
    assert CLIENTS["vscode"].config_path(tmp_path) == tmp_path / ".vscode" / "mcp.json"
    assert CLIENTS["windsurf"].config_path(home=tmp_path) == tmp_path / ".codeium" / "windsurf" / "mcp_config.json"
    with pytest.raises(ValueError, match="no per-project"):
        CLIENTS["windsurf"].config_path(tmp_path)
