"""The guard's promises hold across real `trakt-mcp` processes sharing one TRAKT_MCP_HOME: rate limits, sign-ins
and approvals live in the shared state store, not in one process's memory, and survive `kill -9`."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from tests.process_support import approve_at_a_terminal, audit_lines

LIMITED = {"version": "1", "default": "allow", "rules": {"search_shows": {"action": "allow", "rate_limit": {}}}}
CONFIRM = {"version": "1", "default": "allow", "rules": {"search_shows": {"action": "confirm"}}}
CODE = re.compile(r"approve (?:--home \S+ )?([A-Z2-9]{4}-[A-Z2-9]{4})")


def limited_policy(path: Path, max_calls: int) -> Path:
    policy = json.loads(json.dumps(LIMITED))
    policy["rules"]["search_shows"]["rate_limit"] = {"max": max_calls, "window": 3600}
    path.write_text(json.dumps(policy))
    return path


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "TRAKT_MCP_HOME": str(home)}


def trakt_mcp(home: Path, *argv: str, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "trakt_mcp", *argv]
    return subprocess.run(command, env=env_for(home), capture_output=True, text=True, timeout=60, stdin=stdin)


def server(home: Path, policy: Path) -> StdioServerParameters:
    argv = ["-m", "trakt_mcp", "--sandbox", "--policy", str(policy)]
    return StdioServerParameters(command=sys.executable, args=argv, env=env_for(home))


def test_four_sequential_calls_with_max_two_run_exactly_two(tmp_path: Path) -> None:
    policy = limited_policy(tmp_path / "p.json", 2)
    home = tmp_path / "home"
    runs = [
        trakt_mcp(home, "call", "--sandbox", "--policy", str(policy), "search_shows", "query=breaking")
        for _ in range(4)
    ]
    assert [run.returncode for run in runs] == [0, 0, 1, 1]
    assert all("Breaking Bad" in run.stdout for run in runs[:2])
    assert all("Rate limited by policy rule" in run.stdout for run in runs[2:])
    assert [line["decision"] for line in audit_lines(home)] == ["allowed", "allowed", "rate_limited", "rate_limited"]


async def test_three_servers_with_twenty_concurrent_calls_each_share_one_window_of_five(tmp_path: Path) -> None:
    policy = limited_policy(tmp_path / "p.json", 5)
    home = tmp_path / "home"
    results: list[bool] = []

    async def burst() -> None:
        async with Client(server(home, policy), mode="legacy") as client:
            await client.list_tools()

            async def one() -> None:
                result = await client.call_tool("search_shows", {"query": "breaking", "limit": 1})
                results.append(not result.is_error)

            async with anyio.create_task_group() as calls:
                for _ in range(20):
                    calls.start_soon(one)

    async with anyio.create_task_group() as servers:
        for _ in range(3):
            servers.start_soon(burst)
    assert len(results) == 60 and results.count(True) == 5
    raw = (home / "audit.jsonl").read_text()
    assert raw.endswith("\n") and len(raw.splitlines()) == 60
    decisions = [line["decision"] for line in audit_lines(home)]  # every line parses: none torn
    assert decisions.count("allowed") == 5 and decisions.count("rate_limited") == 55


def test_a_sign_in_started_in_one_process_finishes_in_another(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = trakt_mcp(home, "call", "--sandbox", "start_device_auth")
    assert started.returncode == 0 and "## Sign in to Trakt" in started.stdout
    for _ in range(5):
        checked = trakt_mcp(home, "call", "--sandbox", "check_auth_status")
        if "Too early" not in checked.stdout and "Waiting" not in checked.stdout:
            break
        time.sleep(1)
    assert "Signed in to Trakt" in checked.stdout, checked.stdout + checked.stderr
    assert "no sign-in in progress" not in checked.stdout


def test_an_approval_given_in_one_process_lets_the_call_run_once_in_another(tmp_path: Path) -> None:
    policy = tmp_path / "p.json"
    policy.write_text(
        json.dumps({"version": "1", "default": "allow", "rules": {"search_shows": {"action": "confirm"}}})
    )
    home = tmp_path / "home"
    arguments = {"query": "breaking", "limit": 1}
    with raw_server(home, policy) as server:  # its client cannot ask: an approval code
        server.call("search_shows", arguments)
        asked = json.dumps(server.read())
        match = CODE.search(asked)
        assert match, asked
        approved = approve_at_a_terminal(trakt_mcp, home, match.group(1))
        assert approved.returncode == 0, approved.stdout + approved.stderr
        server.call("search_shows", arguments)
        ran = server.read()
        server.call("search_shows", arguments)
        again = server.read()
    assert not ran["result"].get("isError") and "Breaking Bad" in json.dumps(ran)
    assert again["result"]["isError"] and "approve" in json.dumps(again)  # single use


class RawServer:
    """`trakt-mcp --sandbox` over stdio, spoken to line by line, so that it can be killed mid-burst."""

    def __init__(self, home: Path, policy: Path) -> None:
        command = [sys.executable, "-m", "trakt_mcp", "--sandbox", "--policy", str(policy)]
        self.process = subprocess.Popen(
            command, env=env_for(home), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 0
        self._pending = b""
        self.send(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        )
        self.read()
        self.notify("notifications/initialized")

    def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()

    def notify(self, method: str) -> None:
        self._write({"jsonrpc": "2.0", "method": method})

    def send(self, method: str, params: dict[str, Any]) -> int:
        self.next_id += 1
        self._write({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def call(self, tool: str, arguments: dict[str, Any]) -> int:
        return self.send("tools/call", {"name": tool, "arguments": arguments})

    def read(self, timeout: float = 30.0) -> dict[str, Any]:
        """The next answer (notifications are skipped). Lines are cut from our own buffer: select() on the pipe
        cannot see lines that a buffered file object already pulled in, so a burst's last answers would look
        missing."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            ready, _, _ = select.select([self.process.stdout], [], [], max(deadline - time.monotonic(), 0))
            assert ready, "the server did not answer"
            chunk = os.read(self.process.stdout.fileno(), 1 << 16)
            assert chunk, "the server closed its output"
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message if "id" in message else self.read(timeout)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        """End of input, as a client that quits: the server finishes and exits on its own."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def raw_server(home: Path, policy: Path) -> Iterator[RawServer]:
    started = RawServer(home, policy)
    try:
        yield started
    finally:
        started.close()


def ran(answer: dict[str, Any]) -> bool:
    return not answer["result"].get("isError")


def test_kill_dash_9_mid_burst_loses_neither_counts_nor_approvals(tmp_path: Path) -> None:
    policy = tmp_path / "p.json"
    rules = {
        "search_shows": {"action": "allow", "rate_limit": {"max": 5, "window": 3600}},
        "fetch_trending_movies": {"action": "confirm"},
    }
    policy.write_text(json.dumps({"version": "1", "default": "allow", "rules": rules}))
    home = tmp_path / "home"
    confirmed = {"limit": 1}
    with raw_server(home, policy) as first:
        first.call("fetch_trending_movies", confirmed)
        asked = first.read()
        match = CODE.search(json.dumps(asked))
        assert match, asked
        assert approve_at_a_terminal(trakt_mcp, home, match.group(1)).returncode == 0
        for _ in range(20):
            first.call("search_shows", {"query": "breaking", "limit": 1})
        seen = [first.read() for _ in range(2)]
        first.kill()
    with sqlite3.connect(home / "state.db") as db:
        (taken,) = db.execute("SELECT count(*) FROM calls WHERE key LIKE '%search_shows%'").fetchone()
    assert sum(ran(answer) for answer in seen) <= taken <= 5
    with raw_server(home, policy) as second:
        answers = [second.read() for _ in [second.call("search_shows", {"query": "breaking"}) for _ in range(10)]]
        assert sum(ran(answer) for answer in answers) == 5 - taken
        second.call("fetch_trending_movies", confirmed)
        approved = second.read()
    assert ran(approved), approved  # the approval survived the kill
