"""The MCP Bundle for Claude Desktop, with the official `mcpb` tool: the manifest validates, the bundle packs, and
the packed bundle, unpacked into an empty folder, starts the way the host starts it (the manifest's mcp_config,
`uv run` in the bundle's folder) and lists all 93 tools. Needs `npm ci --prefix bundle` and uv (a dev
dependency); CI installs both, and there a missing one fails the test instead of skipping it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
MCPB = ROOT / "bundle" / "node_modules" / ".bin" / "mcpb"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def require(tool: Path | None, what: str) -> Path:
    if tool is None or not tool.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is missing in CI")
        pytest.skip(f"{what} is not installed here")
    return tool


def uv() -> Path | None:
    beside = Path(sys.executable).parent / "uv"
    found = shutil.which("uv")
    return beside if beside.exists() else (Path(found) if found else None)


def mcpb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MCPB), *args], capture_output=True, text=True, timeout=300)


def resolve(value: str, folder: Path, user_config: dict[str, str]) -> str:
    """What the host does to the manifest's strings: ${__dirname} and ${user_config.KEY}; a field the user left
    empty is not replaced at all (Claude Desktop passes the placeholder through as it is)."""
    value = value.replace("${__dirname}", str(folder))
    for key, given in user_config.items():
        value = value.replace(f"${{user_config.{key}}}", given)
    return value


def test_the_manifest_validates_with_mcpb() -> None:
    require(MCPB, "mcpb (npm ci --prefix bundle)")
    done = mcpb("validate", str(ROOT / "bundle" / "manifest.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((ROOT / "bundle" / "manifest.json").read_text())
    config = manifest["user_config"]
    assert config["client_secret"]["sensitive"] is True
    assert {"client_id", "client_secret", "policy_file"} <= set(config)


async def test_the_packed_bundle_starts_from_an_empty_folder_and_lists_93_tools(tmp_path: Path) -> None:
    require(MCPB, "mcpb (npm ci --prefix bundle)")
    uv_path = require(uv(), "uv")
    packed = tmp_path / "trakt-mcp.mcpb"
    built = subprocess.run(
        [sys.executable, str(ROOT / "bundle" / "build.py"), str(packed)], capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0 and packed.exists(), built.stdout + built.stderr
    folder = tmp_path / "installed"
    folder.mkdir()
    unpacked = mcpb("unpack", str(packed), str(folder))
    assert unpacked.returncode == 0, unpacked.stdout + unpacked.stderr
    assert not (folder / ".venv").exists() and (folder / "pyproject.toml").exists() and (folder / "uv.lock").exists()

    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    config = manifest["server"]["mcp_config"]
    user_config: dict[str, str] = {}  # the user filled in nothing: every ${user_config.*} stays as it is
    assert config["command"] == "uv" and "--frozen" in config["args"], "the lock is installed as it is"
    args = [resolve(arg, folder, user_config) for arg in config["args"]]
    env = {key: resolve(value, folder, user_config) for key, value in config.get("env", {}).items()}
    # What the host provides around it: its own uv and Python (here: this interpreter, no downloads), a home.
    env.update(
        PATH=f"{uv_path.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        HOME=os.environ.get("HOME", str(tmp_path)),
        TRAKT_MCP_HOME=str(tmp_path / "state"),
        UV_PYTHON=sys.executable,
        UV_PYTHON_DOWNLOADS="never",
    )
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # no credentials stored anywhere
    if CA_BUNDLE.exists():
        env["SSL_CERT_FILE"] = str(CA_BUNDLE)
    # First start: uv makes the bundle's environment from uv.lock; it installs, it does not resolve.
    started = time.monotonic()
    first = subprocess.run(
        [str(uv_path), *args, "--version"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    first_start = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    assert "Resolved" not in first.stderr and "Installed" in first.stderr, first.stderr
    # ... and builds nothing: building this project would resolve and fetch setuptools (unlocked) on the user's machine.
    assert "Built" not in first.stderr and "Building" not in first.stderr, first.stderr
    print(f"bundle first start (environment from uv.lock, uv cache as found): {first_start:.1f} s")
    # The command the bundle's messages name (`approve CODE` ...) works from a new shell in any folder.
    python = folder / ".venv" / "bin" / "python"
    named = subprocess.run(
        [str(python), "-c", "from trakt_mcp.terminal import command; print(command('--version'))"],
        env={**env, "PYTHONPATH": str(folder)}, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    assert named == f"{python} {folder} --version", named
    again = subprocess.run(shlex.split(named), env={"HOME": env["HOME"]}, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.startswith("trakt-mcp "), again.stderr
    params = StdioServerParameters(command=str(uv_path), args=args, env=env, cwd=str(tmp_path))
    async with Client(params, mode="legacy") as session:
        tools = (await session.list_tools()).tools
        assert session.server_info is not None and session.server_info.name == "trakt-mcp"
        unconfigured = await session.call_tool("fetch_trending_shows", {})
    assert len(tools) == 93
    assert {tool["name"] for tool in manifest["tools"]} == {tool.name for tool in tools}
    # No client ID: the user is sent to the extension's settings, by the field's name, not to a command.
    text = unconfigured.content[0].text  # type: ignore[union-attr]
    assert unconfigured.is_error and '"Trakt client ID"' in text and "Extensions" in text, text
    assert "setup" not in text and "--sandbox" not in text
