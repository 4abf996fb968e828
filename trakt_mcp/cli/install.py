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
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trakt_mcp.cli import claude_code, jsonc
from trakt_mcp.cli.clients import (
    CLIENTS,
    DIST_NAME,
    SERVER_NAME,
    ClientKind,
    default_source,
    describe,
    entry,
    executable,
    is_ours,
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
        "restrictions given here, no secrets), keeping every other server and comment. Run `setup` first "
        "so the server finds your Trakt app's credentials in the keyring. Another server already named "
        f"{SERVER_NAME!r} is replaced only with --replace.",
    )
    _client_options(install)
    install.add_argument(
        "--uvx",
        nargs="?",
        const="",
        metavar="SOURCE",
        help=f"start the server with `uvx --from SOURCE {DIST_NAME}` instead of this installation's path (default "
        f"SOURCE: the clone or wheel this installation came from; `--uvx {DIST_NAME}`: from PyPI)",
    )
    install.add_argument("--print", dest="print_only", action="store_true", help="show the entry, change nothing")
    install.add_argument(
        "--replace",
        action="store_true",
        help=f"replace another server already named {SERVER_NAME!r} (its entry is kept in the backup file)",
    )
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
    if uvx is None:
        return executable(), server_arguments(settings, policy=settings.policy, home=home)
    return uvx_command(uvx or default_source()), server_arguments(settings, policy=settings.policy, home=home)


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
        cwd = Path(args.project).absolute() if args.project else Path.cwd()
        return claude_code.install(claude, value, scope=scope, cwd=cwd, replace=args.replace)
    try:
        existing = _member_value(_read(path), kind)
        if existing is not None and existing != value and not is_ours(existing) and not args.replace:
            print(
                f"trakt-mcp install: {path} already has another server named {SERVER_NAME!r} "
                f"({describe(existing)}). Nothing was changed. To replace it, run again with --replace "
                f"(its entry is then kept in {path}{BACKUP_SUFFIX}).",
                file=sys.stderr,
            )
            return EXIT_USAGE
        outcome = write_entry(path, kind, value)
    except (OSError, jsonc.JsoncError) as exc:
        print(f"trakt-mcp install: cannot update {path}: {exc}. Nothing was changed.", file=sys.stderr)
        return 1
    print(_reported(outcome, path, existing))
    if outcome.changed:
        print(f"Restart {kind.title} to load it. The server runs: {shlex.join([*command, *arguments])}")
    return 0


def _reported(outcome: Written, path: Path, existing: Any) -> str:
    """What install did, truthfully: added, updated (ours), replaced (another server's), or nothing."""
    backup = f" The previous file is kept in {outcome.backup}." if outcome.backup else ""
    if not outcome.changed:
        return f"Unchanged: {path} already has this entry."
    if existing is None:
        return f"Added {SERVER_NAME!r} to {path}.{backup}"
    if is_ours(existing):
        return f"Updated {SERVER_NAME!r} in {path}.{backup}"
    return f"Replaced the other server named {SERVER_NAME!r} ({describe(existing)}) in {path}.{backup}"


def run_uninstall(args: argparse.Namespace, settings: Settings) -> int:
    kind = CLIENTS[args.client]
    claude = _via_claude_cli(kind, args)
    if claude:
        return claude_code.uninstall(claude, cwd=Path(args.project).absolute() if args.project else Path.cwd())
    try:
        path = _target(kind, args)
        existing = _member_value(_read(path), kind)
        if existing is not None and not is_ours(existing):
            print(
                f"trakt-mcp uninstall: the server named {SERVER_NAME!r} in {path} is not this one "
                f"({describe(existing)}); left as it is.",
                file=sys.stderr,
            )
            return 1
        replaced = replaced_server(path, kind)
        removed = remove_entry(path, kind)
    except (OSError, ValueError) as exc:
        print(f"trakt-mcp uninstall: cannot update the config: {exc}. Nothing was changed.", file=sys.stderr)
        return 1
    if not removed:
        print(f"{path} has no {SERVER_NAME!r} entry.")
    elif replaced is not None:
        print(f"Removed {SERVER_NAME!r} from {path} and put back the server it had replaced ({describe(replaced)}).")
    else:
        print(f"Removed {SERVER_NAME!r} from {path}.")
    return 0


def _read(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


@dataclass(frozen=True)
class Written:
    changed: bool
    #: The backup of the previous file, when there was one to keep.
    backup: Path | None = None


def _replace(path: Path, old: str, new: str, kind: ClientKind, *, backup_old: bool = True) -> Path | None:
    """Write `new` atomically; the backup made of the previous file, if the file existed."""
    if not kind.jsonc:
        json.loads(new)  # strict JSON clients: never write what they could not read
    mode = 0o600
    backup = None
    if path.exists() and not backup_old:
        mode = path.stat().st_mode & 0o777
    elif path.exists():
        mode = path.stat().st_mode & 0o777
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        write_private(backup, old, prefix=".trakt-mcp-", mode=mode)
    write_private(path, new, prefix=".trakt-mcp-", mode=mode)
    return backup


def write_entry(path: Path, kind: ClientKind, value: dict[str, Any]) -> Written:
    """Add or update the entry; unchanged when the file already says exactly this."""
    old = _read(path)
    new = jsonc.set_member(old, (kind.container, SERVER_NAME), value)
    if new == old:
        return Written(changed=False)
    # A backup that holds a server `--replace` replaced is its only copy: updating our own entry keeps it.
    keep = replaced_server(path, kind) is not None and is_ours(_member_value(old, kind))
    return Written(changed=True, backup=_replace(path, old, new, kind, backup_old=not keep))


def replaced_server(path: Path, kind: ClientKind) -> Any:
    """The other server that `install --replace` replaced, as the backup keeps it (None if there is none)."""
    try:
        value = _member_value(_read(path.with_name(path.name + BACKUP_SUFFIX)), kind)
    except jsonc.JsoncError:
        return None
    return value if value is not None and not is_ours(value) else None


def _member_value(text: str, kind: ClientKind) -> Any:
    if not text.strip():
        return None
    document = jsonc.loads(text)
    servers = document.get(kind.container) if isinstance(document, dict) else None
    return servers.get(SERVER_NAME) if isinstance(servers, dict) else None


def remove_entry(path: Path, kind: ClientKind) -> bool:
    """Remove only our entry. When nothing else changed since `install`, the file is exactly what it was before;
    a server that `install --replace` replaced comes back."""
    old = _read(path)
    current = _member_value(old, kind)
    if current is None:
        return False
    replaced = replaced_server(path, kind)
    if replaced is not None:
        _replace(path, old, jsonc.set_member(old, (kind.container, SERVER_NAME), replaced), kind, backup_old=False)
        return True
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


def clients_policies() -> list[str]:
    """For `status`: the policy each MCP client's entry for this server gives it (its own --policy, or none)."""
    lines = []
    for kind in CLIENTS.values():
        path = kind.config_path()
        try:
            value = _member_value(_read(path), kind)
        except (OSError, ValueError):
            continue
        if value is None or not is_ours(value):
            continue
        args = [str(arg) for arg in value.get("args") or []]
        policy = next((args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--policy"), None)
        given = f"--policy {policy}" if policy else "no --policy: the built-in policy unless its env sets one"
        lines.append(f"{kind.title} ({path}): {given}")
    return lines


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
