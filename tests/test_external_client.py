"""A real external MCP client: the official TypeScript SDK drives `trakt-mcp --sandbox` over stdio.

CI installs the SDK (`npm ci --prefix tests/external`); where Node.js or that install is missing, this test is
skipped with the command that enables it, except under CI=true, where it fails (as every tool-gated test does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "external"


def test_typescript_sdk_client_lists_calls_and_confirms_clear_auth(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        message = "needs Node.js and `npm ci --prefix tests/external` (CI does both)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the external client: {message}")
        pytest.skip(message)
    done = subprocess.run(
        [node, str(HERE / "client.mjs"), sys.executable, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["server"]["name"] == "trakt-mcp"
    assert len(report["toolNames"]) == 77
    assert "Breaking Bad" in report["trending"]
    assert "signed in" in report["status"].lower()
    assert len(report["asked"]) == 1, "clear_auth must ask the human exactly once"
    assert "log out" in report["asked"][0].lower()
    assert not report["clearedIsError"], report["cleared"]
    assert "revoked" in report["cleared"].lower()
