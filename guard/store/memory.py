"""The state store in this process's memory: for unit tests and benchmarks, never a silent fallback."""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from guard.store import Blocked, Record, StoreFull, Window


class MemoryStore:
    location = "memory (this process only)"

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._records: dict[str, dict[str, tuple[Record, float]]] = {}
        self._lock = threading.Lock()

    def _first_full(self, windows: Sequence[Window], now: float) -> Blocked:
        for index, window in enumerate(windows):
            hits = self._hits.get(window.key)
            if hits is None:
                hits = self._hits[window.key] = deque()
            while hits and hits[0] <= now - window.seconds:
                hits.popleft()
            if len(hits) >= window.max:
                return index, max(hits[-window.max] + window.seconds - now, 0.001)
        return None

    def check(self, windows: Sequence[Window], now: float) -> Blocked:
        with self._lock:
            return self._first_full(windows, now)

    def take(self, windows: Sequence[Window], now: float) -> Blocked:
        with self._lock:
            blocked = self._first_full(windows, now)
            if blocked is None:
                for window in windows:
                    self._hits[window.key].append(now)
            return blocked

    def _live(self, kind: str, now: float) -> dict[str, tuple[Record, float]]:
        records = self._records.setdefault(kind, {})
        for key in [key for key, (_, expires) in records.items() if expires <= now]:
            del records[key]
        return records

    def put(
        self,
        kind: str,
        key: str,
        value: Mapping[str, Any],
        expires: float,
        now: float,
        *,
        cap: int | None = None,
        evict: bool = False,
    ) -> None:
        with self._lock:
            records = self._live(kind, now)
            if cap is not None and key not in records:
                while len(records) >= cap:
                    if not evict:
                        raise StoreFull(f"{len(records)} {kind} records are already waiting")
                    del records[next(iter(records))]
            records[key] = (copy.deepcopy(dict(value)), expires)

    def get(self, kind: str, key: str, now: float) -> Record | None:
        with self._lock:
            found = self._live(kind, now).get(key)
            return copy.deepcopy(found[0]) if found else None

    def pop(self, kind: str, key: str, now: float) -> Record | None:
        with self._lock:
            found = self._live(kind, now).pop(key, None)
            return found[0] if found else None

    def items(self, kind: str, now: float) -> list[tuple[str, Record]]:
        with self._lock:
            return [(key, copy.deepcopy(value)) for key, (value, _) in self._live(kind, now).items()]

    def delete(self, kind: str, key: str) -> bool:
        with self._lock:
            return self._records.setdefault(kind, {}).pop(key, None) is not None

    def clear(self, what: str) -> int:
        with self._lock:
            if what == "windows":
                count = sum(len(hits) for hits in self._hits.values())
                self._hits.clear()
                return count
            return len(self._records.pop(what, {}))

    def health(self, *, count_windows: bool = True) -> str:
        return f"{self.location}: ok"

    def close(self) -> None:
        """Nothing to release."""
