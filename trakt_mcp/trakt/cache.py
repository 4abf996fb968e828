"""A short-lived in-process cache of Trakt's public catalogue answers, so an agent that asks twice spends Trakt's
rate limit once. It keeps an answer only as Trakt's own headers allow: fresh for `Cache-Control: max-age`
(`s-maxage` first; at most MAX_FRESH seconds), never for `no-store`, and revalidated with `If-None-Match` when Trakt
gave an `ETag` (a `304 Not Modified` renews the answer kept).

Only unauthenticated GETs are cached: they are the same for every caller. An answer to a signed-in call belongs to
one user and is never kept, so nothing can leak across identities that share the process (HTTP transport)."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

#: However long Trakt says, an answer is reused for at most this many seconds.
MAX_FRESH = 600.0
MAX_ENTRIES = 512
_DIRECTIVE = re.compile(r"\s*([a-z-]+)\s*(?:=\s*\"?(\d+)\"?)?\s*")

Key = tuple[str, tuple[tuple[str, str], ...]]


def freshness(cache_control: str | None) -> float | None:
    """Seconds an answer stays fresh by its Cache-Control (0: keep, but revalidate before reuse), or None when it
    must not be stored at all."""
    directives: dict[str, int | None] = {}
    for part in (cache_control or "").lower().split(","):
        matched = _DIRECTIVE.fullmatch(part)
        if matched:
            directives[matched.group(1)] = int(matched.group(2)) if matched.group(2) else None
    if "no-store" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    for name in ("s-maxage", "max-age"):
        seconds = directives.get(name)
        if seconds is not None:
            return min(float(seconds), MAX_FRESH)
    return 0.0


@dataclass
class Entry:
    answer: Any
    etag: str | None
    fresh_until: float


class CatalogueCache:
    """Answers by (path, query), least recently used first out."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, Entry] = OrderedDict()

    @staticmethod
    def key(path: str, query: dict[str, str]) -> Key:
        return path, tuple(sorted(query.items()))

    def lookup(self, key: Key) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def keep(self, key: Key, answer: Any, cache_control: str | None, etag: str | None, now: float) -> None:
        seconds = freshness(cache_control)
        if seconds is None or (seconds == 0 and etag is None):
            self._entries.pop(key, None)
            return
        self._entries[key] = Entry(answer, etag, now + seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def renew(self, key: Key, cache_control: str | None, now: float) -> Entry | None:
        """After a 304: the kept answer is good for another lifetime."""
        entry = self._entries.get(key)
        if entry is not None:
            seconds = freshness(cache_control)
            entry.fresh_until = now + (seconds or 0.0)
        return entry

    def clear(self) -> None:
        self._entries.clear()
