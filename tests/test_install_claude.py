"""`install claude-code` through Claude Code's own `claude mcp` command keeps the JSON-file path's promises (issue
#25): another server named `trakt` is replaced only with --replace (kept in a backup that `uninstall` puts back),
and the answer says Added, Updated or Unchanged truthfully. A fake `claude` on PATH keeps Claude Code's real files
(~/.claude.json, .mcp.json), records its argv and answers `mcp get` / `mcp list` / `add` / `add-json` / `remove`
as the real one prints them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from trakt_mcp.cli import setup as cli_setup
from trakt_mcp.cli.claude_code import REPLACED_SUFFIX
from trakt_mcp.cli.main import main
from trakt_mcp.settings import Settings

FAKE_CLAUDE = r"""
import json, os, sys
from pathlib import Path

argv = sys.argv[1:]
with open(os.environ["FAKE_CLAUDE_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\n")
user_file = Path.home() / ".claude.json"
TITLES = {"local": "Local config (private to you in this project)", "project": "Project config (shared via .mcp.json)",
          "user": "User config (available in all your projects)"}

def load(path):
    return json.loads(path.read_text()) if path.exists() else {}

def servers(scope, document):
    if scope == "local":
        return document.setdefault("projects", {}).setdefault(os.getcwd(), {}).setdefault("mcpServers", {})
    return document.setdefault("mcpServers", {})

def path_of(scope):
    return Path(".mcp.json") if scope == "project" else user_file

def option(name, default):
    if name in argv:
        i = argv.index(name); value = argv[i + 1]; del argv[i:i + 2]; return value
    return default

assert argv[0] == "mcp", argv
verb = argv[1]
scope = option("--scope", option("-s", None))
if verb in ("get", "list"):
    found = [(s, n, e) for s in ("local", "project", "user") for n, e in servers(s, load(path_of(s))).items()]
    if verb == "list":
        for s, n, e in found:
            print(f"{n}: {e['command']} {' '.join(e.get('args', []))} - ✓ Connected")
        sys.exit(0)
    match = [(s, e) for s, n, e in found if n == argv[2]]
    if not match:
        print(f"No MCP server found with name: {argv[2]}", file=sys.stderr); sys.exit(1)
    s, e = match[0]
    print(f"{argv[2]}:\n  Scope: {TITLES[s]}\n  Status: ✓ Connected\n  Type: stdio\n  Command: {e['command']}")
    print(f"  Args: {' '.join(e.get('args', []))}\n  Environment:")
    for k, v in (e.get("env") or {}).items():
        print(f"    {k}={v}")
    print(f'\nTo remove this server, run: claude mcp remove "{argv[2]}" -s {s}')
elif verb in ("add", "add-json"):
    scope = scope or "local"
    document = load(path_of(scope))
    name = argv[2]
    if name in servers(scope, document):
        print(f"MCP server {name} already exists in {scope} config", file=sys.stderr); sys.exit(1)
    if verb == "add":
        rest = argv[argv.index("--") + 1:]
        entry = {"type": "stdio", "command": rest[0], "args": rest[1:], "env": {}}
    else:
        entry = json.loads(argv[3])
    servers(scope, document)[name] = entry
    path_of(scope).write_text(json.dumps(document, indent=2))
    print(f"Added stdio MCP server {name} to {scope} config")
elif verb == "remove":
    for s in ([scope] if scope else ["local", "project", "user"]):
        document = load(path_of(s))
        if argv[2] in servers(s, document):
            del servers(s, document)[argv[2]]
            path_of(s).write_text(json.dumps(document, indent=2))
            print(f'Removed MCP server "{argv[2]}" from {s} config'); sys.exit(0)
    print(f"No MCP server found with name: {argv[2]}", file=sys.stderr); sys.exit(1)
"""


@pytest.fixture
def claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake `claude` on PATH, HOME a fresh folder; returns its argv log."""
    bin_folder, home = tmp_path / "bin", tmp_path / "home"
    bin_folder.mkdir()
    home.mkdir()
    fake = bin_folder / "claude"
    fake.write_text(f"#!{sys.executable}\n{FAKE_CLAUDE}")
    fake.chmod(0o755)
    log = tmp_path / "claude-argv.jsonl"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_folder}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FAKE_CLAUDE_LOG", str(log))
    monkeypatch.setenv("TRAKT_MCP_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.chdir(home)
    return log


def verbs(log: Path) -> list[str]:
    """The `claude mcp` verbs run since the last call, then forgets them."""
    calls = [json.loads(line)[1] for line in log.read_text().splitlines()]
    log.write_text("")
    return calls


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def trakt_entry(home: Path) -> Any:
    return json.loads((home / ".claude.json").read_text())["mcpServers"].get("trakt")


@pytest.mark.skipif(sys.platform == "win32", reason="the fake `claude` is a script with a shebang")
def test_claude_mcp_add_never_replaces_another_server_silently(
    claude: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Path.home()
    code, out, _ = run(capsys, "install", "claude-code")
    assert code == 0 and out.startswith("Added 'trakt' to Claude Code (user scope)"), out
    assert verbs(claude) == ["get", "add"]
    assert run(capsys, "install", "claude-code")[1].startswith("Unchanged: Claude Code (user scope) already has")
    assert verbs(claude) == ["get"]
    code, out, _ = run(capsys, "install", "claude-code", "--sandbox")
    assert code == 0 and out.startswith("Updated 'trakt' in Claude Code (user scope)."), out
    assert verbs(claude) == ["get", "remove", "add"] and "--sandbox" in trakt_entry(home)["args"]
    assert run(capsys, "uninstall", "claude-code")[1].startswith("Removed 'trakt' from Claude Code (user scope).")
    assert trakt_entry(home) is None

    # Someone moving from the reference server: its entry, with an env, under the same name.
    reference = {"type": "stdio", "command": "uvx", "args": ["trakt-mcp", "--flag with space"], "env": {"K": "v"}}
    original = json.dumps({"numStartups": 3, "mcpServers": {"trakt": reference}})
    (home / ".claude.json").write_text(original)
    verbs(claude)
    code, _, err = run(capsys, "install", "claude-code")
    assert code == 2 and "another server named 'trakt' (user scope: \"uvx trakt-mcp" in err and "--replace" in err
    assert verbs(claude) == ["get"] and (home / ".claude.json").read_text() == original
    backup = home / f".claude.json{REPLACED_SUFFIX}"
    assert not backup.exists()

    code, out, _ = run(capsys, "install", "claude-code", "--replace")
    assert code == 0 and out.startswith("Replaced the other server named 'trakt' (\"uvx trakt-mcp"), out
    assert str(backup) in out and verbs(claude) == ["get", "remove", "add"]
    assert json.loads(backup.read_text()) == {"scope": "user", "entry": reference}
    assert backup.stat().st_mode & 0o777 == 0o600, "its env may hold secrets"
    assert trakt_entry(home)["command"] != "uvx"

    code, out, _ = run(capsys, "uninstall", "claude-code")
    assert code == 0 and 'put back the server it had replaced ("uvx trakt-mcp' in out, out
    assert trakt_entry(home) == reference and not backup.exists()
    assert verbs(claude) == ["get", "remove", "add-json"]
    code, _, err = run(capsys, "uninstall", "claude-code")
    assert code == 1 and "is not this one" in err and trakt_entry(home) == reference
    assert verbs(claude) == ["get"]


@pytest.mark.skipif(sys.platform == "win32", reason="the fake `claude` is a script with a shebang")
def test_setup_offers_claude_code_and_never_replaces_another_server(
    claude: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = {"type": "stdio", "command": "uvx", "args": ["trakt-mcp"], "env": {}}
    (Path.home() / ".claude.json").write_text(json.dumps({"mcpServers": {"trakt": reference}}))
    monkeypatch.setattr(cli_setup, "ASK", lambda prompt: "y")
    settings = Settings.load(environ={"TRAKT_MCP_HOME": str(Path.home() / "state")})
    assert cli_setup._offer_install(argparse.Namespace(), settings) == 0
    assert "another server named 'trakt'" in capsys.readouterr().err
    assert trakt_entry(Path.home()) == reference and verbs(claude) == ["get"]
