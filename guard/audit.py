"""The audit log: one JSON object per line, an append-only trail that many processes share and no caller can flush.

- Many writers: each line is one `write` on an O_APPEND descriptor (the kernel never interleaves two), taken under
  a shared lock on `audit.jsonl.lock`; rotating takes that lock exclusively, so no line lands in a file being
  renamed or deleted. No line is lost, torn or written twice.
- Rotation by size (`max_bytes`) and age (`max_age`); the oldest backup beyond `backups` goes only once it is older
  than `keep`: a flood cannot push recent history out. Backups older than `retention` go regardless.
- Never through a symlink: the log, its backups and the lock are opened with O_NOFOLLOW, 0600.

Argument summaries never carry secrets: values under keys that look like credentials are replaced, long values
are shortened. Lines are pure ASCII JSON, so no value a caller chooses (a newline, U+2028, a terminal escape) can
split a line, forge one, or reach a terminal raw."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from guard.auditchain import START, Head, Link, chain_key, last_link, seal
from guard.home import open_private, open_private_stat, secure_folder
from guard.store import Store, StoreError, Window

try:
    import fcntl
except ImportError:  # Windows: one process per home is assumed there
    fcntl = None  # type: ignore[assignment]

DECISIONS = (
    "allowed",
    "denied",
    "invalid",
    "hidden",
    "confirmed",
    "declined",
    "approval_pending",
    "not_ready",
    "rate_limited",
    "suppressed",
)
SECRET_KEYS = re.compile(
    r"token|secret|pass(w|phrase)|pwd|code|auth|api_?key|private|cookie|credential|session|bearer|otp|(^|_)(key|pin)$",
    re.I,
)
REDACTED = "[redacted]"
MAX_TEXT = 80
MAX_ITEMS = 10
DAY = 86_400.0
#: What chaining adds to a line at most: `seq`, the first line's `prev` and the `tag`.
_SEAL_BYTES = 180
log = logging.getLogger("guard")


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


class AuditTrail(Protocol):
    """Where audit lines go: the JSONL file (`AuditLog`) or, with replicas, the database (`guard.audit_table`)."""

    def write(self, entry: Mapping[str, Any]) -> None: ...

    def tail(self, count: int) -> Iterator[dict[str, Any]]: ...


@dataclass
class AuditLog:
    path: Path
    max_bytes: int = 5_000_000
    backups: int = 3
    #: Start a new file when the current one is this old (seconds).
    max_age: float = 7 * DAY
    #: Backups younger than this are never deleted, however many there are (the floor floods cannot evict).
    keep: float = 7 * DAY
    #: Backups older than this are deleted whatever their number.
    retention: float = 365 * DAY
    #: The state folder's secret (read on first write): with it every line is chained (guard.auditchain).
    key: Callable[[], bytes] | None = None
    #: Remembers the last link outside the log, so that a cut tail shows.
    head: Head | None = None

    def __post_init__(self) -> None:
        self._chain_key: bytes | None = None
        self._written: tuple[int, int, Link] | None = None
        self._lock = threading.Lock()
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._born: float | None = None
        self._born_inode = -1
        self._lock_fd: int | None = None
        self._folder_checked = False

    @contextlib.contextmanager
    def _file_lock(self, exclusive: bool) -> Iterator[None]:
        """The lock every process appending to or rotating this log shares (its descriptor is kept open)."""
        if fcntl is None:
            yield
            return
        if self._lock_fd is None:
            self._lock_fd = open_private(self._lock_path, os.O_RDWR | os.O_CREAT)
            weakref.finalize(self, os.close, self._lock_fd)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _open(self) -> tuple[int, os.stat_result]:
        try:
            return open_private_stat(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except FileNotFoundError:  # the folder went away: make it again, private
            secure_folder(self.path.parent)
            return open_private_stat(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def write(self, entry: Mapping[str, Any]) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        encoded = json.dumps(record, ensure_ascii=True, default=str)
        plain = (encoded + "\n").encode("ascii")
        with self._lock:
            if not self._folder_checked:
                secure_folder(self.path.parent)
                self._folder_checked = True
            with self._file_lock(exclusive=True):  # one writer at a time: each line chains to the one before it
                fd, info = self._open()
                try:
                    growth = len(plain) + (_SEAL_BYTES if self.key else 0)
                    if info.st_size > 0 and (info.st_size + growth > self.max_bytes or self._too_old(info.st_ino)):
                        os.close(fd)
                        fd = -1
                        self._rotate_locked(info.st_ino)
                        fd, info = self._open()
                    line, link = self._sealed(record, encoded, info) if self.key else (plain, None)
                    os.write(fd, line)
                finally:
                    if fd >= 0:
                        os.close(fd)
                if link is not None:
                    self._written = (info.st_ino, info.st_size + len(line), link)
                    self._remember(link)

    def _sealed(self, record: dict[str, Any], encoded: str, info: os.stat_result) -> tuple[bytes, Link]:
        """The chained line for `record`: it follows the last line of this file, or (for a file's first line) the
        last line of the file rotated before it, else the link the head remembers."""
        assert self.key is not None
        if self._chain_key is None:
            self._chain_key = chain_key(self.key())
        known = self._written
        if known is not None and known[:2] == (info.st_ino, info.st_size):
            previous, first = known[2], False
        elif info.st_size > 0:
            found = last_link(self.path)
            previous, first = (found, False) if found is not None else (START, True)
        else:
            previous, first = last_link(self._backup(1)) or self._recalled() or START, True
        return seal(self._chain_key, record, previous, first, encoded)

    def _recalled(self) -> Link | None:
        try:
            return self.head.recall() if self.head is not None else None
        except StoreError as exc:
            log.error("guard state store failed while reading the audit chain's head: %s", exc)
            return None

    def _remember(self, link: Link) -> None:
        if self.head is None:
            return
        try:
            self.head.remember(link)
        except StoreError as exc:
            log.error("guard state store failed while recording the audit chain's head: %s", exc)

    def _too_old(self, inode: int) -> bool:
        """Whether the current file began more than `max_age` ago (its first line's time, read once per file)."""
        if self._born is None or self._born_inode != inode:
            self._born_inode = inode
            self._born = self._first_time()
        return self._born is not None and time.time() - self._born > self.max_age

    def _first_time(self) -> float | None:
        try:
            fd = open_private(self.path, os.O_RDONLY)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            first = handle.readline(4096)
        try:
            return datetime.fromisoformat(json.loads(first)["time"]).timestamp()
        except (ValueError, KeyError, TypeError):
            return time.time()

    def _backup(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def _rotate_locked(self, inode: int) -> None:
        """Move the current file to backup 1 (the caller holds the exclusive file lock)."""
        try:
            current = os.lstat(self.path)
        except FileNotFoundError:
            return
        if current.st_ino != inode:
            return  # another process rotated it first
        self._make_room()
        for index in range(self._count(), 0, -1):
            os.replace(self._backup(index), self._backup(index + 1))
        os.replace(self.path, self._backup(1))
        self._born = None

    def _count(self) -> int:
        index = 0
        while os.path.lexists(self._backup(index + 1)):
            index += 1
        return index

    def _make_room(self) -> None:
        """Delete the oldest backups that are beyond `backups` and older than `keep`, or older than `retention`."""
        now = time.time()
        count = self._count()
        while count > 0:
            oldest = self._backup(count)
            age = now - os.lstat(oldest).st_mtime
            if not ((count >= self.backups and age > self.keep) or age > self.retention):
                return
            oldest.unlink()
            count -= 1

    def files(self) -> list[Path]:
        """The log's files, oldest first: the backups, then the current file."""
        backups = [self._backup(index) for index in range(self._count(), 0, -1)]
        return backups + ([self.path] if os.path.lexists(self.path) else [])

    @contextlib.contextmanager
    def steady(self) -> Iterator[None]:
        """Hold off every writer and rotation (in all processes) while the whole log is read."""
        if not self.path.parent.is_dir():  # no state folder: no log, and nothing to hold off
            yield
            return
        with self._lock, self._file_lock(exclusive=False):
            yield

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every readable entry, oldest first, across the backups and the current file."""
        for path in self.files():
            try:
                fd = open_private(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            with os.fdopen(fd, "rb") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict):
                        yield entry

    def tail(self, count: int) -> Iterator[dict[str, Any]]:
        """The latest `count` entries, oldest first (unreadable lines are skipped)."""
        try:
            fd = open_private(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        with os.fdopen(fd, "rb") as handle:
            lines = handle.read().decode("utf-8", errors="replace").split("\n")[:-1]
        for line in lines[-count:]:
            try:
                yield json.loads(line)
            except ValueError:
                continue


class RefusalThrottle:
    """The guard's meta-limit: at most `max` refused or unknown calls, completions and card look-ups (guard.gate.use)
    per caller per `window` seconds get an audit line each; past that they are counted (in the shared store) and
    written as one `suppressed` line with the count when the burst ends, i.e. when the caller's next line is
    written. A flood of nonsense costs one line."""

    KIND = "suppressed"

    def __init__(self, store: Store, max_lines: int = 120, window: float = 60.0) -> None:
        self.store = store
        self.max_lines = max_lines
        self.window = window
        self._checked: dict[str, float] = {}

    @staticmethod
    def _key(identity: str | None) -> str:
        return json.dumps(["bookkeeping", "refused", identity], ensure_ascii=True)

    def admit(self, identity: str | None, refused: bool, now: float) -> tuple[bool, dict[str, Any] | None]:
        """Whether this call gets its own line, and the `suppressed` line to write before it (if a burst of this
        caller's refusals just ended). Allowed calls always get their line; they look for an ended burst at most
        once a window per process, so the common path stays one store transaction."""
        key = self._key(identity)
        if refused and self.store.take([Window(key, self.max_lines, self.window)], now) is not None:
            counted = self.store.get(self.KIND, key, now) or {"count": 0, "first": now}
            counted["count"] = int(counted.get("count", 0)) + 1
            counted["last"] = now
            self.store.put(self.KIND, key, counted, now + 30 * DAY, now)
            return False, None
        if not refused and self._checked.get(key, -math.inf) > now - self.window:
            return True, None
        self._checked[key] = now
        ended = self.store.pop(self.KIND, key, now)
        if ended is None:
            return True, None
        first, last = (datetime.fromtimestamp(ended.get(k, now), UTC).isoformat() for k in ("first", "last"))
        burst = {
            "identity": identity,
            "decision": "suppressed",
            "count": ended.get("count"),
            "reason": (
                f"more than {self.max_lines} refused calls or uses in {self.window:g} s, between {first} and {last}"
            ),
        }
        return True, burst

    def record(self, audit: AuditTrail, entry: dict[str, Any], *, refused: bool, now: float) -> None:
        """Write `entry` to the trail as the meta-limit allows (and the line of a burst that just ended first).
        Neither a store failure nor a disk failure stops the call: both are logged."""
        try:
            own_line, burst = self.admit(entry.get("identity"), refused, now)
        except StoreError as exc:  # the trail matters more than the throttle: write the line
            log.error("guard state store failed while auditing: %s", exc)
            own_line, burst = True, None
        try:
            if burst is not None:
                audit.write({**burst, "client": entry.get("client")})
            if own_line:
                audit.write(entry)
        except OSError as exc:
            log.error("audit log write failed: %s", exc)
