"""Sliding-window rate limits, counted per rule: at most `max` calls in any `window` seconds."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from guard.policy import RateLimit

Clock = Callable[[], float]


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

    def check(self, key: str, limit: RateLimit) -> float | None:
        """Seconds until a call would be allowed, or None if it would be allowed now (counts nothing)."""
        with self._lock:
            return self._wait(self._hits.setdefault(key, deque()), limit, self._clock())

    def acquire(self, key: str, limit: RateLimit) -> float | None:
        """Count one call and return None, or return the seconds until one is allowed (counting nothing)."""
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(key, deque())
            wait = self._wait(hits, limit, now)
            if wait is None:
                hits.append(now)
            return wait
