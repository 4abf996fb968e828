"""Helpers shared by the tests that drive real `trakt-mcp` processes sharing one state folder."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Runs `trakt-mcp ARGV...` for a state folder, as a test module chooses (environment, flags), with `stdin`.
Run = Callable[..., "subprocess.CompletedProcess[str]"]


def audit_lines(home: Path) -> list[dict[str, Any]]:
    """Every line of the state folder's audit log, parsed (a torn line fails the test)."""
    return [json.loads(line) for line in (home / "audit.jsonl").read_text().splitlines()]


def approve_at_a_terminal(run: Run, home: Path, code: str) -> subprocess.CompletedProcess[str]:
    """`trakt-mcp approve CODE` with a real terminal (a pty) on stdin, the owner answering yes."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"y\n")
        return run(home, "approve", code, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
