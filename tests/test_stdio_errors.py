"""Exact JSON-RPC errors through a real `trakt-mcp` stdio process, one raw line at a time: every class of client
mistake is answered with its code within a second, the process survives it, and stderr shows no traceback."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ANSWER_WITHIN = 1.0
INITIALIZE = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}


class StdioServer:
    """`python -m trakt_mcp --sandbox` with raw access to its stdin and stdout."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "TRAKT_MCP_HOME": str(home)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trakt_mcp", "--sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.messages.put(json.loads(line))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr.extend(self.process.stderr)

    def send_raw(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(json.dumps(message).encode())

    def answer(self, timeout: float) -> dict[str, Any]:
        """The next answer (notifications skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(deadline - time.monotonic(), 0.001))
            if "id" in message:
                return message

    def ask(self, line: bytes, timeout: float = ANSWER_WITHIN) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        self.send_raw(line)
        answer = self.answer(timeout)
        return answer, time.monotonic() - started


@pytest.fixture(scope="module")
def one_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StdioServer]:
    """One server takes every mistake in turn (each test also proves it still answers afterwards)."""
    running = StdioServer(tmp_path_factory.mktemp("stdio-errors"))
    running.send(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": INITIALIZE,
        }
    )
    assert running.answer(timeout=30)["id"] == 0
    running.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    yield running
    running.process.stdin.close()  # type: ignore[union-attr]
    running.process.wait(timeout=10)
    traceback = b"".join(running.stderr)
    assert b"Traceback" not in traceback, traceback.decode(errors="replace")


@pytest.fixture
def server(one_server: StdioServer) -> Iterator[StdioServer]:
    """The module's server, alive and with no traceback on stderr after the test's mistake."""
    assert one_server.process.poll() is None, "an earlier mistake stopped the server"
    yield one_server
    ping, _ = one_server.ask(request(98, "ping"), timeout=30)
    assert ping == {"jsonrpc": "2.0", "id": 98, "result": {}}
    traceback = b"".join(one_server.stderr)
    assert b"Traceback" not in traceback, traceback.decode(errors="replace")


def request(request_id: int, method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


DEEP = b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":' + b"[" * 5000 + b"]" * 5000 + b"}}"

#: (case, raw line, expected code, expected id, words the message must hold)
CASES: list[tuple[str, bytes, int, Any, str]] = [
    ("not JSON", b"this is not json", -32700, None, "Parse error"),
    ("truncated JSON", b'{"jsonrpc":"2.0","id":1,"method":"ping"', -32700, None, "Parse error"),
    ("lone surrogate", b'{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"\\ud800"}}', -32700, None, "surrogate"),
    ("invalid UTF-8", b'{"jsonrpc":"2.0","id":3,"method":"ping","x":"\xff"}', -32700, None, "UTF-8"),
    ("nested 5000 deep", DEEP, -32700, None, "deeper than"),
    ("not a JSON-RPC message", b'{"hello":"world","id":4}', -32600, 4, "Invalid Request"),
    ("a batch", b'[{"jsonrpc":"2.0","id":5,"method":"ping"}]', -32600, None, "Invalid Request"),
    ("unknown method", request(6, "no/such/method"), -32601, 6, ""),
    ("unknown tool", request(8, "tools/call", {"name": "no_such_tool", "arguments": {}}), -32602, 8, "no_such_tool"),
    ("malformed tool params", request(9, "tools/call", {"arguments": {}}), -32602, 9, ""),
    ("unknown prompt", request(10, "prompts/get", {"name": "no_such_prompt"}), -32602, 10, "no_such_prompt"),
    (
        "unknown prompt argument",
        request(11, "prompts/get", {"name": "search_entertainment", "arguments": {"title": "x"}}),
        -32602,
        11,
        "'title'",
    ),
    (
        "bad prompt argument value",
        request(12, "prompts/get", {"name": "search_entertainment", "arguments": {"query": 5}}),
        -32602,
        12,
        "query",
    ),
    ("unknown resource", request(13, "resources/read", {"uri": "trakt://no/such/thing"}), -32602, 13, "trakt://no"),
    (
        "bad template variable",
        request(14, "resources/read", {"uri": "trakt://shows/breaking-bad/seasons/first"}),
        -32602,
        14,
        "season",
    ),
]


@pytest.mark.parametrize(("case", "line", "code", "request_id", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_client_mistake_gets_its_json_rpc_error_within_a_second(
    server: StdioServer, case: str, line: bytes, code: int, request_id: Any, words: str
) -> None:
    answer, took = server.ask(line)
    assert answer["id"] == request_id, answer
    assert answer["error"]["code"] == code, answer
    assert words in answer["error"]["message"], answer
    assert took < ANSWER_WITHIN
    # The server survived and still answers.
    alive, _ = server.ask(request(99, "ping"))
    assert alive == {"jsonrpc": "2.0", "id": 99, "result": {}}


def test_a_line_longer_than_the_limit_is_refused_without_reading_it_whole(server: StdioServer) -> None:
    from trakt_mcp.server.quickstart import MAX_LINE_BYTES

    line = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * MAX_LINE_BYTES + b'"}}'
    answer, _ = server.ask(line, timeout=10)
    assert answer["error"]["code"] == -32700 and "longer than" in answer["error"]["message"]
    alive, took = server.ask(request(2, "ping"))
    assert alive["result"] == {} and took < ANSWER_WITHIN


def test_mistakes_before_the_server_is_built_are_answered_too(tmp_path: Path) -> None:
    """Lines that arrive while the quick start is still loading the SDK get their errors as well."""
    running = StdioServer(tmp_path)
    try:
        running.send_raw(b"garbage")
        running.send_raw(DEEP)
        first, second = running.answer(timeout=30), running.answer(timeout=30)
        assert first["error"]["code"] == second["error"]["code"] == -32700
        running.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": INITIALIZE,
            }
        )
        assert running.answer(timeout=30)["result"]["serverInfo"]["name"] == "trakt-mcp"
    finally:
        running.process.stdin.close()  # type: ignore[union-attr]
        running.process.wait(timeout=10)
    assert b"Traceback" not in b"".join(running.stderr)
