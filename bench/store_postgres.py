"""What the shared state costs when replicas keep it in PostgreSQL: one guard decision on a rate-limited call (two
windows checked and recorded, one round trip to the database on loopback) with the PostgreSQL store against the
SQLite one, each decision timed on its own (median and p99, µs), in alternating rounds so drift on a shared machine
hits both alike. The same decisions as bench/store_overhead.py.

Run from a fresh clone (Debian's postgresql installed): `python bench/store_postgres.py [--state URL]`. Without
--state it starts a throwaway cluster as the tests do (tests/postgres_support.py).
Target: PostgreSQL decision p99 under 5 ms.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store_overhead import POLICY, decisions, summary  # noqa: E402

from guard.ratelimit import RateLimiter  # noqa: E402
from guard.store import Store  # noqa: E402
from guard.store.postgres import PostgresStore  # noqa: E402
from tests.postgres_support import Cluster  # noqa: E402
from trakt_mcp.server.build import build_server, create_app  # noqa: E402
from trakt_mcp.settings import Settings  # noqa: E402

TARGET_P99_US = 5000.0


async def measure(url: str, count: int, rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as home:
        policy = Path(home) / "policy.json"
        policy.write_text(json.dumps(POLICY))
        app = create_app(Settings.load({"sandbox": True, "home": home, "policy": str(policy)}, environ={}))
        postgres = PostgresStore(url)
        try:
            build_server(app)
            guard = app.guard
            assert guard is not None and app.store is not None
            stores: dict[str, Store] = {"postgresql": postgres, "sqlite": app.store}
            samples: dict[str, list[float]] = {name: [] for name in stores}
            for store in stores.values():
                guard.limiter = RateLimiter(time.time, store)
                await decisions(guard, 200)  # warm up: connections, migrations, caches
            for _ in range(rounds):
                for name, store in stores.items():
                    guard.limiter = RateLimiter(time.time, store)
                    samples[name] += await decisions(guard, count)
        finally:
            postgres.close()
            await app.aclose()
    return samples


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", help="a postgresql:// URL (default: a throwaway cluster started here)")
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    cluster = None
    url = args.state
    if url is None:
        cluster = Cluster()
        cluster.create()
        cluster.start()
        url = cluster.new_schema()
    try:
        samples = await measure(url, args.decisions, args.rounds)
    finally:
        if cluster is not None:
            cluster.remove()
    (pg_median, pg_p99), (sqlite_median, sqlite_p99) = summary(samples["postgresql"]), summary(samples["sqlite"])
    print(f"guard decision, 2 windows, SQLite store:     median {sqlite_median:7.1f} µs, p99 {sqlite_p99:7.1f} µs")
    print(
        f"guard decision, 2 windows, PostgreSQL store: median {pg_median:7.1f} µs, p99 {pg_p99:7.1f} µs"
        f"   target p99 < {TARGET_P99_US:.0f} µs"
    )
    print(f"PostgreSQL / SQLite: median {pg_median / sqlite_median:.2f}x, p99 {pg_p99 / sqlite_p99:.2f}x")
    return 0 if pg_p99 < TARGET_P99_US else 1


if __name__ == "__main__":
    raise SystemExit(anyio.run(main))
