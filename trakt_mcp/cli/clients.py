"""The MCP clients `trakt-mcp install` knows: where each keeps its config, the shape of its entry, and the entry
for this installation. README.md's per-client sections are generated from here too (a test keeps them equal)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from trakt_mcp.settings import Settings
from trakt_mcp.terminal import DIST_NAME, excerpt

#: The entry's name in every client's config.
SERVER_NAME = "trakt"
__all__ = ["DIST_NAME", "SERVER_NAME"]


@dataclass(frozen=True)
class ClientKind:
    name: str
    title: str
    #: The object in the config file that holds the servers.
    container: str
    #: Whether the entry carries "type": "stdio".
    typed: bool
    #: Comments and trailing commas allowed in the file (JSONC).
    jsonc: bool
    #: The config file, per platform home (user scope).
    user_path: str
    #: Where the user's config file is, in words (README.md).
    where: str
    #: The project (workspace) config file, relative to the project folder, if the client has one.
    project_path: str | None = None

    def config_path(self, project: Path | None = None, home: Path | None = None) -> Path:
        if project is not None:
            if self.project_path is None:
                raise ValueError(f"{self.title} has no per-project configuration")
            return project / self.project_path
        return _expand(self.user_path, home or Path.home())


def _expand(template: str, home: Path) -> Path:
    """`{config}`: the per-user application settings folder of this platform."""
    if sys.platform == "darwin":
        config = home / "Library" / "Application Support"
    elif sys.platform == "win32":
        config = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming"))
    else:
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return Path(template.replace("{config}", str(config)).replace("~", str(home)))


CLIENTS: dict[str, ClientKind] = {
    kind.name: kind
    for kind in (
        ClientKind(
            "claude-desktop",
            "Claude Desktop",
            "mcpServers",
            typed=False,
            jsonc=False,
            user_path="{config}/Claude/claude_desktop_config.json",
            where="`claude_desktop_config.json` (macOS `~/Library/Application Support/Claude/`, Windows "
            "`%APPDATA%\\Claude\\`, Linux `~/.config/Claude/`)",
        ),
        ClientKind(
            "claude-code",
            "Claude Code",
            "mcpServers",
            typed=True,
            jsonc=False,
            user_path="~/.claude.json",
            where="`~/.claude.json`",
            project_path=".mcp.json",
        ),
        ClientKind(
            "cursor",
            "Cursor",
            "mcpServers",
            typed=False,
            jsonc=False,
            user_path="~/.cursor/mcp.json",
            where="`~/.cursor/mcp.json`",
            project_path=".cursor/mcp.json",
        ),
        ClientKind(
            "vscode",
            "VS Code",
            "servers",
            typed=True,
            jsonc=True,
            user_path="{config}/Code/User/mcp.json",
            where="the user's `mcp.json` (command *MCP: Open User Configuration*)",
            project_path=".vscode/mcp.json",
        ),
        ClientKind(
            "windsurf",
            "Windsurf",
            "mcpServers",
            typed=False,
            jsonc=False,
            user_path="~/.codeium/windsurf/mcp_config.json",
            where="`~/.codeium/windsurf/mcp_config.json`",
        ),
    )
}


def executable() -> list[str]:
    """This installation's `trakt-mcp`, by absolute path (clients start servers without the shell's PATH)."""
    scripts = Path(sys.executable).parent
    for name in ("trakt-mcp", "trakt-mcp.exe"):
        candidate = scripts / name
        if candidate.is_file():
            return [str(candidate.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "trakt_mcp"]


def uvx_command(source: str) -> list[str]:
    """`uvx trakt-guardrails` (from PyPI), or `uvx --from SOURCE trakt-guardrails` (a clone, a wheel, a pin)."""
    uvx = shutil.which("uvx") or "uvx"
    return [uvx, DIST_NAME] if source == DIST_NAME else [uvx, "--from", source, DIST_NAME]


def default_source() -> str:
    """Where this installation came from, for `install --uvx`: the clone or wheel it was installed from (pip and uv
    record it in direct_url.json), else this version on PyPI."""
    found = list(metadata.distributions(name=DIST_NAME))
    for distribution in found:  # a source tree's own egg-info may come first when run from the clone
        try:
            origin = json.loads(distribution.read_text("direct_url.json") or "null")
        except ValueError:
            origin = None
        url = origin.get("url") if isinstance(origin, dict) else None
        if isinstance(url, str) and url.startswith("file://"):
            return url2pathname(urlsplit(url).path)
    return f"{DIST_NAME}=={found[0].version}" if found else DIST_NAME


def is_ours(value: Any) -> bool:
    """Whether a client's entry starts this server: this installation, our command, or uvx running our package.
    Anything else under our entry's name (the reference server's `uvx trakt-mcp`, say) belongs to someone else."""
    if not isinstance(value, dict) or not isinstance(value.get("command"), str):
        return False
    command, args = value["command"], [str(arg) for arg in value.get("args") or []]
    mine = executable()
    if [command, *args[: len(mine) - 1]] == mine:
        return True
    name = Path(command).name.lower().removesuffix(".exe")
    if name in ("uvx", "uv"):
        return any(DIST_NAME in arg or DIST_NAME.replace("-", "_") in arg for arg in args)
    return name == DIST_NAME


def describe(value: Any) -> str:
    """A client's entry in one short line, for messages."""
    if not isinstance(value, dict):
        return excerpt(value)
    words = [str(value.get("command", "")), *(str(arg) for arg in value.get("args") or [])]
    return excerpt(shlex.join(words), 100)


def server_arguments(settings: Settings, *, policy: Path | None, home: Path | None) -> list[str]:
    """The flags that make the client's server the one configured here: home, policy, sandbox, restrictions."""
    args: list[str] = []
    if settings.sandbox:
        args.append("--sandbox")
    if home is not None:
        args += ["--home", str(home.absolute())]
    if policy is not None:
        args += ["--policy", str(policy.absolute())]
    return args + settings.restriction_flags()


def entry(kind: ClientKind, command: list[str], arguments: list[str]) -> dict[str, Any]:
    """The client's entry: no secrets (the server reads them from the keyring `trakt-mcp setup` filled)."""
    value: dict[str, Any] = {"type": "stdio"} if kind.typed else {}
    value["command"] = command[0]
    value["args"] = [*command[1:], *arguments]
    return value
