"""What the tamper-evident audit chain (issue 27) costs per audit line: a plain line, a line chained with its HMAC
tag, and a chained line whose head the SQLite state store remembers (what the server writes). Alternating rounds,
the median of each. Prints microseconds per line written."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guard.audit import AuditLog
from guard.auditchain import StoreHead
from guard.home import secret_key
from guard.store.sqlite import SqliteStore

LINES = 1000
ROUNDS = 5
ENTRY = {
    "identity": None,
    "client": "bench",
    "tool": "search_shows",
    "decision": "allowed",
    "rule": "default",
    "arguments": {"query": "breaking bad", "limit": 3},
    "outcome": "ok",
    "duration_ms": 1.0,
}


def per_line(log: AuditLog) -> float:
    started = time.perf_counter()
    for _ in range(LINES):
        log.write(ENTRY)
    return (time.perf_counter() - started) / LINES * 1e6


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        store = SqliteStore(home / "state.db")
        logs = {
            "plain line": AuditLog(home / "plain.jsonl"),
            "chained (HMAC tag)": AuditLog(home / "chained.jsonl", key=lambda: secret_key(home)),
            "chained + head in state.db (as served)": AuditLog(
                home / "served.jsonl", key=lambda: secret_key(home), head=StoreHead(store, "served")
            ),
        }
        timings: dict[str, list[float]] = {name: [] for name in logs}
        for log in logs.values():
            log.write(ENTRY)  # warm up: files, key, store
        for _ in range(ROUNDS):
            for name, log in logs.items():
                timings[name].append(per_line(log))
        store.close()
    for name, values in timings.items():
        print(f"audit line, {name:40s} {statistics.median(values):8.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
