"""Helpers shared by the tests that drive real `trakt-mcp` processes sharing one state folder."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from trakt_mcp.trakt.tokens import FileStore, Token

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


# --- a fake Trakt on loopback and trakt-mcp over HTTP, as real processes ---------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def trakt_environment(home: Path, api: str, **extra: str) -> dict[str, str]:
    """trakt-mcp's environment for a state folder and a fake Trakt at `api` (no display: the owner's channel is
    the terminal unless `extra` gives a DISPLAY; no keyring: the token is a 0600 file)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {
        **env,
        "TRAKT_MCP_HOME": str(home),
        "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
        "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "TRAKT_API_URL": api,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **extra,
    }


@contextmanager
def fake_trakt() -> Iterator[tuple[FakeTrakt, str]]:
    """A fake Trakt served on 127.0.0.1 (it counts every request in `fake.calls`): (fake, its URL)."""
    fake = FakeTrakt()
    with serve_on_loopback(fake) as url:
        yield fake, url


def signed_in(fake: FakeTrakt, home: Path) -> None:
    """The state folder holds a token the fake issued (the owner signed in)."""
    issued = fake.issue_token()
    FileStore(home / "token.json").save(
        Token(issued.access_token, issued.refresh_token, issued.expires_at, issued.created_at)
    )


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


@asynccontextmanager
async def http_server(env: dict[str, str], *argv: str, log: Path) -> AsyncIterator[str]:
    """`trakt-mcp --transport streamable-http ARGV...` as its own process; yields its MCP URL."""
    port = free_port()
    command = [sys.executable, "-m", "trakt_mcp", "--transport", "streamable-http", "--port", str(port), *argv]
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the HTTP server did not start"
            await anyio.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def owner_token(env: dict[str, str]) -> str:
    """The owner's loopback token the HTTP server made in its state folder."""
    return (Path(env["TRAKT_MCP_HOME"]) / "http-token").read_text().strip()


@asynccontextmanager
async def http_client(url: str, token: str | None, **options: Any) -> AsyncIterator[Client]:
    """An MCP client over HTTP sending `token` as its bearer token (none when None)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        create_mcp_http_client(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), **options) as client,
    ):
        yield client
