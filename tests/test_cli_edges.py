"""The command line at its edges, through real processes: Ctrl-C at a prompt or in the HTTP server exits 130
without a traceback, output piped into a reader that stops early never raises BrokenPipeError, and the HTTP server
says on stderr where it listens."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.server import guarded
from trakt_mcp.settings import Settings


def environment(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TRAKT_MCP_HOME": str(home), **extra}


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """A process whose stdin/stdout/stderr are a pseudo-terminal, as when a person runs it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        command = [sys.executable, "-m", "trakt_mcp", *argv]
        # The child takes Ctrl-C as a terminal program does, whatever this test runner ignores (pytest started
        # with `nohup ... &` ignores SIGINT, and a child would inherit that): it starts with the default.
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=default_sigint
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"never saw {text!r}; output so far: {self.seen.decode(errors='replace')}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:
                    break

    def interrupt(self) -> tuple[int, str]:
        """What Ctrl-C does: SIGINT to the process."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        os.close(self.master)
        return code, self.seen.decode(errors="replace")


def test_ctrl_c_at_the_call_confirmation_exits_130(tmp_path: Path) -> None:
    login = [sys.executable, "-m", "trakt_mcp", "login", "--sandbox"]
    assert subprocess.run(login, env=environment(tmp_path / "home"), capture_output=True, timeout=60).returncode == 0
    terminal = Terminal(
        ["call", "--sandbox", "remove_user_watchlist", "watchlist_type=shows", 'items=[{"trakt_id": "154997"}]'],
        environment(tmp_path / "home"),
    )
    terminal.wait_for("[y/N]")
    code, output = terminal.interrupt()
    assert code == 130 and "Traceback" not in output and "KeyboardInterrupt" not in output


def test_ctrl_c_while_login_waits_exits_130(tmp_path: Path) -> None:
    fake = FakeTrakt(client_id="cid", client_secret="csecret")  # never approves by itself
    with serve_on_loopback(fake) as url:
        keyring = "keyring.backends.fail.Keyring"
        env = environment(tmp_path / "home", TRAKT_CLIENT_SECRET="csecret", PYTHON_KEYRING_BACKEND=keyring)
        terminal = Terminal(["login", "--client-id", "cid", "--api-url", url], env)
        terminal.wait_for("Waiting for approval")
        code, output = terminal.interrupt()
    assert code == 130 and "Traceback" not in output


def test_ctrl_c_at_the_approve_prompt_exits_130(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pending = guarded.approvals(Settings(home=home)).request("clear_auth", {}, "Sign out of Trakt")
    terminal = Terminal(["approve", pending.code], environment(home))
    terminal.wait_for("Approve? [y/N]")
    code, output = terminal.interrupt()
    assert code == 130 and "Traceback" not in output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_http_server_says_where_it_listens_and_ctrl_c_exits_130(tmp_path: Path) -> None:
    port = free_port()
    terminal = Terminal(["--sandbox", "--transport", "streamable-http", "--port", str(port)], environment(tmp_path))
    terminal.wait_for(f"http://127.0.0.1:{port}/mcp")
    code, output = terminal.interrupt()
    assert code == 130 and "Traceback" not in output
    assert re.search(rf"serving MCP at http://127\.0\.0\.1:{port}/mcp", output)


@pytest.mark.parametrize(
    "argv",
    [["policy", "check"], ["--help"], ["call", "--sandbox", "fetch_trending_shows", "limit=20"], ["policy", "schema"]],
)
def test_output_into_a_reader_that_stops_never_raises_broken_pipe(tmp_path: Path, argv: list[str]) -> None:
    """As `trakt-mcp ... | head -1`: the reader goes away before the output is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trakt_mcp", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(tmp_path),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "BrokenPipeError" not in errors and "Traceback" not in errors, errors
