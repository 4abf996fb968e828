"""Calls per second through the balancer: deploy/haproxy.cfg in front of one replica, then of three, sharing one
PostgreSQL (every call checked and recorded in its window there), the fake Trakt on loopback. Several handshake-era
sessions (sticky, so spread over the replicas) call search_shows concurrently; alternating rounds, medians, and the
ratio 3 replicas / 1 replica from the same run.

    python bench/replicas.py [--sessions 6] [--calls 20] [--concurrency 8] [--rounds 3]

Everything (PostgreSQL, HAProxy, the replicas, the fake Trakt and this load generator) shares one machine, so the
ratio says how far replicas relieve a replica's own work (Python, the guard, JSON), not what separate machines give.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.postgres_support import Cluster  # noqa: E402
from tests.replica_support import Deployment, deployment, mcp_client  # noqa: E402


async def calls_per_second(deployed: Deployment, sessions: int, calls: int, concurrency: int, label: str) -> float:
    failures: list[str] = []

    async def session(number: int) -> None:
        gate = anyio.Semaphore(concurrency)
        async with mcp_client(deployed.url) as client:

            async def one(index: int) -> None:
                async with gate:
                    result = await client.call_tool("search_shows", {"query": f"{label}-{number}-{index}", "limit": 1})
                if result.is_error:
                    failures.append(str(result.content))

            async with anyio.create_task_group() as group:
                for index in range(calls):
                    group.start_soon(one, index)

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for number in range(sessions):
            group.start_soon(session, number)
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} calls failed, e.g. {failures[0]}")
    return sessions * calls / elapsed


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--calls", type=int, default=20, help="calls per session")
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight per session")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cluster = Cluster()
    cluster.create()
    cluster.start()
    rates: dict[int, list[float]] = {1: [], 3: []}
    try:
        with (
            tempfile.TemporaryDirectory() as folder,
            deployment(Path(folder), cluster.new_schema(), limit=1_000_000) as deployed,
        ):
            await calls_per_second(deployed, 2, 10, 4, "warm-up")
            for round_number in range(args.rounds):
                for serving in (1, 3):
                    deployed.start_balancer(serving)
                    label = f"r{round_number}s{serving}"
                    rate = await calls_per_second(deployed, args.sessions, args.calls, args.concurrency, label)
                    rates[serving].append(rate)
                    print(f"round {round_number + 1}, {serving} replica(s): {rate:6.1f} calls/s", flush=True)
    finally:
        cluster.remove()
    one, three = statistics.median(rates[1]), statistics.median(rates[3])
    print(f"through HAProxy, PostgreSQL state: 1 replica {one:.1f} calls/s, 3 replicas {three:.1f} calls/s")
    print(f"3 replicas / 1 replica: {three / one:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(anyio.run(main))
