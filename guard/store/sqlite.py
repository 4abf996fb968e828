"""The state store in one SQLite file (standard library `sqlite3`), shared by every process that uses the same home.

WAL journal (readers never wait for the writer), a busy timeout, and short `BEGIN IMMEDIATE` transactions: a
check-and-record holds the write lock for a few statements, so N processes racing for the last slot of a window
let exactly one through. `synchronous=NORMAL`: a killed process loses nothing it committed. The file is 0600 in
a 0700 folder and never reached through a symlink. Expired rows are deleted as they go.

Any SQLite failure becomes a `StoreError` that names the file and the fix; the connection is dropped and opened
again on the next use, so fixing the problem needs no restart.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from guard.home import HomeError, open_private, secure_folder
from guard.store import BOOKKEEPING_PREFIX, Blocked, Record, StoreError, StoreFull, Window

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT = 2.0
#: Each process sweeps every expired row at most this often (a window's own rows go on every call).
SWEEP_EVERY = 60.0
#: The write-ahead log is copied into the database by a background thread at most this often. Left to SQLite, that
#: copy (and its fsync) would land inside one unlucky decision every few hundred calls (milliseconds of p99).
CHECKPOINT_EVERY = 5.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, expires REAL NOT NULL, PRIMARY KEY (key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires REAL NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class SqliteStore:
    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = path
        self.location = str(path)
        self.busy_timeout = busy_timeout
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._next_sweep = 0.0
        self._next_checkpoint = 0.0
        self._checkpointing = threading.Lock()

    # --- connection ----------------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        secure_folder(self.path.parent)
        for companion in (self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm")):
            if companion.is_symlink():
                raise HomeError(
                    f"{companion} is a symbolic link. Fix: stop the servers using it and remove it (`rm {companion}`)"
                )
        os.close(open_private(self.path, os.O_RDWR | os.O_CREAT))  # 0600, ours, not a symlink
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA wal_autocheckpoint=0")  # see CHECKPOINT_EVERY
            connection.executescript(SCHEMA)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _run(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        with self._lock:
            try:
                connection = self._connect()
                if not write:
                    return work(connection)
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection)
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
                self._checkpoint_soon()
                return result
            except StoreFull:
                raise
            except (sqlite3.Error, OSError) as exc:
                self.close()
                raise self._explain(exc) from None

    def _checkpoint_soon(self) -> None:
        now = time.monotonic()
        if now < self._next_checkpoint or not self._checkpointing.acquire(blocking=False):
            return
        self._next_checkpoint = now + CHECKPOINT_EVERY
        threading.Thread(target=self._checkpoint, name="state-checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        """Copy the log into the database without holding up writers (PASSIVE); a failure is retried next time."""
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=self.busy_timeout)) as connection:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass
        finally:
            self._checkpointing.release()

    def _explain(self, exc: BaseException) -> StoreError:
        path = self.path
        text = str(exc).lower()
        if isinstance(exc, HomeError):
            return StoreError(f"the guard's state store cannot be used: {exc}")
        if "locked" in text or "busy" in text:
            return StoreError(
                f"the guard's state store {path} stayed locked by another process for more than "
                f"{self.busy_timeout:g} s. Fix: close whatever holds it open (a `sqlite3` shell, a stuck server), "
                "then retry"
            )
        if "disk is full" in text or "database or disk is full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
            return StoreError(
                f"the disk holding the guard's state store {path} is full. Fix: free space on it (`df -h "
                f"{path.parent}`), then retry; nothing in the store was lost"
            )
        if "readonly" in text or "read-only" in text:
            return StoreError(
                f"the guard's state store {path} is read-only. Fix: `chmod 600 {path}` and make sure its disk is "
                "writable, or set TRAKT_MCP_HOME to a writable folder"
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StoreError(
                f"the guard's state store {path} is corrupt. Fix: stop the servers using it and move it aside "
                f"(`mv {path} {path}.broken`, and its -wal/-shm files); rate-limit windows and waiting approvals "
                "start afresh"
            )
        return StoreError(
            f"the guard's state store {path} cannot be opened ({exc}). Fix: check that you own it and its folder "
            f"(`ls -l {path}`; `chmod 600 {path}`), or set TRAKT_MCP_HOME to a folder of your own"
        )

    def _sweep(self, connection: sqlite3.Connection, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        connection.execute("DELETE FROM calls WHERE expires <= ?", (now,))
        connection.execute("DELETE FROM records WHERE expires <= ?", (now,))

    # --- windows -------------------------------------------------------------------------------------------------

    # Each window's calls are numbered (seq) in order, so "the max-th most recent call" is one primary-key lookup
    # (seq = last - max + 1) however large `max` is: a decision costs O(log n), never a scan of the window.

    @staticmethod
    def _last(connection: sqlite3.Connection, window: Window) -> int:
        row = connection.execute("SELECT max(seq) FROM calls WHERE key = ?", (window.key,)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @classmethod
    def _first_full(
        cls, connection: sqlite3.Connection, windows: Sequence[Window], now: float, lasts: list[int]
    ) -> Blocked:
        for index, window in enumerate(windows):
            row = connection.execute(
                "SELECT at FROM calls WHERE key = ? AND seq = ?", (window.key, lasts[index] - window.max + 1)
            ).fetchone()
            if row is not None and row[0] > now - window.seconds:
                return index, max(row[0] + window.seconds - now, 0.001)
        return None

    def check(self, windows: Sequence[Window], now: float) -> Blocked:
        if not windows:
            return None

        def work(connection: sqlite3.Connection) -> Blocked:
            return self._first_full(connection, windows, now, [self._last(connection, w) for w in windows])

        return self._run(work, write=False)

    def take(self, windows: Sequence[Window], now: float) -> Blocked:
        if not windows:
            return None

        def work(connection: sqlite3.Connection) -> Blocked:
            self._sweep(connection, now)
            lasts = [self._last(connection, window) for window in windows]
            blocked = self._first_full(connection, windows, now, lasts)
            if blocked is None:
                connection.executemany(
                    "INSERT INTO calls (key, seq, at, expires) VALUES (?, ?, ?, ?)",
                    [(w.key, last + 1, now, now + w.seconds) for w, last in zip(windows, lasts, strict=True)],
                )
                # Calls that are neither in the window nor among the latest `max` are never looked at again.
                connection.executemany(
                    "DELETE FROM calls WHERE key = ? AND seq <= ? AND at <= ?",
                    [(w.key, last + 1 - w.max, now - w.seconds) for w, last in zip(windows, lasts, strict=True)],
                )
            return blocked

        return self._run(work, write=True)

    # --- records -------------------------------------------------------------------------------------------------

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
        text = json.dumps(dict(value), sort_keys=True, separators=(",", ":"))

        def work(connection: sqlite3.Connection) -> None:
            self._sweep(connection, now)
            if cap is not None:
                exists = connection.execute("SELECT 1 FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
                live = connection.execute(
                    "SELECT count(*) FROM records WHERE kind = ? AND expires > ?", (kind, now)
                ).fetchone()[0]
                if not exists and live >= cap:
                    if not evict:
                        raise StoreFull(f"{live} {kind} records are already waiting")
                    connection.execute(
                        "DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE kind = ? "
                        "ORDER BY expires <= ? DESC, created LIMIT ?)",
                        (kind, now, live - cap + 1),
                    )
            connection.execute(
                "INSERT INTO records (kind, key, value, expires, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                (kind, key, text, expires, now),
            )

        self._run(work, write=True)

    @staticmethod
    def _decode(text: str) -> Record | None:
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def get(self, kind: str, key: str, now: float) -> Record | None:
        row = self._run(
            lambda connection: connection.execute(
                "SELECT value FROM records WHERE kind = ? AND key = ? AND expires > ?", (kind, key, now)
            ).fetchone(),
            write=False,
        )
        return self._decode(row[0]) if row else None

    def pop(self, kind: str, key: str, now: float) -> Record | None:
        def work(connection: sqlite3.Connection) -> Any:
            row = connection.execute(
                "DELETE FROM records WHERE kind = ? AND key = ? RETURNING value, expires", (kind, key)
            ).fetchone()
            return row if row and row[1] > now else None

        row = self._run(work, write=True)
        return self._decode(row[0]) if row else None

    def items(self, kind: str, now: float) -> list[tuple[str, Record]]:
        rows = self._run(
            lambda connection: connection.execute(
                "SELECT key, value FROM records WHERE kind = ? AND expires > ? ORDER BY created, key", (kind, now)
            ).fetchall(),
            write=False,
        )
        return [(key, value) for key, text in rows if (value := self._decode(text)) is not None]

    def delete(self, kind: str, key: str) -> bool:
        return self._run(
            lambda connection: (
                connection.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key)).rowcount > 0
            ),
            write=True,
        )

    def clear(self, what: str) -> int:
        if what == "windows":
            return self._run(lambda connection: connection.execute("DELETE FROM calls").rowcount, write=True)
        return self._run(
            lambda connection: connection.execute("DELETE FROM records WHERE kind = ?", (what,)).rowcount,
            write=True,
        )

    def health(self, *, count_windows: bool = True) -> str:
        now = time.time()

        def work(connection: sqlite3.Connection) -> str:
            (check,) = connection.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
            hits = connection.execute(
                "SELECT count(*) FROM calls WHERE expires > ? AND substr(key, 1, ?) != ?",
                (now, len(BOOKKEEPING_PREFIX), BOOKKEEPING_PREFIX),
            ).fetchone()[0]
            kinds = connection.execute(
                "SELECT kind, count(*) FROM records WHERE expires > ? GROUP BY kind ORDER BY kind", (now,)
            ).fetchall()
            counts = [f"{hits} calls in rate-limit windows"] if count_windows else []
            counts += [f"{count} {kind}" for kind, count in kinds]
            return f"{self.path}: ok" + (f" ({', '.join(counts)})" if counts else "")

        return self._run(work, write=False)
