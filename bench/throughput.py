"""Throughput: N concurrent tool calls through one MCP client session, against the fake Trakt served over
real loopback HTTP (a socket, not a mock transport). Calls per second and p50/p95 latency: without the guard, and
with it under a rate-limited policy (two windows per call) keeping its state in memory or in the shared SQLite
store (the default).

    python bench/throughput.py [--calls 400] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

from guard.ratelimit import RateLimiter
from guard.store.memory import MemoryStore
from trakt_mcp.logs import configure_logging
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings

CALLS = [
    ("fetch_trending_shows", {"limit": 5}),
    ("search_shows", {"query": "the", "limit": 5}),
]


#: Every call is counted in two windows (an hourly quota for all tools, a per-tool minute limit).
LIMITS = {
    "version": "1",
    "default": "allow",
    "all_tools": {"limits": [{"window": "hour", "max": 1_000_000}]},
    "tools": {name: {"limits": [{"window": "minute", "max": 1_000_000}]} for name, _ in CALLS},
}
MODES = ("without guard", "guard, in-memory store", "guard, SQLite store")


async def run(base_url: str, home: Path, calls: int, concurrency: int, mode: str) -> tuple[float, list[float]]:
    policy = home / "limits.json"
    policy.write_text(json.dumps(LIMITS))
    settings = Settings.model_validate(
        {
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "api_url": base_url,
            "home": home,
            "policy": policy,
        }
    )
    app = create_app(settings)
    server = build_server(app)
    assert app.guard is not None
    if mode == "without guard":
        server.middleware.remove(app.guard)
    elif mode == "guard, in-memory store":
        app.guard.limiter = RateLimiter(time.time, MemoryStore())
    latencies: list[float] = []
    gate = anyio.Semaphore(concurrency)
    async with Client(server, mode="legacy") as client:

        async def one(index: int) -> None:
            name, arguments = CALLS[index % len(CALLS)]
            async with gate:
                started = time.perf_counter()
                result = await client.call_tool(name, arguments)
                latencies.append(time.perf_counter() - started)
            if result.is_error:
                raise RuntimeError(f"{name} failed: {result.content}")

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for index in range(calls):
                group.start_soon(one, index)
        elapsed = time.perf_counter() - started
    await app.aclose()
    return elapsed, latencies


def report(label: str, rounds: list[tuple[float, list[float]]]) -> float:
    """The median round by rate, with that round's latencies."""
    rates = sorted((len(latencies) / elapsed, latencies) for elapsed, latencies in rounds)
    rate, latencies = rates[len(rates) // 2]
    cuts = statistics.quantiles(latencies, n=20)
    print(
        f"{label}: {rate:.0f} calls/s (median of {len(rounds)} rounds); "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {cuts[18] * 1000:.1f} ms"
        f" ({len(latencies)} calls a round)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging(logging.WARNING)
    fake = FakeTrakt()
    with serve_on_loopback(fake) as base_url, tempfile.TemporaryDirectory() as home:
        print(f"fake Trakt on {base_url}; {args.calls} calls, {args.concurrency} in flight")
        anyio.run(run, base_url, Path(home), 20, 5, MODES[2])  # warm-up
        rounds: dict[str, list[tuple[float, list[float]]]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):  # alternate, so that drift on a shared machine hits all alike
            for mode in MODES:
                rounds[mode].append(anyio.run(run, base_url, Path(home), args.calls, args.concurrency, mode))
        bare, memory, sqlite = (report(mode, rounds[mode]) for mode in MODES)
        print(f"guarded (SQLite store) / unguarded throughput: {sqlite / bare:.2f}")
        print(f"SQLite store / in-memory store throughput:     {sqlite / memory:.2f}   target >= 0.90")


if __name__ == "__main__":
    main()
