"""The audit log: one JSON object per line, appended with a single write under a lock, rotated at a size.

Argument summaries never carry secrets: values under keys that look like credentials are replaced, long values
are shortened. Lines are pure ASCII JSON, so no value a caller chooses (a newline, U+2028, a terminal escape) can
split a line, forge one, or reach a terminal raw."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DECISIONS = ("allowed", "denied", "invalid", "hidden", "confirmed", "declined", "approval_pending", "rate_limited")
SECRET_KEYS = re.compile(
    r"token|secret|pass(w|phrase)|pwd|code|auth|api_?key|private|cookie|credential|session|bearer|otp|(^|_)(key|pin)$",
    re.I,
)
REDACTED = "[redacted]"
MAX_TEXT = 80
MAX_ITEMS = 10


def summarize(value: Any, depth: int = 0, *, shorten: bool = True) -> Any:
    """A secret-free copy of tool arguments; with `shorten`, also short enough for a log line."""
    if isinstance(value, Mapping):
        if shorten and depth >= 3:
            return f"{{{len(value)} keys}}"
        return {
            str(k): REDACTED if SECRET_KEYS.search(str(k)) else summarize(v, depth + 1, shorten=shorten)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        if not shorten:
            return [summarize(v, depth + 1, shorten=False) for v in value]
        if depth >= 3:
            return f"[{len(value)} items]"
        items = [summarize(v, depth + 1) for v in value[:MAX_ITEMS]]
        return [*items, f"... {len(value) - MAX_ITEMS} more"] if len(value) > MAX_ITEMS else items
    if shorten and isinstance(value, str) and len(value) > MAX_TEXT:
        return value[: MAX_TEXT - 1] + "…"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return type(value).__name__


@dataclass
class AuditLog:
    path: Path
    max_bytes: int = 5_000_000
    backups: int = 3

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def write(self, entry: Mapping[str, Any]) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        line = (json.dumps(record, ensure_ascii=True, default=str) + "\n").encode("ascii")
        with self._lock:
            self._rotate_if_full(len(line))
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def _rotate_if_full(self, incoming: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size + incoming <= self.max_bytes:
            return
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def tail(self, count: int) -> Iterator[dict[str, Any]]:
        """The latest `count` entries, oldest first (unreadable lines are skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").split("\n")[:-1]
        except FileNotFoundError:
            return
        for line in lines[-count:]:
            try:
                yield json.loads(line)
            except ValueError:
                continue
