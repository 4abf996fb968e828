"""What the guard remembers beyond one process: rate-limit windows, approvals, pending questions and sign-ins.

`Store` is the one interface; `guard.store.sqlite.SqliteStore` (the default, one file shared by every process of a
user) and `guard.store.memory.MemoryStore` (unit tests) implement it. Two kinds of state:

- windows: `take(windows, now)` checks every sliding window and records one call in all of them, or in none, in
  one atomic step (across processes too); `check` only looks.
- records: small JSON objects by (kind, key) with an expiry, e.g. kind "approval" keyed by code. `put` can cap how
  many live records of a kind exist; `pop` takes one exactly once, however many processes race for it.

Every failure is a `StoreError` whose message names the file and the fix; nothing falls back to memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["BOOKKEEPING_PREFIX", "Blocked", "Record", "Store", "StoreError", "StoreFull", "Window"]


@dataclass(frozen=True)
class Window:
    """At most `max` calls counted under `key` in any `seconds`-long sliding window."""

    key: str
    max: int
    seconds: float


#: Windows whose key starts with this count the guard's own bookkeeping (the audit log's flood control), not a
#: policy's rate limits: `health` leaves them out of "calls in rate-limit windows".
BOOKKEEPING_PREFIX = '["bookkeeping",'

#: (index of the first full window, seconds until it has room), or None when every window has room.
Blocked = tuple[int, float] | None
Record = dict[str, Any]


class StoreError(RuntimeError):
    """The state store cannot be used (locked too long, corrupt, read-only, unreadable). Guarded calls that need
    it do not run; the message names the file and how to fix it."""


class StoreFull(StoreError):
    """`put` would exceed the cap on live records of that kind."""


class Store(Protocol):
    #: Where the state lives, for messages and `trakt-mcp status`.
    location: str

    def check(self, windows: Sequence[Window], now: float) -> Blocked:
        """Whether one more call fits every window now (records nothing)."""
        ...

    def take(self, windows: Sequence[Window], now: float) -> Blocked:
        """Record one call in every window, or in none when one of them is full (atomic)."""
        ...

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
        """Insert or replace a record. With `cap`, a new key is refused (StoreFull) when `cap` live records of
        this kind exist, or, with `evict`, the oldest ones make room."""
        ...

    def get(self, kind: str, key: str, now: float) -> Record | None: ...

    def pop(self, kind: str, key: str, now: float) -> Record | None:
        """Remove and return a live record: exactly one caller gets it."""
        ...

    def items(self, kind: str, now: float) -> list[tuple[str, Record]]:
        """Live records of a kind, oldest first."""
        ...

    def delete(self, kind: str, key: str) -> bool: ...

    def clear(self, what: str) -> int:
        """Forget all "windows" (reset every rate limit) or all records of a kind; returns how many went."""
        ...

    def health(self, *, count_windows: bool = True) -> str:
        """One line for `status`: where the state is and whether it is usable (raises StoreError if not); with
        `count_windows`, how many calls the policy's rate-limit windows hold (False: the policy sets no limit)."""
        ...

    def close(self) -> None: ...
