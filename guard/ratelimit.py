"""Sliding-window rate limits, kept in the state store so that every process sharing it counts the same calls.

The host names each window by the JSON path that declares it and who it counts: the caller's identity for a
limit with `scope: identity` (the default), everybody for `scope: server`. The window length is part of the key,
so editing a limit's window starts it afresh instead of misreading old calls."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from guard.policy import RateLimit
from guard.store import Blocked, Store, Window
from guard.store.memory import MemoryStore

Clock = Callable[[], float]
#: Who a `scope: server` window counts (no identity can be named this: identities are non-empty strings).
EVERYONE = "\x00server"
#: Remembered window sets (RateLimiter.windows, Guard.window_keys): a policy has a few per caller; an HTTP server
#: seeing many callers starts afresh past this many.
MEMO_SIZE = 4096
Keys = tuple[tuple[str, RateLimit], ...]

__all__ = ["EVERYONE", "MEMO_SIZE", "Blocked", "Keys", "RateLimiter", "WindowKeys", "window_key"]


def window_key(path: str, limit: RateLimit, identity: str | None) -> str:
    who = EVERYONE if limit.scope == "server" else identity or ""
    return _serialised_key(who, path, limit.window)


@functools.lru_cache(maxsize=4096)
def _serialised_key(who: str, path: str, window: float) -> str:
    """Every decision on a rate-limited call names its windows: the same few keys, serialised once each (bounded,
    however many identities an HTTP server sees)."""
    return json.dumps([who, path, window], ensure_ascii=True, separators=(",", ":"))


class Quota(Protocol):
    """A rate limit and the JSON path that declares it (guard.engine.Quota)."""

    @property
    def path(self) -> str: ...
    @property
    def limit(self) -> RateLimit: ...


class WindowKeys:
    """The windows a call with these limits counts in, for one caller: the same tuple every time while a policy is
    in force (so the limiter makes its windows once, and nothing is serialised again), unless the limits were put
    together for this one call (a routed call's), which are keyed afresh."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, str | None], tuple[Sequence[Quota], Keys]] = {}
        self._policy: object = None

    def __call__(self, limits: Sequence[Quota], policy: object, identity: str | None) -> Keys:
        if policy is not self._policy:
            self._memo.clear()
            self._policy = policy
        memo = (id(limits), identity)
        found = self._memo.get(memo)
        if found is not None and found[0] is limits:
            return found[1]
        keys = tuple((window_key(quota.path, quota.limit, identity), quota.limit) for quota in limits)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[memo] = (limits, keys)  # holding the limits keeps their id from being reused
        return keys


class RateLimiter:
    """Checks and records calls against windows in a store (in this process's memory unless one is given)."""

    def __init__(self, clock: Clock = time.time, store: Store | None = None) -> None:
        self._clock = clock
        self.store: Store = store if store is not None else MemoryStore()
        #: The windows of key tuples seen before, by the tuple's identity (see `windows`).
        self._windows: dict[int, tuple[Keys, list[Window]]] = {}

    def windows(self, keys: Sequence[tuple[str, RateLimit]]) -> list[Window]:
        """The store's windows for `keys`. A tuple of keys (the guard keeps one per rule and caller for as long as
        a policy is in force: `Guard.window_keys`) has its windows made once; any other sequence every time."""
        if not isinstance(keys, tuple):
            return [Window(key, limit.max, limit.window) for key, limit in keys]
        found = self._windows.get(id(keys))
        if found is not None and found[0] is keys:
            return found[1]
        if len(self._windows) >= MEMO_SIZE:
            self._windows.clear()
        windows = [Window(key, limit.max, limit.window) for key, limit in keys]
        self._windows[id(keys)] = (keys, windows)  # holding the tuple keeps its id from being reused
        return windows

    def check_all(self, keys: Sequence[tuple[str, RateLimit]]) -> Blocked:
        """Whether a call would be allowed now by every window (counts nothing)."""
        return self.store.check(self.windows(keys), self._clock()) if keys else None

    def acquire_all(self, keys: Sequence[tuple[str, RateLimit]]) -> Blocked:
        """Count one call in every window, or in none when one of them is full (atomic, across processes)."""
        return self.store.take(self.windows(keys), self._clock()) if keys else None
