"""First start of the Claude Desktop extension: pack the bundle, unpack it as the host does, and time what the host
runs the first time (the manifest's mcp_config, `uv run --directory B --frozen --no-dev python -m trakt_mcp`, here
with `--version`): uv makes the bundle's environment from uv.lock. Once with an empty uv cache (every package
downloaded from the index), once with the cache that run filled, each in a fresh folder. Needs
`npm ci --prefix bundle` and the dev extras (uv).

    .venv/bin/python bench/bundle_start.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MCPB = ROOT / "bundle" / "node_modules" / ".bin" / "mcpb"
UV = Path(sys.executable).parent / "uv"


def first_start(bundle: Path, folder: Path, cache: Path) -> tuple[float, str]:
    unpacked = subprocess.run([str(MCPB), "unpack", str(bundle), str(folder)], capture_output=True, text=True)
    if unpacked.returncode != 0:
        raise SystemExit(unpacked.stdout + unpacked.stderr)
    config = json.loads((folder / "manifest.json").read_text())["server"]["mcp_config"]
    env = {
        **os.environ,
        "PYTHONPATH": str(folder),
        "UV_CACHE_DIR": str(cache),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
    }
    command = [str(UV), *(arg.replace("${__dirname}", str(folder)) for arg in config["args"]), "--version"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    said = [line.strip() for line in done.stderr.splitlines()]
    installed = next((line for line in said if line.startswith("Installed")), "")
    built = [line for line in said if line.startswith("Built ")]
    return seconds, f"{installed}; {'; '.join(built) if built else 'nothing built'}"


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        base = Path(work)
        bundle = base / "trakt-guardrails.mcpb"
        subprocess.run([sys.executable, str(ROOT / "bundle" / "build.py"), str(bundle)], check=True)
        cold, installed = first_start(bundle, base / "cold", base / "cache")
        warm, _ = first_start(bundle, base / "warm", base / "cache")
    print(f"bundle first start, empty uv cache: {cold:.1f} s ({installed})")
    print(f"bundle first start, uv cache filled: {warm:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
