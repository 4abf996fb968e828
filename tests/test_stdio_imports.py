"""Serving stdio loads only what serving stdio needs: a real `trakt-mcp` process answers initialize, tools/list
and a first tools/call, then reports every module it imported. A client waits for each import before its first
answer, so a later feature that pulls the HTTP server, the sandbox, the CLI's commands, keyring or PostgreSQL onto
this path fails here (issue 26)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

#: Runs the real command line (argv: the modules file, then trakt-mcp's own arguments) and, when the process
#: exits, writes the names of every module it imported, then the garbage collector's state as `gc:ENABLED:FROZEN`.
SERVE_AND_REPORT = """
import atexit, gc, sys
report = sys.argv.pop(1)
state = lambda: f"gc:{gc.isenabled()}:{gc.get_freeze_count()}"
atexit.register(lambda: open(report, "w").write("\\n".join([*sorted(sys.modules), state()])))
from trakt_mcp.cli.main import main
sys.exit(main())
"""

#: Third-party packages the stdio path must not import. The MCP SDK itself imports some of them today (its server
#: module imports its HTTP transports); those are allowed only while the SDK alone still loads them.
HEAVY_PACKAGES = (
    "uvicorn",
    "starlette",
    "sse_starlette",
    "psycopg",
    "psycopg_pool",
    "keyring",
    "authlib",
    "cryptography",
    "playwright",
)


def exchange(stdin: IO[bytes], stdout: IO[bytes], request_id: int, method: str, params: dict[str, Any]) -> Any:
    """Send one request and read lines up to its answer: each line must be one JSON-RPC message."""
    stdin.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode() + b"\n")
    stdin.flush()
    while line := stdout.readline():
        message = json.loads(line)
        if message.get("id") == request_id:
            assert "error" not in message, message
            return message["result"]
    raise AssertionError(f"the server exited before answering {method}")


def modules_of_a_stdio_session(home: Path, api_url: str) -> set[str]:
    report = home / "modules.txt"
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TRAKT_MCP_HOME": str(home / "state"),
        "TRAKT_API_URL": api_url,
        "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
        "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
    }
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE_AND_REPORT, str(report)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment,
    )
    assert server.stdin and server.stdout
    try:
        hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
        exchange(server.stdin, server.stdout, 1, "initialize", hello)
        server.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        assert len(exchange(server.stdin, server.stdout, 2, "tools/list", {})["tools"]) > 70
        answer = exchange(server.stdin, server.stdout, 3, "tools/call", {"name": "fetch_trending_shows"})
        assert not answer.get("isError") and "Trending shows" in answer["content"][0]["text"], answer
        server.stdin.close()
        assert server.wait(timeout=60) == 0
        assert server.stdout.read() == b"", "nothing after the last answer, not even a blank line"
    finally:
        server.kill()
        server.wait()
    return set(report.read_text().split())


def modules_of_the_sdk_alone() -> set[str]:
    """What importing the SDK's server and its stdio transport loads by itself."""
    listing = "import sys, mcp.server.mcpserver, mcp.server.stdio; print('\\n'.join(sys.modules))"
    return set(
        subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, check=True).stdout.split()
    )


def test_serving_stdio_imports_neither_http_nor_sandbox_nor_commands(tmp_path: Path) -> None:
    with serve_on_loopback(FakeTrakt()) as api_url:
        loaded = modules_of_a_stdio_session(tmp_path, api_url)
    (collector,) = {line for line in loaded if line.startswith("gc:")}
    _, enabled, frozen = collector.split(":")
    # Start-up pauses the garbage collector and freezes what it built (trakt_mcp.server.startup): serving runs
    # with the collector on again, and with start-up's objects (the SDK, the tools, the server) out of its way.
    assert enabled == "True", "the garbage collector is on again once the server is built"
    assert int(frozen) > 50_000, f"start-up's objects are frozen out of the collector's way (only {frozen})"
    ours = {name for name in loaded if name.startswith("trakt_mcp.")}
    assert "trakt_mcp.tools.catalogue" in ours, "the report lists the modules the session used"
    assert not {name for name in ours if name.startswith("trakt_mcp.sandbox")}, (
        "the fake Trakt loads in sandbox mode only"
    )
    http = {name for name in ours if name.startswith("trakt_mcp.http.")}
    assert http <= {"trakt_mcp.http.identity"}, f"the HTTP server is not for stdio: {sorted(http)}"
    assert "guard.store.postgres" not in loaded, "the SQLite state never loads the PostgreSQL store"
    remote = {name for name in ours if name.startswith("trakt_mcp.remote")}
    assert not remote, f"multi-user mode is for HTTP: {sorted(remote)}"
    commands = {name for name in ours if name.startswith("trakt_mcp.cli.")}
    assert commands <= {"trakt_mcp.cli.main"}, f"serving builds no command's parser: {sorted(commands)}"
    sdk = modules_of_the_sdk_alone()
    assert "mcp_types" in sdk
    for package in HEAVY_PACKAGES:
        if package in sdk:
            continue  # the SDK imports it itself (see HEAVY_PACKAGES): reported upstream, not ours to avoid
        assert package not in loaded, f"serving stdio imported {package}"
