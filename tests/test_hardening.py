"""Issue #17, through real `trakt-mcp` processes: each test is one finding of the adversarial review that used to
get through, and must now find the guard (or the server) closed.

1 conditions judge the canonical values the tool uses; 2 loopback HTTP needs a token; 4 slowloris cannot starve a
legitimate client; 6 a redirect's Location (which can carry a token) reaches no result and no log, and http:// is
refused beyond loopback; 8 errors quote a short escaped prefix of a value, and answers match questions by exact id.
"""

from __future__ import annotations

import json
import os
import queue
import re
import resource
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.conftest import text_of
from tests.guard_server import Harness, write_policy
from tests.test_http import serve
from trakt_mcp.http.limits import ConnectionLimits

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hunter2-access-token-0123456789"

CONDITIONS_POLICY: dict[str, Any] = {
    "version": "1",
    "default": "allow",
    "rules": {
        "add_user_watchlist": {
            "action": "allow",
            "reason": "not that one",
            "deny_if": [{"arg": "items[*].trakt_id", "equals": "120"}],
        },
        "checkin_to_show": {
            "action": "allow",
            "reason": "no spoilers, and always say something",
            "require": ["message"],
            "deny_if": [{"arg": "show_id", "equals": "breaking-bad"}],
        },
    },
}


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The child's environment: the test's (isolated home, in-memory keyring importable from the repo root)."""
    env = {**os.environ, "TRAKT_MCP_HOME": str(home), "PYTHONPATH": str(ROOT), **extra}
    return {key: value for key, value in env.items() if value}


@asynccontextmanager
async def real_server(home: Path, policy: dict[str, Any] | None = None) -> AsyncIterator[Client]:
    """`trakt-mcp --sandbox [--policy FILE]` over stdio, as an MCP client starts it."""
    args = ["-m", "trakt_mcp", "--sandbox"]
    if policy is not None:
        home.mkdir(parents=True, exist_ok=True)
        (home / "policy.json").write_text(json.dumps(policy), encoding="utf-8")
        args += ["--policy", str(home / "policy.json")]
    params = StdioServerParameters(command=sys.executable, args=args, env=environment(home), cwd=str(ROOT))
    async with Client(params, mode="legacy") as client:
        yield client


async def sign_in(client: Client) -> None:
    """The sandbox's device flow: it approves the code after the first poll."""
    await client.call_tool("start_device_auth", {})
    for _ in range(10):
        if "Signed in" in text_of(await client.call_tool("check_auth_status", {})):
            return
        await anyio.sleep(1.0)
    raise AssertionError("the sandbox sign-in did not complete")


# --- 1: conditions judge the canonical values ------------------------------------------------------------------


async def test_no_spelling_of_a_denied_id_gets_past_a_condition(tmp_path: Path) -> None:
    spellings = [" 120", "0120", "00000000120", "\u0661\u0662\u0660", "\uff11\uff12\uff10", "120 "]
    async with real_server(tmp_path / "home", CONDITIONS_POLICY) as client:
        await sign_in(client)
        answers = {}
        for spelling in spellings:
            items = [{"trakt_id": spelling}]
            answers[spelling] = await client.call_tool(
                "add_user_watchlist", {"watchlist_type": "movies", "items": items}
            )
        allowed = await client.call_tool(
            "add_user_watchlist", {"watchlist_type": "movies", "items": [{"trakt_id": "16662"}]}
        )
        watchlist = text_of(await client.call_tool("fetch_user_watchlist", {"watchlist_type": "movies"}))
    for spelling, answer in answers.items():
        said = text_of(answer)
        assert answer.is_error, f"{spelling!r} ran: {said}"
        assert "not that one" in said or "Invalid arguments, nothing was sent: items.0.trakt_id" in said, said
    assert not allowed.is_error and "Inception" in watchlist  # the tool itself works
    assert "Dark Knight" not in watchlist


async def test_a_padded_show_id_and_a_blank_message_are_judged_as_the_checkin_would_send_them(tmp_path: Path) -> None:
    async with real_server(tmp_path / "home", CONDITIONS_POLICY) as client:
        await sign_in(client)
        padded = await client.call_tool(
            "checkin_to_show", {"show_id": " Breaking-Bad", "season": 1, "episode": 1, "message": "hello"}
        )
        blanks = [
            await client.call_tool("checkin_to_show", {"show_id": "severance", "season": 1, "episode": 1, "message": m})
            for m in (" ", "\u200b\t\n")
        ]
        posted = await client.call_tool(
            "checkin_to_show", {"show_id": "severance", "season": 1, "episode": 1, "message": "Great pilot"}
        )
    assert padded.is_error and "no spoilers" in text_of(padded)
    for blank in blanks:
        assert blank.is_error and "requires message is present" in text_of(blank), text_of(blank)
    assert not posted.is_error, text_of(posted)


# --- 6: redirects and http:// ----------------------------------------------------------------------------------


@contextmanager
def redirecting_api(status: int = 302) -> Iterator[tuple[str, list[str]]]:
    """A loopback 'API' that answers every request with a redirect whose Location carries a token."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(status)
            self.send_header("Location", f"https://collector.example/steal?access_token={SECRET}")
            self.send_header("Set-Cookie", f"session={SECRET}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def run_cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trakt_mcp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(home, **env),
        cwd=ROOT,
    )


def test_a_redirect_is_never_followed_and_its_location_reaches_no_output(tmp_path: Path) -> None:
    with redirecting_api() as (url, seen):
        done = run_cli(
            tmp_path, "-v", "call", "fetch_trending_shows", "limit=1", TRAKT_API_URL=url, TRAKT_CLIENT_ID="test-id"
        )
    assert done.returncode == 1
    assert "redirect, which is never followed" in done.stdout
    assert SECRET not in done.stdout and SECRET not in done.stderr
    assert "collector.example" not in done.stdout + done.stderr
    assert len(seen) == 1  # asked once, not retried, not followed


def test_an_http_api_url_beyond_loopback_is_refused_naming_the_setting(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "call", "fetch_trending_shows", TRAKT_API_URL="http://api.trakt.tv", TRAKT_CLIENT_ID="x")
    assert done.returncode == 2
    assert "api_url" in done.stderr and "https://" in done.stderr
    for url in ("https://user:pw@api.trakt.tv", "ftp://api.trakt.tv"):
        refused = run_cli(tmp_path, "call", "fetch_trending_shows", TRAKT_API_URL=url, TRAKT_CLIENT_ID="x")
        assert refused.returncode == 2 and "api_url" in refused.stderr and "pw" not in refused.stderr


# --- 8: errors quote a short escaped prefix --------------------------------------------------------------------


async def test_an_error_quotes_a_short_escaped_prefix_of_a_huge_value(tmp_path: Path) -> None:
    huge = "\x1b[2J" + "9" * 5_000_000
    async with real_server(tmp_path / "home") as client:
        invalid = await client.call_tool("fetch_trending_shows", {"limit": huge})
        with pytest.raises(MCPError) as unknown:  # an unknown tool is a JSON-RPC error (-32602)
            await client.call_tool("\u202e" + "x" * 200_000, {})
    for said in (text_of(invalid), unknown.value.error.message):
        assert len(said) < 600, said[:600]
        assert "\x1b" not in said and "\u202e" not in said
    assert invalid.is_error
    assert "limit:" in text_of(invalid) and "5,000,004 characters" in text_of(invalid)


# --- 2: loopback HTTP needs the owner's token ------------------------------------------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _low_file_limit() -> None:
    """The common default of 1024 open files, so the server meets a flood as it would on a stock machine."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


@contextmanager
def http_server(home: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`trakt-mcp --sandbox --transport streamable-http` on a free loopback port, with 1024 open files."""
    port = free_port()
    argv = [sys.executable, "-m", "trakt_mcp", "--sandbox", "--transport", "streamable-http", "--port", str(port)]
    process = subprocess.Popen(
        [*argv, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(home),
        cwd=ROOT,
        preexec_fn=_low_file_limit,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the HTTP server did not start"
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def stderr_of(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    return process.stderr.read()


def initialize(base: str, token: str | None = None, **client: Any) -> httpx.Response:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
    with httpx.Client(transport=httpx.HTTPTransport(**client), timeout=5) as http:
        return http.post(f"{base}/mcp", json=INITIALIZE, headers=headers)


def test_loopback_http_needs_the_owners_token_unless_no_auth(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with http_server(home) as (base, process):
        stranger = initialize(base)
        guessed = initialize(base, "x" * 43)
    first_start = stderr_of(process)
    shown = re.search(r"^    ([A-Za-z0-9_-]{43})$", first_start, re.M)
    assert shown, first_start
    token = shown.group(1)
    assert stranger.status_code == 401 and guessed.status_code == 401
    assert stat.S_IMODE((home / "http-token").stat().st_mode) == 0o600

    again = run_cli(home, "identity", "show-local")
    assert again.returncode == 0 and token in again.stdout
    with http_server(home) as (base, process):
        owner = initialize(base, token)
        still_refused = initialize(base)
    assert owner.status_code == 200 and still_refused.status_code == 401
    assert token not in stderr_of(process)  # shown once, on the first start only

    with http_server(home, "--no-auth") as (base, process):
        assert initialize(base).status_code == 200


# --- 4: slowloris ----------------------------------------------------------------------------------------------


@pytest.mark.alone  # the owner's answers are timed to a second: no other test competes for the CPU meanwhile
def test_a_slowloris_flood_leaves_a_legitimate_client_answered_within_a_second(tmp_path: Path) -> None:
    """1,100 connections from 127.0.0.1 whose headers never finish; the owner's client (from 127.0.0.2, another
    loopback address) must still be answered, each time within one second."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    attackers: list[socket.socket] = []
    home = tmp_path / "home"
    with http_server(home, "--no-auth") as (base, _):
        port = int(base.rsplit(":", 1)[1])
        started = time.monotonic()
        try:
            for _ in range(1100):
                if time.monotonic() - started > 25:
                    break
                attacker = socket.socket()
                attacker.settimeout(1)
                try:
                    attacker.connect(("127.0.0.1", port))
                    attacker.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode())
                except OSError:
                    pass  # refused or reset: the server shed it
                attackers.append(attacker)
            assert len(attackers) == 1100, f"only {len(attackers)} connections opened in 25 s"
            waits = []
            for _ in range(3):
                began = time.monotonic()
                answer = initialize(base, local_address="127.0.0.2")
                waits.append(time.monotonic() - began)
                assert answer.status_code == 200
            assert max(waits) < 1.0, waits
        finally:
            for attacker in attackers:
                attacker.close()


def test_a_request_not_sent_in_time_is_cut_and_a_body_over_the_limit_refused(tmp_path: Path) -> None:
    limits = ConnectionLimits(read_timeout=0.5, max_body_bytes=64 * 1024)
    with serve(tmp_path, None, no_auth=True, limits=limits) as served, socket.socket() as slow:
        slow.settimeout(5)
        slow.connect(("127.0.0.1", served.port))
        slow.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        began = time.monotonic()
        try:
            closed = slow.recv(1024) == b""
        except ConnectionResetError:
            closed = True
        assert closed and time.monotonic() - began < 3

        declared = httpx.post(served.url, content=b"x" * (65 * 1024), headers=MCP_HEADERS, timeout=10)
        assert declared.status_code == 413

        def chunks() -> Iterator[bytes]:
            yield b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "'
            for _ in range(100):
                yield b"x" * 1024

        streamed = httpx.post(served.url, content=chunks(), headers=MCP_HEADERS, timeout=10)
        assert streamed.status_code != 200


# --- 8: answers match questions exactly; a failed replay burns nothing -----------------------------------------


class StdioPeer:
    """A raw MCP client on a real server's stdin/stdout: it can answer with ids no SDK client would use."""

    def __init__(self, home: Path, policy: dict[str, Any]) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / "policy.json").write_text(json.dumps(policy), encoding="utf-8")
        argv = [sys.executable, "-m", "trakt_mcp", "--sandbox", "--policy", str(home / "policy.json")]
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=environment(home),
            cwd=ROOT,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        self.process.stdin.flush()

    def next(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=15)


def test_an_answer_under_the_string_id_of_a_question_answers_nothing(tmp_path: Path) -> None:
    policy = {"version": "1", "default": "allow", "rules": {"fetch_trending_shows": {"action": "confirm"}}}
    peer = StdioPeer(tmp_path / "home", policy)
    try:
        capabilities = {"elicitation": {"form": {}}}
        info = {"name": "raw", "version": "0"}
        params = {"protocolVersion": "2025-06-18", "capabilities": capabilities, "clientInfo": info}
        peer.send({"id": 1, "method": "initialize", "params": params})
        assert (peer.next(30) or {}).get("id") == 1
        peer.send({"method": "notifications/initialized"})
        peer.send({"id": 2, "method": "tools/call", "params": {"name": "fetch_trending_shows", "arguments": {}}})
        question = peer.next(30)
        assert question is not None and question.get("method") == "elicitation/create", question
        asked = question["id"]
        assert isinstance(asked, int)
        peer.send({"id": str(asked), "result": {"action": "accept", "content": {"confirm": True}}})
        assert peer.next(2.0) is None  # the forged answer settled nothing: the question still waits
        peer.send({"id": asked, "result": {"action": "decline"}})
        result = peer.next(30)
    finally:
        peer.close()
    assert result is not None and result.get("id") == 2, result
    said = result["result"]["content"][0]["text"]
    assert result["result"]["isError"] and "declined" in said, said


async def test_a_failed_replay_by_another_identity_does_not_burn_the_question(tmp_path: Path) -> None:
    from tests.test_bypass import POLICY, YES, modern_call

    h = Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", POLICY))
    ran: list[Any] = []
    h.caller = "ann"
    asked = await modern_call(h, {"id": 1}, ran)
    h.caller = "ben"
    stolen = await modern_call(h, {"id": 1}, ran, inputResponses=YES, requestState=asked.request_state)
    assert stolen.is_error and ran == []
    h.caller = "ann"
    answered = await modern_call(h, {"id": 1}, ran, inputResponses=YES, requestState=asked.request_state)
    assert not answered.is_error and len(ran) == 1
    replayed = await modern_call(h, {"id": 1}, ran, inputResponses=YES, requestState=asked.request_state)
    assert replayed.is_error and len(ran) == 1  # still single use


# --- 1: the canonical arguments are a fixed point --------------------------------------------------------------


def test_every_tools_canonical_arguments_parse_to_themselves() -> None:
    """The handler re-reads the canonical arguments the guard judged: reading them again must change nothing, or
    the guard and the tool would see different values."""
    from pydantic import ValidationError

    from tests.schema_strategies import from_schema
    from tests.test_fuzz import draw, wrong_arguments
    from trakt_mcp.tools import all_tools
    from trakt_mcp.tools.spec import published_schema

    checked = 0
    for spec in all_tools():
        schema = published_schema(spec.args)
        for arguments in draw(from_schema(schema), 20) + draw(wrong_arguments(schema), 20):
            try:
                canonical = spec.canonical(arguments)
            except ValidationError:
                continue
            assert spec.canonical(canonical) == canonical, (spec.name, arguments)
            checked += 1
    assert checked > 200
