"""Sliding-window rate limits: at most `max` calls in any `window` seconds, one window per key (the host builds keys
from the declaring JSON path and the caller's identity, so each identity has its own windows)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from guard.policy import RateLimit

Clock = Callable[[], float]
#: (index into the keys of the first full window, seconds until it has room), or None when all have room.
Blocked = tuple[int, float] | None


class RateLimiter:
    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _wait(self, hits: deque[float], limit: RateLimit, now: float) -> float | None:
        while hits and hits[0] <= now - limit.window:
            hits.popleft()
        if len(hits) < limit.max:
            return None
        return max(hits[-limit.max] + limit.window - now, 0.001)

    def _first_full(self, keys: Sequence[tuple[str, RateLimit]], now: float) -> Blocked:
        for index, (key, limit) in enumerate(keys):
            wait = self._wait(self._hits.setdefault(key, deque()), limit, now)
            if wait is not None:
                return index, wait
        return None

    def check_all(self, keys: Sequence[tuple[str, RateLimit]]) -> Blocked:
        """Whether a call would be allowed now by every window (counts nothing)."""
        if not keys:
            return None
        with self._lock:
            return self._first_full(keys, self._clock())

    def acquire_all(self, keys: Sequence[tuple[str, RateLimit]]) -> Blocked:
        """Count one call in every window, or in none when one of them is full (atomic across the windows)."""
        if not keys:
            return None
        with self._lock:
            now = self._clock()
            blocked = self._first_full(keys, now)
            if blocked is None:
                for key, _ in keys:
                    self._hits[key].append(now)
            return blocked
