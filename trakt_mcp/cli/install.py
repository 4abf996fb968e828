"""`trakt-mcp install CLIENT` / `uninstall CLIENT`: this server's entry in an MCP client's config file.

The entry names this installation's executable by absolute path (clients do not start servers through a shell,
so PATH and virtual environments mean nothing to them), the --home, --policy and quick restrictions in effect,
and no secrets. The file is edited in place (other servers, comments and layout kept), written atomically, and
the previous version is kept next to it as a backup."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from trakt_mcp.cli import jsonc
from trakt_mcp.cli.clients import (
    CLIENTS,
    SERVER_NAME,
    SOURCE,
    ClientKind,
    entry,
    executable,
    server_arguments,
    uvx_command,
)
from trakt_mcp.settings import Settings, default_home
from trakt_mcp.trakt.tokens import write_private

EXIT_USAGE = 2
BACKUP_SUFFIX = ".trakt-mcp.bak"


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    names = ", ".join(CLIENTS)
    install = subcommands.add_parser(
        "install",
        parents=[common],
        help=f"add this server to an MCP client's config ({names})",
        description="Writes the client's entry for this installation (absolute path, the --home, --policy and "
        "restrictions given here, no secrets), keeping every other server and comment. Run `trakt-mcp setup` "
        "first so the server finds your Trakt app's credentials in the keyring.",
    )
    _client_options(install)
    install.add_argument(
        "--uvx",
        nargs="?",
        const=SOURCE,
        metavar="SOURCE",
        help=f"start the server with `uvx --from SOURCE trakt-mcp` instead (default source: {SOURCE})",
    )
    install.add_argument("--print", dest="print_only", action="store_true", help="show the entry, change nothing")
    install.set_defaults(run=run_install)
    uninstall = subcommands.add_parser(
        "uninstall", parents=[common], help="remove this server's entry from an MCP client's config"
    )
    _client_options(uninstall)
    uninstall.set_defaults(run=run_uninstall)


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("client", choices=list(CLIENTS), help="the MCP client")
    parser.add_argument(
        "--project",
        nargs="?",
        const=".",
        metavar="DIR",
        help="the project's config (Cursor .cursor/mcp.json, VS Code workspace .vscode/mcp.json, Claude Code "
        ".mcp.json) instead of the user's",
    )
    parser.add_argument("--config", metavar="PATH", help="the config file to edit (default: the client's own)")


def command_line(settings: Settings, uvx: str | None) -> tuple[list[str], list[str]]:
    """The command that starts this server, and its arguments."""
    home = None if settings.home == default_home() else settings.home
    return (uvx_command(uvx) if uvx else executable()), server_arguments(settings, policy=settings.policy, home=home)


def snippet(kind: ClientKind, command: list[str], arguments: list[str]) -> str:
    """What `install --print` shows and README.md's section for this client holds."""
    value = entry(kind, command, arguments)
    if kind.name == "claude-code":
        return shlex.join(claude_add(value, "user"))
    return json.dumps({kind.container: {SERVER_NAME: value}}, indent=2)


def claude_add(value: dict[str, Any], scope: str) -> list[str]:
    return ["claude", "mcp", "add", "--scope", scope, SERVER_NAME, "--", value["command"], *value["args"]]


def _target(kind: ClientKind, args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config).expanduser()
    return kind.config_path(Path(args.project).absolute() if args.project else None)


def _via_claude_cli(kind: ClientKind, args: argparse.Namespace) -> str | None:
    """Claude Code is configured through its own `claude mcp` command when it exists (and no file is named)."""
    if kind.name != "claude-code" or args.config:
        return None
    return shutil.which("claude")


def run_install(args: argparse.Namespace, settings: Settings) -> int:
    kind = CLIENTS[args.client]
    if settings.policy is not None and not settings.policy.is_file():
        print(f"trakt-mcp install: the policy file {settings.policy} does not exist", file=sys.stderr)
        return EXIT_USAGE
    command, arguments = command_line(settings, args.uvx)
    value = entry(kind, command, arguments)
    claude = _via_claude_cli(kind, args)
    try:
        path = _target(kind, args)
    except ValueError as exc:
        print(f"trakt-mcp install: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.print_only:
        where = "`claude mcp add`" if claude else str(path)
        print(f"# {kind.title}: {where}", file=sys.stderr)
        if kind.name == "claude-code" and not claude:
            print(json.dumps({kind.container: {SERVER_NAME: value}}, indent=2))
        else:
            print(snippet(kind, command, arguments))
        return 0
    if claude:
        scope = "project" if args.project else "user"
        cwd = Path(args.project).absolute() if args.project else None
        subprocess.run([claude, "mcp", "remove", "--scope", scope, SERVER_NAME], capture_output=True, cwd=cwd)
        done = subprocess.run([claude, *claude_add(value, scope)[1:]], cwd=cwd)
        return 0 if done.returncode == 0 else 1
    try:
        changed = write_entry(path, kind, value)
    except (OSError, jsonc.JsoncError) as exc:
        print(f"trakt-mcp install: cannot update {path}: {exc}. Nothing was changed.", file=sys.stderr)
        return 1
    if changed:
        print(f"Added {SERVER_NAME!r} to {path} (previous version kept in {path}{BACKUP_SUFFIX}).")
    else:
        print(f"{path} already has this entry; nothing changed.")
    print(f"Restart {kind.title} to load it. The server runs: {shlex.join([*command, *arguments])}")
    return 0


def run_uninstall(args: argparse.Namespace, settings: Settings) -> int:
    kind = CLIENTS[args.client]
    claude = _via_claude_cli(kind, args)
    if claude:
        scope = "project" if args.project else "user"
        cwd = Path(args.project).absolute() if args.project else None
        return subprocess.run([claude, "mcp", "remove", "--scope", scope, SERVER_NAME], cwd=cwd).returncode
    try:
        path = _target(kind, args)
        removed = remove_entry(path, kind)
    except (OSError, ValueError) as exc:
        print(f"trakt-mcp uninstall: cannot update the config: {exc}. Nothing was changed.", file=sys.stderr)
        return 1
    print(f"Removed {SERVER_NAME!r} from {path}." if removed else f"{path} has no {SERVER_NAME!r} entry.")
    return 0


def _read(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _replace(path: Path, old: str, new: str, kind: ClientKind) -> None:
    if not kind.jsonc:
        json.loads(new)  # strict JSON clients: never write what they could not read
    mode = 0o600
    if path.exists():
        mode = path.stat().st_mode & 0o777
        write_private(path.with_name(path.name + BACKUP_SUFFIX), old, prefix=".trakt-mcp-", mode=mode)
    write_private(path, new, prefix=".trakt-mcp-", mode=mode)


def write_entry(path: Path, kind: ClientKind, value: dict[str, Any]) -> bool:
    """Add or update the entry; False when the file already says exactly this."""
    old = _read(path)
    new = jsonc.set_member(old, (kind.container, SERVER_NAME), value)
    if new == old:
        return False
    _replace(path, old, new, kind)
    return True


def _member_value(text: str, kind: ClientKind) -> Any:
    if not text.strip():
        return None
    document = jsonc.loads(text)
    servers = document.get(kind.container) if isinstance(document, dict) else None
    return servers.get(SERVER_NAME) if isinstance(servers, dict) else None


def remove_entry(path: Path, kind: ClientKind) -> bool:
    """Remove only our entry. When nothing else changed since `install`, the file is exactly what it was before."""
    old = _read(path)
    current = _member_value(old, kind)
    if current is None:
        return False
    backup = _read(path.with_name(path.name + BACKUP_SUFFIX))
    untouched = False
    if backup.strip():
        try:
            untouched = _member_value(backup, kind) is None and (
                jsonc.set_member(backup, (kind.container, SERVER_NAME), current) == old
            )
        except jsonc.JsoncError:
            untouched = False
    new = backup if untouched else jsonc.remove_member(old, (kind.container, SERVER_NAME))
    _replace(path, old, new, kind)
    return True


def found_clients() -> list[ClientKind]:
    """The clients that look installed for this user (their config folder exists, or `claude` is on PATH)."""
    found = []
    for kind in CLIENTS.values():
        if kind.name == "claude-code":
            present = shutil.which("claude") is not None or kind.config_path().exists()
        else:
            present = kind.config_path().parent.is_dir()
        if present:
            found.append(kind)
    return found
