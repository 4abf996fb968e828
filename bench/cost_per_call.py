"""Cost per call against the reference server: the server process's CPU time (user + system, from /proc) per
`tools/call`, over stdio (one session, calls one after another) and over streamable HTTP (several sessions at once).
Both servers talk to one fake Trakt on loopback HTTP, signed in with the same token, and get the same read calls;
rounds alternate between the two servers and the medians are compared as ratios.

    bash bench/reference.sh CHECKOUT   # the current 77-tool reference, see bench/README.md
    python3 -m venv bench/.ours && bench/.ours/bin/pip install -q -e .   # trakt-mcp as users install it
    .venv/bin/python bench/cost_per_call.py [--rounds 3] [--calls 500] [--sessions 8]

Exits 1 when a ratio is above the target (0.6).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.startup import FLOOR_LAUNCH, REFERENCE_LAUNCH, Server, floor, ours, reference  # noqa: E402
from trakt_mcp.sandbox import FakeTrakt  # noqa: E402
from trakt_mcp.sandbox.http import serve_on_loopback  # noqa: E402

TARGET = 0.6
#: The same read calls for both servers, cycled, each with its own page number: every call is a Trakt request
#: (trakt-mcp would otherwise answer repeated catalogue reads from its cache, which the reference has not).
TOOLS = ("fetch_trending_shows", "fetch_popular_movies", "fetch_trending_movies", "search_shows")


def nth_call(index: int) -> tuple[str, dict[str, Any]]:
    name = TOOLS[index % len(TOOLS)]
    arguments: dict[str, Any] = {"limit": 5, "page": 1 + index // len(TOOLS)}
    return name, {**arguments, "query": "the"} if name == "search_shows" else arguments


REFERENCE_HTTP = REFERENCE_LAUNCH.replace(
    "sys.exit(mcp.run())",
    "mcp.settings.host = '127.0.0.1'; mcp.settings.port = int(os.environ['PORT']); "
    "sys.exit(mcp.run(transport='streamable-http'))",
)

#: The SDK 2.x floor (bench/startup.py) served over streamable HTTP: one tool, one shared httpx client.
FLOOR_HTTP = FLOOR_LAUNCH.replace(
    "server.run()", "server.run('streamable-http', host='127.0.0.1', port=int(os.environ['PORT']))"
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def call_many(client: Client, count: int, first: int = 0) -> None:
    for index in range(first, first + count):
        name, arguments = nth_call(index)
        result = await client.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content}")


def server_pid(client_pid: int) -> int:
    """The stdio server the client started (through `sh -c exec`): its one child process."""
    children = Path(f"/proc/{client_pid}/task/{client_pid}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one server process, found {children}")
    return int(children[0])


async def stdio_cost(server: Server, calls: int) -> float:
    """Server CPU milliseconds per call, over `calls` calls after a warm-up."""
    parameters = StdioServerParameters(
        command=server.command[0], args=server.command[1:], env=server.env, cwd=server.cwd
    )
    async with Client(parameters, mode="legacy") as client:
        await call_many(client, len(TOOLS))  # warm: every tool once
        pid = server_pid(os.getpid())
        before = cpu_seconds(pid)
        await call_many(client, calls, first=len(TOOLS))
        return (cpu_seconds(pid) - before) / calls * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def http_cost(command: list[str], env: dict[str, str], cwd: Path, sessions: int, calls: int) -> float:
    """Server CPU milliseconds per call: `sessions` sessions at once, `calls` calls each, after a warm-up."""
    port = free_port()
    process = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in command],
        env={**env, "PORT": str(port)},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{command[0]} did not listen on {port}") from None
                await anyio.sleep(0.05)

        async def session(count: int, first: int) -> None:
            async with (
                create_mcp_http_client() as http,
                Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
            ):
                await call_many(client, count, first)

        await session(len(TOOLS), 0)  # warm: every tool once
        before = cpu_seconds(process.pid)
        async with anyio.create_task_group() as group:
            for number in range(sessions):
                group.start_soon(session, calls, len(TOOLS) + number * calls)
        return (cpu_seconds(process.pid) - before) / (sessions * calls) * 1000
    finally:
        process.terminate()
        process.wait(timeout=30)


def alternate(rounds: int, measures: dict[str, Callable[[], float]]) -> dict[str, float]:
    samples: dict[str, list[float]] = {label: [] for label in measures}
    for round_number in range(rounds):
        order = list(measures) if round_number % 2 == 0 else list(reversed(measures))
        for label in order:
            samples[label].append(measures[label]())
    return {label: statistics.median(values) for label, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500, help="stdio: calls in the one session")
    parser.add_argument("--sessions", type=int, default=8, help="HTTP: sessions at once")
    parser.add_argument("--http-calls", type=int, default=50, help="HTTP: calls per session")
    parser.add_argument("--reference", type=Path, default=ROOT / "bench" / ".reference-current")
    parser.add_argument(
        "--floor", action="store_true", help="also measure the smallest server on trakt-mcp's MCP SDK (2.x)"
    )
    parser.add_argument("--ours", type=Path, default=ROOT / "bench" / ".ours", help="a venv with trakt-mcp installed")
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
        mine, theirs = (
            ours(scratch, base_url, token, "trakt-mcp", snapshot=True, install=args.ours),
            reference(args.reference, scratch, base_url, token),
        )
        least = floor("SDK 2.x floor", args.ours / "bin" / "python", scratch, base_url)
        measures = {
            "trakt-mcp": lambda: anyio.run(stdio_cost, mine, args.calls),
            "reference": lambda: anyio.run(stdio_cost, theirs, args.calls),
        }
        if args.floor:
            measures["SDK 2.x floor"] = lambda: anyio.run(stdio_cost, least, args.calls)
        stdio = alternate(args.rounds, measures)
        http_ours = [*mine.command, "--transport", "streamable-http", "--port", "{port}", "--no-auth"]
        http_theirs = [theirs.command[0], "-c", REFERENCE_HTTP]
        http_measures = {
            "trakt-mcp": lambda: anyio.run(http_cost, http_ours, mine.env, mine.cwd, args.sessions, args.http_calls),
            "reference": lambda: anyio.run(
                http_cost, http_theirs, theirs.env, theirs.cwd, args.sessions, args.http_calls
            ),
        }
        if args.floor:
            http_floor = [least.command[0], "-c", FLOOR_HTTP]
            http_measures["SDK 2.x floor"] = lambda: anyio.run(
                http_cost, http_floor, least.env, least.cwd, args.sessions, args.http_calls
            )
        http = alternate(args.rounds, http_measures)
    print(f"{args.rounds} alternating rounds; load average {os.getloadavg()[0]:.2f} at the end")
    met = True
    for transport, figures, what in (
        ("stdio", stdio, f"{args.calls} calls in one session"),
        ("HTTP", http, f"{args.sessions} sessions at once, {args.http_calls} calls each"),
    ):
        ratio = figures["trakt-mcp"] / figures["reference"]
        met &= ratio <= TARGET
        print(
            f"{transport} ({what}): server CPU per call trakt-mcp {figures['trakt-mcp']:.2f} ms, "
            f"reference {figures['reference']:.2f} ms: ratio {ratio:.2f} (target {TARGET})"
        )
        if "SDK 2.x floor" in figures:
            least_ratio = figures["SDK 2.x floor"] / figures["reference"]
            print(f"  SDK 2.x floor {figures['SDK 2.x floor']:.2f} ms: ratio {least_ratio:.2f} to the reference")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
