"""Approval through real `trakt-mcp` processes: the owner decides, never the caller's own client.

- Over streamable HTTP (a real server process, the SDK's HTTP client, both protocol eras): an identity under a
  confirm rule whose client accepts every question it is asked never runs the call; the owner's answer at the
  terminal (a real pty) does, either on the agent's next call or while the original call waits, with progress
  notifications that tell the client what to run.
- Claude Desktop's situation (stdio, a client without elicitation, a display): `clear_auth` opens one dialog; Allow
  revokes the token at the fake Trakt (on loopback) and removes it; the audit line says `desktop`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from mcp import Client, StdioServerParameters, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.conftest import text_of
from tests.desktop_support import press, virtual_display, wait_for_window, windows
from tests.process_support import approve_at_a_terminal, audit_lines
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from trakt_mcp.trakt.tokens import FileStore, Token

TOKEN = secrets.token_urlsafe(32)
CODE = re.compile(r"`(?:\S*/)?trakt-mcp approve --home \S+ ([A-Z2-9]{4}-[A-Z2-9]{4})`")
ARGUMENTS = {"query": "breaking", "limit": 1}
POLICY = {
    "version": "1",
    "default": "allow",
    "rules": {"search_shows": {"action": "confirm", "reason": "the owner decides"}},
    "identities": {"remote": {"token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "TRAKT_MCP_HOME": str(home), **extra}


@contextmanager
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`trakt-mcp --sandbox --transport streamable-http` as its own process, with no display: the owner's channel
    is the terminal. Yields the MCP URL and the state folder."""
    home, policy = tmp_path / "home", tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    port = free_port()
    argv = ["--sandbox", "--policy", str(policy), "--transport", "streamable-http", "--port", str(port)]
    with (tmp_path / "server.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "trakt_mcp", *argv], env=environment(home), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the HTTP server did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", home
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class SaysYes:
    """An elicitation callback that approves whatever it is asked, as a hostile client would."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})


@asynccontextmanager
async def remote_client(url: str, mode: str, says_yes: SaysYes) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        create_mcp_http_client(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, elicitation_callback=says_yes) as client,
    ):
        yield client


def trakt_mcp(home: Path, *argv: str, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "trakt_mcp", "--home", str(home), *argv]
    return subprocess.run(command, env=environment(home), capture_output=True, text=True, timeout=60, stdin=stdin)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_remote_caller_that_approves_itself_never_runs_the_call_the_owner_at_the_terminal_does(
    tmp_path: Path, mode: str
) -> None:
    says_yes = SaysYes()
    with http_server(tmp_path) as (url, home):
        async with remote_client(url, mode, says_yes) as client:
            asked = await client.call_tool("search_shows", ARGUMENTS)
            again = await client.call_tool("search_shows", ARGUMENTS)
            assert asked.is_error and again.is_error and "Breaking Bad" not in text_of(asked) + text_of(again)
            assert says_yes.asked == [], "the caller's own client must never be asked"
            match = CODE.search(text_of(asked))
            assert match, text_of(asked)
            assert f"state folder {home}" in text_of(asked)

            listed = trakt_mcp(home, "approve")
            assert match.group(1) in listed.stdout and "identity remote" in listed.stdout, listed.stdout
            approved = approve_at_a_terminal(trakt_mcp, home, match.group(1))
            assert approved.returncode == 0, approved.stdout + approved.stderr
            ran = await client.call_tool("search_shows", ARGUMENTS)
            replay = await client.call_tool("search_shows", ARGUMENTS)
        lines = audit_lines(home)
    assert not ran.is_error and "Breaking Bad" in text_of(ran)
    assert replay.is_error and "Breaking Bad" not in text_of(replay)
    decided = [(line["decision"], line.get("channel"), line.get("answered_by"), line["outcome"]) for line in lines]
    assert decided == [
        ("approval_pending", "terminal", None, "blocked"),
        ("approval_pending", "terminal", None, "blocked"),
        ("confirmed", "terminal", "owner", "ok"),
        ("approval_pending", "terminal", None, "blocked"),
    ]
    assert {line["identity"] for line in lines} == {"remote"}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_call_that_can_wait_completes_when_the_owner_approves_at_the_terminal(
    tmp_path: Path, mode: str
) -> None:
    says_yes = SaysYes()
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    with http_server(tmp_path) as (url, home):
        async with remote_client(url, mode, says_yes) as client:
            results: list[types.CallToolResult] = []
            async with anyio.create_task_group() as group:

                async def call() -> None:
                    results.append(await client.call_tool("search_shows", ARGUMENTS, progress_callback=on_progress))

                group.start_soon(call)
                deadline = time.monotonic() + 60
                while not (waiting := re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}", trakt_mcp(home, "approve").stdout)):
                    assert time.monotonic() < deadline, "no approval was waiting"
                    await anyio.sleep(0.2)
                assert not results, "the call waits for the owner"
                approved = await anyio.to_thread.run_sync(approve_at_a_terminal, trakt_mcp, home, waiting[0])
                assert approved.returncode == 0, approved.stdout + approved.stderr
        lines = audit_lines(home)
    [result] = results
    assert not result.is_error and "Breaking Bad" in text_of(result), text_of(result)
    assert says_yes.asked == []
    assert progress and f"trakt-mcp approve --home {home} {waiting[0]}" in progress[0]
    assert [(line["decision"], line["channel"], line["answered_by"]) for line in lines] == [
        ("confirmed", "terminal", "owner")
    ]


@contextmanager
def fake_trakt_on_loopback() -> Iterator[tuple[FakeTrakt, str]]:
    fake = FakeTrakt()
    with serve_on_loopback(fake) as url:
        yield fake, url


async def test_clear_auth_as_in_claude_desktop_opens_one_dialog_and_allow_signs_out(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with virtual_display() as display, fake_trakt_on_loopback() as (fake, api):
        issued = fake.issue_token()
        FileStore(home / "token.json").save(
            Token(issued.access_token, issued.refresh_token, issued.expires_at, issued.created_at)
        )
        env = environment(
            home,
            DISPLAY=display,
            TRAKT_CLIENT_ID=SANDBOX_CLIENT_ID,
            TRAKT_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
            TRAKT_API_URL=api,
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",  # no keyring: the token is a 0600 file
        )
        server = StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp"], env=env)
        async with Client(server, mode="legacy") as client:  # declares no elicitation, as Claude Desktop
            results: list[types.CallToolResult] = []
            async with anyio.create_task_group() as group:

                async def call() -> None:
                    results.append(await client.call_tool("clear_auth", {}))

                group.start_soon(call)
                window, _ = await anyio.to_thread.run_sync(wait_for_window, display, "Allow this action?")
                assert len(windows(display, "Allow this action?")) == 1
                await anyio.to_thread.run_sync(lambda: press(display, window, "Tab", "Return"))
            nothing_left = await client.call_tool("clear_auth", {})
        assert windows(display, "Allow this action?") == []
    [result] = results
    assert not result.is_error and "revoked at Trakt and removed" in text_of(result), text_of(result)
    assert not fake.token_valid(issued.access_token)
    assert not (home / "token.json").exists()
    assert not nothing_left.is_error and "Nothing to clear" in text_of(nothing_left)  # and nobody was asked
    lines = audit_lines(home)
    assert [(line["tool"], line["decision"], line.get("channel"), line.get("answered_by")) for line in lines] == [
        ("clear_auth", "confirmed", "desktop", "owner"),
        ("clear_auth", "not_ready", None, None),
    ]
    assert "confirmed (desktop, by the owner)" in trakt_mcp(home, "audit").stdout
