"""Start-up against the reference server, interleaved: for each server, wall time from process start to the answers
of `initialize` + `tools/list`, then to the answer of the first `tools/call`, and the peak memory (RSS) once that
call is answered. trakt-mcp is measured twice per round: with the start-up snapshot the previous start left, and
with a new state folder (no snapshot). All servers talk to one fake Trakt on loopback HTTP, signed in with the
same token; each round runs the three starts in a rotated order, and the medians are compared as ratios.

    bash bench/reference.sh CHECKOUT   # the current 77-tool reference, see bench/README.md
    python3 -m venv bench/.ours && bench/.ours/bin/pip install -q -e .   # trakt-mcp as users install it
    .venv/bin/python bench/startup.py --rounds 9 [--reference bench/.reference-current] [--ours bench/.ours]

trakt-mcp runs from its own install without the dev extras (bench/.ours), as the reference runs from its own:
the test tools (pytest brings Pygments, which httpx then imports) are not what users run.

Exits 1 when a target is missed: first call <= 0.8x the reference (with and without a snapshot), peak RSS <= 1.0x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trakt_mcp.sandbox import FakeTrakt  # noqa: E402
from trakt_mcp.sandbox.http import serve_on_loopback  # noqa: E402
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET  # noqa: E402

HANDSHAKE_VERSION = "2025-11-25"
FIRST_CALL = ("fetch_trending_shows", {"limit": 10})
FIRST_CALL_TARGET = 0.8
RSS_TARGET = 1.0

#: Runs the reference (a checkout installed by `bench/reference.sh CHECKOUT`) with its API base URL pointed at the
#: fake; its code is in src/, put first on sys.path. Its INFO log lines go to stderr, which is dropped.
REFERENCE_LAUNCH = (
    "import os, sys; sys.path.insert(0, os.environ['REFERENCE_SRC']); "
    "import client.base as base; base.BaseClient.BASE_URL = os.environ['TRAKT_API_URL']; "
    "from server.main import mcp; sys.exit(mcp.run())"
)

#: The SDK's floor: the smallest stdio server one can write with the installed MCP SDK (mcp 2.x's MCPServer, or
#: 1.x's FastMCP in the reference's environment), the benchmarks' tools each making its Trakt request with one
#: shared httpx client and returning Trakt's JSON as it came. Run with each
#: server's own interpreter, it shows what the SDK alone costs before a first answer, whatever the server adds.
FLOOR_LAUNCH = """
import os, httpx
try:
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:
    from mcp.server.fastmcp import FastMCP as Server
server = Server("floor")
client = httpx.AsyncClient()
paths = {"fetch_trending_shows": "/shows/trending", "fetch_popular_movies": "/movies/popular",
         "fetch_trending_movies": "/movies/trending", "search_shows": "/search/show"}
def fetcher(path):
    async def fetch(limit: int = 10, page: int = 1, query: str | None = None) -> str:
        headers = {"trakt-api-key": os.environ["TRAKT_CLIENT_ID"], "trakt-api-version": "2"}
        query_string = {"limit": limit, "page": page} | ({"query": query} if query else {})
        answer = await client.get(os.environ["TRAKT_API_URL"] + path, params=query_string, headers=headers)
        return answer.text
    return fetch
for name, path in paths.items():
    server.tool(name=name)(fetcher(path))
server.run()
"""


def send(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def receive(stream: IO[bytes], request_id: int) -> dict[str, Any]:
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError("the server closed stdout before answering")
        message: dict[str, Any] = json.loads(line)
        if message.get("id") == request_id:
            if "error" in message:
                raise RuntimeError(f"request {request_id} failed: {json.dumps(message)[:400]}")
            return message


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the peak resident set size of a live process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@dataclass
class Start:
    listed: float
    called: float
    rss_kib: int
    tools: int


@dataclass
class Server:
    """One way of starting a stdio server: its command, environment and working folder."""

    label: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    #: A state folder to empty before each start (trakt-mcp without a snapshot).
    fresh_home: Path | None = None

    def start_once(self) -> Start:
        if self.fresh_home is not None:
            shutil.rmtree(self.fresh_home / "cache", ignore_errors=True)
        started = time.perf_counter()
        process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
        )
        assert process.stdin and process.stdout
        try:
            client = {"name": "bench", "version": "1"}
            params = {"protocolVersion": HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": client}
            send(process.stdin, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
            receive(process.stdout, 1)
            send(process.stdin, {"jsonrpc": "2.0", "method": "notifications/initialized"})
            send(process.stdin, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
            tools = receive(process.stdout, 2)["result"]["tools"]
            listed = time.perf_counter() - started
            name, arguments = FIRST_CALL
            call = {"name": name, "arguments": arguments}
            send(process.stdin, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": call})
            answer = receive(process.stdout, 3)
            called = time.perf_counter() - started
            rss = peak_rss_kib(process.pid)
        finally:
            process.kill()
            process.wait()
        if answer["result"].get("isError"):
            raise RuntimeError(f"{self.label}: the first call failed: {json.dumps(answer)[:400]}")
        return Start(listed, called, rss, len(tools))


def ours(
    scratch: Path, base_url: str, token: dict[str, Any], label: str, *, snapshot: bool, install: Path | None = None
) -> Server:
    home = scratch / label.replace(" ", "-")
    (home).mkdir(parents=True)
    stored = {k: token[k] for k in ("access_token", "refresh_token", "scope")}
    stored |= {"created_at": token["created_at"], "expires_at": token["created_at"] + token["expires_in"]}
    (home / "token.json").write_text(json.dumps(stored))
    os.chmod(home / "token.json", 0o600)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(scratch),
        "TRAKT_MCP_HOME": str(home),
        "TRAKT_API_URL": base_url,
        "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
        "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        # No OS keyring in a benchmark: the token is read from the state folder's private file.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    command = [str((install / "bin" / "trakt-mcp") if install else Path(sys.executable).with_name("trakt-mcp"))]
    return Server(label, command, env, scratch, None if snapshot else home)


def reference(folder: Path, scratch: Path, base_url: str, token: dict[str, Any]) -> Server:
    cwd = scratch / "reference"
    cwd.mkdir()
    (cwd / "auth_token.json").write_text(json.dumps(token))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(scratch),
        "TRAKT_API_URL": base_url,
        "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
        "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "REFERENCE_SRC": str((folder / "src").absolute()),
    }
    return Server("reference", [str((folder / "bin" / "python").absolute()), "-c", REFERENCE_LAUNCH], env, cwd)


def floor(label: str, python: Path, scratch: Path, base_url: str) -> Server:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(scratch),
        "TRAKT_API_URL": base_url,
        "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
    }
    return Server(label, [str(python.absolute()), "-c", FLOOR_LAUNCH], env, scratch)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--reference", type=Path, default=ROOT / "bench" / ".reference-current")
    parser.add_argument("--ours", type=Path, default=ROOT / "bench" / ".ours", help="a venv with trakt-mcp installed")
    parser.add_argument(
        "--floor", action="store_true", help="also start a minimal server on each SDK (mcp 2.x here, 1.x there)"
    )
    args = parser.parse_args()
    if not (args.ours / "bin" / "trakt-mcp").exists():
        print(f"no trakt-mcp install at {args.ours}: see this script's docstring", file=sys.stderr)
        return 2
    if not (args.reference / "src" / "server" / "main.py").exists():
        print(f"no reference checkout at {args.reference}: run bash bench/reference.sh CHECKOUT", file=sys.stderr)
        return 2
    fake = FakeTrakt()
    token = fake.token_json(fake.issue_token())
    with serve_on_loopback(fake) as base_url, tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        servers = [
            ours(scratch, base_url, token, "trakt-mcp", snapshot=True, install=args.ours),
            ours(scratch, base_url, token, "trakt-mcp no snapshot", snapshot=False, install=args.ours),
            reference(args.reference, scratch, base_url, token),
        ]
        if args.floor:
            servers.append(floor("SDK 2.x floor", args.ours / "bin" / "python", scratch, base_url))
            servers.append(floor("SDK 1.x floor", args.reference / "bin" / "python", scratch, base_url))
        for server in servers:
            server.start_once()  # warm the OS file cache and bytecode (and leave trakt-mcp its snapshot)
        samples: dict[str, list[Start]] = {server.label: [] for server in servers}
        for round_number in range(args.rounds):
            shift = round_number % len(servers)
            for server in servers[shift:] + servers[:shift]:
                samples[server.label].append(server.start_once())
    theirs = samples["reference"]
    print(f"{args.rounds} interleaved rounds; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'':24} {'tools':>5} {'start->tools/list':>18} {'start->first call':>18} {'peak RSS':>10}")
    for label, starts in samples.items():
        print(
            f"{label:24} {starts[0].tools:5} {median_ms([s.listed for s in starts]):15.0f} ms "
            f"{median_ms([s.called for s in starts]):15.0f} ms {max(s.rss_kib for s in starts) / 1024:6.1f} MiB"
        )
    met = True
    for label in samples:
        if label == "reference":
            continue
        starts = samples[label]
        listed = statistics.median(s.listed for s in starts) / statistics.median(s.listed for s in theirs)
        called = statistics.median(s.called for s in starts) / statistics.median(s.called for s in theirs)
        rss = max(s.rss_kib for s in starts) / max(s.rss_kib for s in theirs)
        if label.startswith("trakt-mcp"):
            met &= called <= FIRST_CALL_TARGET and rss <= RSS_TARGET
        print(
            f"ratio {label} / reference: tools/list {listed:.2f}, first call {called:.2f} "
            f"(target {FIRST_CALL_TARGET}), peak RSS {rss:.2f} (target {RSS_TARGET})"
        )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
