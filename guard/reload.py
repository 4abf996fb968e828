"""Hot reload: the policy file is re-read when it changes (checked at most every `interval` seconds, on use, off
the event loop: see `due`). An invalid edit keeps the last good policy; the problem goes to stderr and to a status
file (0600, replaced atomically). A FIFO or device at the policy path is refused, never waited on."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from guard.engine import Engine
from guard.home import write_private
from guard.policy import PolicyError

log = logging.getLogger("guard")
Signature = tuple[int, int, int] | None


def _signature(path: Path) -> Signature:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class PolicyWatcher:
    """Holds the engine in force. `load` builds an engine from the file (raising PolicyError); the first load's
    error propagates, so a server never starts on an invalid policy."""

    def __init__(
        self,
        load: Callable[[], Engine],
        path: Path | None,
        *,
        status_file: Path | None = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self.path = path
        self.status_file = status_file
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._signature = _signature(path) if path else None
        self.engine = load()
        self.error: str | None = None
        self._next_check = clock() + interval
        self._write_status()

    def due(self) -> bool:
        """Whether the next `current()` looks at the file (then call it off the event loop)."""
        return self.path is not None and self._clock() >= self._next_check

    def settled(self) -> Engine | None:
        """The engine in force when `current()` would neither look at the file nor report a change; else None."""
        return self.engine if self.path is None or self._clock() < self._next_check else None

    def current(self) -> tuple[Engine, bool]:
        """The engine in force, and whether this call replaced it with one that shows a different set of tools."""
        if self.path is None or self._clock() < self._next_check:
            return self.engine, False
        with self._lock:
            self._next_check = self._clock() + self.interval
            signature = _signature(self.path)
            if signature == self._signature:
                return self.engine, False
            self._signature = signature
            previous = self.engine
            try:
                self.engine = self._load()
            except PolicyError as exc:
                self.error = str(exc)
                log.warning("policy edit rejected, keeping the last good policy: %s", exc)
                self._write_status()
                return self.engine, False
            self.error = None
            log.warning("policy reloaded from %s", self.path)
            self._write_status()
            changed = previous.visibility() != self.engine.visibility()
            return self.engine, changed

    def _write_status(self) -> None:
        if self.status_file is None:
            return
        status = {
            "policy": str(self.path) if self.path else None,
            "checked": datetime.now(UTC).isoformat(timespec="seconds"),
            "error": self.error,
        }
        try:
            write_private(self.status_file, json.dumps(status).encode("utf-8"))
        except OSError as exc:
            log.warning("cannot write the guard status file %s: %s", self.status_file, exc)
