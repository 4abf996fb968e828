"""Sliding-window rate limits, kept in the state store so that every process sharing it counts the same calls.

The host names each window by the JSON path that declares it and who it counts: the caller's identity for a
limit with `scope: identity` (the default), everybody for `scope: server`. The window length is part of the key,
so editing a limit's window starts it afresh instead of misreading old calls."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence

from guard.policy import RateLimit
from guard.store import Blocked, Store, Window
from guard.store.memory import MemoryStore

Clock = Callable[[], float]
#: Who a `scope: server` window counts (no identity can be named this: identities are non-empty strings).
EVERYONE = "\x00server"

__all__ = ["EVERYONE", "Blocked", "RateLimiter", "window_key"]


def window_key(path: str, limit: RateLimit, identity: str | None) -> str:
    who = EVERYONE if limit.scope == "server" else identity or ""
    return _serialised_key(who, path, limit.window)


@functools.lru_cache(maxsize=4096)
def _serialised_key(who: str, path: str, window: float) -> str:
    """Every decision on a rate-limited call names its windows: the same few keys, serialised once each (bounded,
    however many identities an HTTP server sees)."""
    return json.dumps([who, path, window], ensure_ascii=True, separators=(",", ":"))


class RateLimiter:
    """Checks and records calls against windows in a store (in this process's memory unless one is given)."""

    def __init__(self, clock: Clock = time.time, store: Store | None = None) -> None:
        self._clock = clock
        self.store: Store = store if store is not None else MemoryStore()

    @staticmethod
    def _windows(keys: Sequence[tuple[str, RateLimit]]) -> list[Window]:
        return [Window(key, limit.max, limit.window) for key, limit in keys]

    def check_all(self, keys: Sequence[tuple[str, RateLimit]]) -> Blocked:
        """Whether a call would be allowed now by every window (counts nothing)."""
        return self.store.check(self._windows(keys), self._clock()) if keys else None

    def acquire_all(self, keys: Sequence[tuple[str, RateLimit]]) -> Blocked:
        """Count one call in every window, or in none when one of them is full (atomic, across processes)."""
        return self.store.take(self._windows(keys), self._clock()) if keys else None
