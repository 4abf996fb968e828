"""`install claude-code` / `uninstall claude-code` through Claude Code's own `claude mcp` command (when it exists
and no --config file is named), with the same promises as the JSON-file path: another server already named `trakt`
is replaced only with --replace (its entry kept in a backup file, and put back by `uninstall`), and the answer says
truthfully what happened: Added, Updated or Unchanged.

`claude mcp get NAME` finds the entry in whichever scope holds it (local, project, user) and prints it as text;
the scope is read from the removal command it suggests (`claude mcp remove "NAME" -s SCOPE`). The exact entry of a
server about to be replaced (its args and env unsplit) is read from Claude Code's own file when it is there."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trakt_mcp.cli import jsonc
from trakt_mcp.cli.clients import SERVER_NAME, describe, is_ours
from trakt_mcp.trakt.tokens import write_private

EXIT_USAGE = 2
#: Next to the scope's config file: the entry of another server named `trakt` that `install --replace` replaced.
REPLACED_SUFFIX = ".trakt-mcp-replaced.json"
_SCOPE = re.compile(r"claude mcp remove .* -s (\w+)\s*$", re.MULTILINE)
TIMEOUT = 120


@dataclass(frozen=True)
class Found:
    """The `trakt` entry Claude Code has now."""

    scope: str
    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        return {"type": "stdio", "command": self.command, "args": self.args, "env": self.env}


class ClaudeError(Exception):
    """`claude mcp ...` failed in a way that is not "no such server"."""


def _run(claude: str, cwd: Path | None, *argv: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [claude, "mcp", *argv], capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClaudeError(f"`claude mcp {argv[0]}` did not run: {exc}") from None


def _failed(done: subprocess.CompletedProcess[str], what: str) -> ClaudeError:
    said = " ".join((done.stderr or done.stdout).split())[:300]
    return ClaudeError(f"`claude mcp {what}` failed (exit code {done.returncode}): {said}")


def claude_config(scope: str, cwd: Path) -> Path:
    """The file Claude Code keeps a scope's servers in."""
    if scope == "project":
        return cwd / ".mcp.json"
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home()) / ".claude.json"


def _from_file(scope: str, cwd: Path) -> dict[str, Any] | None:
    """The entry exactly as Claude Code's file keeps it (None when the file says otherwise or cannot be read)."""
    try:
        document = jsonc.loads(claude_config(scope, cwd).read_text(encoding="utf-8"))
    except (OSError, jsonc.JsoncError):
        return None
    if scope == "local" and isinstance(document, dict):
        document = (document.get("projects") or {}).get(str(cwd))
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    value = servers.get(SERVER_NAME) if isinstance(servers, dict) else None
    return value if isinstance(value, dict) else None


def lookup(claude: str, cwd: Path) -> Found | None:
    done = _run(claude, cwd, "get", SERVER_NAME)
    text = done.stdout
    if "no mcp server found" in (done.stdout + done.stderr).lower():
        return None
    if done.returncode != 0:
        raise _failed(done, f"get {SERVER_NAME}")
    lines = {
        key.strip().lower(): value.strip()
        for key, _, value in (line.partition(":") for line in text.splitlines()[1:] if ":" in line)
    }
    scope = _SCOPE.search(text)
    env = {}
    after = text.partition("Environment:")[2].split("\n\n")[0]
    for line in after.splitlines():
        name, equals, value = line.strip().partition("=")
        if equals:
            env[name] = value
    found = Found(
        scope=scope.group(1) if scope else "user",
        command=lines.get("command", ""),
        args=lines.get("args", "").split(),
        env=env,
    )
    exact = _from_file(found.scope, cwd)
    if exact is not None and exact.get("command") == found.command:
        args = [str(arg) for arg in exact.get("args") or []]
        raw_env = exact.get("env")
        env = {str(k): str(v) for k, v in raw_env.items()} if isinstance(raw_env, dict) else found.env
        found = Found(found.scope, found.command, args, env)
    return found


def _add(claude: str, cwd: Path, scope: str, value: dict[str, Any]) -> None:
    done = _run(claude, cwd, "add", "--scope", scope, SERVER_NAME, "--", value["command"], *value["args"])
    if done.returncode != 0:
        raise _failed(done, "add")


def _remove(claude: str, cwd: Path, scope: str) -> None:
    done = _run(claude, cwd, "remove", "--scope", scope, SERVER_NAME)
    if done.returncode != 0:
        raise _failed(done, "remove")


def install(claude: str, value: dict[str, Any], *, scope: str, cwd: Path, replace: bool) -> int:
    where = f"Claude Code ({scope} scope)"
    try:
        found = lookup(claude, cwd)
        if found is None:
            _add(claude, cwd, scope, value)
            print(f"Added {SERVER_NAME!r} to {where} with `claude mcp add`.")
            return 0
        if found.scope == scope and [found.command, *found.args] == [value["command"], *value["args"]]:
            print(f"Unchanged: {where} already has this entry.")
            return 0
        backup = None
        if not is_ours(found.entry()):
            backup = Path(str(claude_config(found.scope, cwd)) + REPLACED_SUFFIX)
            if not replace:
                print(
                    f"trakt-mcp install: Claude Code already has another server named {SERVER_NAME!r} "
                    f"({found.scope} scope: {describe(found.entry())}). Nothing was changed. To replace it, run "
                    f"again with --replace (its entry is then kept in {backup}).",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            kept = {"scope": found.scope, "entry": found.entry()}
            write_private(backup, json.dumps(kept, indent=2) + "\n", prefix=".trakt-mcp-", mode=0o600)
        _remove(claude, cwd, found.scope)
        _add(claude, cwd, scope, value)
    except ClaudeError as exc:
        print(f"trakt-mcp install: {exc}", file=sys.stderr)
        return 1
    if backup is None:
        print(f"Updated {SERVER_NAME!r} in {where}.")
    else:
        print(
            f"Replaced the other server named {SERVER_NAME!r} ({describe(found.entry())}) in {where}; its entry "
            f"is kept in {backup}, and `uninstall claude-code` puts it back."
        )
    return 0


def uninstall(claude: str, *, cwd: Path) -> int:
    try:
        found = lookup(claude, cwd)
        if found is None:
            print(f"Claude Code has no {SERVER_NAME!r} entry.")
            return 0
        if not is_ours(found.entry()):
            print(
                f"trakt-mcp uninstall: the server named {SERVER_NAME!r} in Claude Code ({found.scope} scope) is not "
                f"this one ({describe(found.entry())}); left as it is.",
                file=sys.stderr,
            )
            return 1
        _remove(claude, cwd, found.scope)
        backup = Path(str(claude_config(found.scope, cwd)) + REPLACED_SUFFIX)
        kept = _replaced(backup)
        if kept is not None:
            scope, entry = kept
            done = _run(claude, cwd, "add-json", "--scope", scope, SERVER_NAME, json.dumps(entry))
            if done.returncode != 0:
                raise _failed(done, "add-json")
            backup.unlink()
    except ClaudeError as exc:
        print(f"trakt-mcp uninstall: {exc}", file=sys.stderr)
        return 1
    if kept is not None:
        print(
            f"Removed {SERVER_NAME!r} from Claude Code ({found.scope} scope) and put back the server it had replaced "
            f"({describe(kept[1])})."
        )
    else:
        print(f"Removed {SERVER_NAME!r} from Claude Code ({found.scope} scope).")
    return 0


def _replaced(backup: Path) -> tuple[str, dict[str, Any]] | None:
    try:
        kept = json.loads(backup.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or not isinstance(kept.get("entry"), dict) or not isinstance(kept.get("scope"), str):
        return None
    return kept["scope"], kept["entry"]
