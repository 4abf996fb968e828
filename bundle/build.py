"""Assemble and pack the MCP Bundle for Claude Desktop: `python bundle/build.py [OUT.mcpb]`.

The bundle is of mcpb's "uv" server type: it carries this project's pyproject.toml, uv.lock and source, and the
host runs `uv run --directory <bundle> --frozen --no-dev python -m trakt_mcp`, which installs the locked versions
for the user's platform and builds nothing (pyproject's `tool.uv.package = false`), so nothing is resolved there.
A bundle of prebuilt wheels (mcpb's "python" type, `server/lib`) would only run on one platform and one Python
minor version: pydantic-core, cryptography, cffi and rpds-py are compiled. The lock must be current (`uv lock`);
this refuses to pack a stale one. The official `mcpb` tool validates and packs it; install it first with
`npm ci --prefix bundle`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FILES = [
    "pyproject.toml",
    "uv.lock",
    "README.md",
    "policy.example.json",
    "policy.http.example.json",
    "policy.schema.json",
]
PACKAGES = ["trakt_mcp", "guard"]
#: The bundle's folder runs as a program (`<its python> <folder> approve CODE`, from any shell and folder): the
#: command its messages name, since the project itself is not installed in the bundle's environment.
LAUNCHER = '''"""This folder as a program: `python FOLDER [ARGS]` runs trakt-mcp from it."""

from trakt_mcp.cli.main import main

raise SystemExit(main())
'''
MCPB = HERE / "node_modules" / ".bin" / "mcpb"


def mcpb(*args: str) -> subprocess.CompletedProcess[str]:
    if not MCPB.exists():
        raise SystemExit(f"{MCPB} is missing: run `npm ci --prefix bundle` first")
    return subprocess.run([str(MCPB), *args], capture_output=True, text=True, timeout=300)


def stage(folder: Path) -> None:
    """The bundle's content: the manifest, the project's metadata and the two packages (no caches)."""
    shutil.copy2(HERE / "manifest.json", folder / "manifest.json")
    for name in FILES:
        shutil.copy2(ROOT / name, folder / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (folder / "__main__.py").write_text(LAUNCHER, encoding="utf-8")


def check_lock() -> None:
    """uv.lock must say what pyproject.toml asks for: the user's uv installs it as it is (--frozen)."""
    uv = shutil.which("uv", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if uv is None:
        raise SystemExit("uv is missing: install the dev extras (pip install -e '.[dev]')")
    checked = subprocess.run([uv, "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True)
    if checked.returncode != 0:
        raise SystemExit(f"uv.lock is stale: run `uv lock` and commit it.\n{checked.stderr}")


def build(out: Path) -> None:
    check_lock()
    validated = mcpb("validate", str(HERE / "manifest.json"))
    if validated.returncode != 0:
        raise SystemExit(f"mcpb validate failed:\n{validated.stdout}{validated.stderr}")
    with tempfile.TemporaryDirectory() as folder:
        stage(Path(folder))
        out.parent.mkdir(parents=True, exist_ok=True)
        packed = mcpb("pack", folder, str(out))
        if packed.returncode != 0 or not out.exists():
            raise SystemExit(f"mcpb pack failed:\n{packed.stdout}{packed.stderr}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "trakt-guardrails.mcpb"
    build(target)
    print(f"Packed {target}")
