"""The state store in PostgreSQL (psycopg 3 and its pool), shared by every replica behind a load balancer.

Same tables and the same numbering of a window's calls as the SQLite store. A check-and-record takes a
transaction-scoped advisory lock per window key (in key order, so two windows never deadlock), so N replicas racing
for the last slot of a window let exactly one through; records are taken exactly once with DELETE ... RETURNING.

Fail closed, recover by itself: any failure to reach the database becomes a StoreError naming the state URL with
its password masked, and the pool is dropped. While the database is away each use tries one direct connection (a
refused connection fails at once, so calls are refused quickly, not after a pool timeout); the first that succeeds
checks the schema and opens a new pool. No replica needs a restart.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from guard import commands
from guard.auditchain import START, Link, seal, unseal
from guard.store import BOOKKEEPING_PREFIX, Blocked, Record, StoreError, StoreFull, Window
from guard.store.postgres_schema import (
    AUDIT_LOCK,
    GUARD,
    WINDOW_LOCK_CLASS,
    Migration,
    Schema,
    SchemaTooNew,
    applied_versions,
    behind,
    masked,
    migrate,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    Connection = psycopg.Connection[tuple[Any, ...]]

T = TypeVar("T")
log = logging.getLogger("guard.store")

#: How long a call waits for a connection (pool) or for the database to answer a new one (seconds).
DEFAULT_TIMEOUT = 3.0
#: Connections each replica keeps open; the guard's statements are short, a few serve many callers.
POOL_MIN, POOL_MAX = 1, 4
SWEEP_EVERY = 60.0


def install_hint() -> str:
    return f"a postgresql:// state needs psycopg 3 and psycopg_pool. Fix: {commands.postgresql_fix()}"


def _driver() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        raise StoreError(install_hint()) from None
    return psycopg, psycopg_pool


class PostgresStore:
    def __init__(
        self,
        url: str,
        *,
        schemas: Sequence[Schema] = (GUARD,),
        timeout: float = DEFAULT_TIMEOUT,
        migrate_at_start: bool = True,
    ) -> None:
        """`schemas`: the components whose tables this process uses (the guard's, and a host's own such as
        trakt-mcp's multi-user people), each migrated at start and required current."""
        self.url = url
        self.schemas = tuple(schemas)
        self.location = masked(url)
        self.timeout = timeout
        self.migrate_at_start = migrate_at_start
        self._pool: ConnectionPool[Connection] | None = None
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    # --- connections ---------------------------------------------------------------------------------------------

    def connect(self) -> Connection:
        """One direct connection (autocommit), outside the pool: for probes, migrations and `state` commands."""
        psycopg, _ = _driver()
        connection: Connection = psycopg.connect(
            self.url, autocommit=True, connect_timeout=max(int(self.timeout), 1), application_name="trakt-mcp"
        )
        return connection

    def _open_pool(self) -> ConnectionPool[Connection]:
        with self._lock:
            if self._pool is not None:
                return self._pool
            _, psycopg_pool = _driver()
            with self.connect() as probe:  # fails fast while the database is away; checks the schema when back
                if self.migrate_at_start:
                    for migration in migrate(probe, self.schemas):
                        log.warning("state %s: applied migration %s", self.location, migration)
                self._require_current(applied_versions(probe))
            pool: ConnectionPool[Connection] = psycopg_pool.ConnectionPool(
                self.url,
                min_size=POOL_MIN,
                max_size=POOL_MAX,
                kwargs={"autocommit": True, "application_name": "trakt-mcp"},
                timeout=self.timeout,
                name="trakt-mcp-state",
                open=False,
            )
            pool.open(wait=False)
            self._pool = pool
            return pool

    def _require_current(self, applied: dict[str, int]) -> None:
        if lagging := behind(applied, self.schemas):
            raise SchemaTooNew(
                f"the database's schema is not current ({', '.join(lagging)}). "
                f"Fix: run `{commands.command('state migrate')}`"
            )

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout=1.0)

    def run(self, work: Callable[[Connection], T], *, write: bool = False) -> T:
        """For a host's own tables in the same database (e.g. trakt-mcp's people store): `work` with a connection,
        in a transaction when `write`, with this store's failure handling (StoreError naming the masked URL)."""
        return self._run(work, write=write)

    def _run(self, work: Callable[[Connection], T], *, write: bool) -> T:
        """`work` on a pooled connection (in a transaction when `write`). Any failure to reach the database becomes
        a StoreError (and drops the pool). A connection the database dropped while idle (a restart, a timeout) is
        found by the first statement, not by a check on every use: the work is then tried once more on a new pool,
        whose first step probes the database directly. A retried check-and-record may count a call twice (if the
        first attempt's commit had landed), never zero times."""
        psycopg, psycopg_pool = _driver()
        for last_try in (False, True):
            try:
                with self._open_pool().connection() as connection:
                    if not write:
                        return work(connection)
                    with connection.transaction():
                        return work(connection)
            except StoreFull:
                raise
            except SchemaTooNew as exc:
                self.close()
                raise StoreError(f"the guard's state database {self.location} cannot be used: {exc}") from None
            except psycopg.OperationalError as exc:
                self.close()
                if last_try:
                    raise self._explain(exc) from None
            except (psycopg.Error, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed, OSError) as exc:
                self.close()
                raise self._explain(exc) from None
        raise AssertionError("unreachable")

    def _explain(self, exc: BaseException) -> StoreError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        reason = reason.replace(self.url, self.location)
        return StoreError(
            f"the guard's state database {self.location} does not answer ({reason}). Fix: start PostgreSQL or "
            f"correct --state / TRAKT_MCP_STATE (`{commands.command('state status')}` checks it); the server uses it "
            "again by itself as soon as it answers, no restart needed"
        )

    def _sweep(self, connection: Connection, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        connection.execute("DELETE FROM guard_calls WHERE expires <= %s", (now,))
        connection.execute("DELETE FROM guard_records WHERE expires <= %s", (now,))

    # --- windows -------------------------------------------------------------------------------------------------

    def _windows(self, windows: Sequence[Window], now: float, *, record: bool) -> Blocked:
        """One call of the schema's guard_take (one round trip; see migrations/0001_guard_state.sql)."""
        keys = [window.key for window in windows]
        maxes = [window.max for window in windows]
        seconds = [float(window.seconds) for window in windows]

        def work(connection: Connection) -> Any:
            if record and now >= self._next_sweep:
                self._sweep(connection, now)
            return connection.execute(
                "SELECT blocked, wait FROM guard_take(%s, %s, %s, %s, %s)", (keys, maxes, seconds, now, record)
            ).fetchone()

        row = self._run(work, write=False)
        return None if row is None else (int(row[0]), float(row[1]))

    def check(self, windows: Sequence[Window], now: float) -> Blocked:
        return self._windows(windows, now, record=False) if windows else None

    def take(self, windows: Sequence[Window], now: float) -> Blocked:
        return self._windows(windows, now, record=True) if windows else None

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

        def work(connection: Connection) -> None:
            self._sweep(connection, now)
            if cap is not None:
                # One kind's puts queue behind each other, so a cap holds across replicas too.
                connection.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (WINDOW_LOCK_CLASS, f"kind {kind}")
                )
                exists = connection.execute(
                    "SELECT 1 FROM guard_records WHERE kind = %s AND key = %s", (kind, key)
                ).fetchone()
                row = connection.execute(
                    "SELECT count(*) FROM guard_records WHERE kind = %s AND expires > %s", (kind, now)
                ).fetchone()
                live = int(row[0]) if row else 0
                if not exists and live >= cap:
                    if not evict:
                        raise StoreFull(f"{live} {kind} records are already waiting")
                    connection.execute(
                        "DELETE FROM guard_records WHERE (kind, key) IN (SELECT kind, key FROM guard_records "
                        "WHERE kind = %s ORDER BY expires <= %s DESC, created, position LIMIT %s)",
                        (kind, now, live - cap + 1),
                    )
            connection.execute(
                "INSERT INTO guard_records (kind, key, value, expires, created) VALUES (%s, %s, %s, %s, %s) "
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
                "SELECT value FROM guard_records WHERE kind = %s AND key = %s AND expires > %s", (kind, key, now)
            ).fetchone(),
            write=False,
        )
        return self._decode(row[0]) if row else None

    def pop(self, kind: str, key: str, now: float) -> Record | None:
        row = self._run(
            lambda connection: connection.execute(
                "DELETE FROM guard_records WHERE kind = %s AND key = %s RETURNING value, expires", (kind, key)
            ).fetchone(),
            write=True,
        )
        return self._decode(row[0]) if row and row[1] > now else None

    def items(self, kind: str, now: float) -> list[tuple[str, Record]]:
        rows = self._run(
            lambda connection: connection.execute(
                "SELECT key, value FROM guard_records WHERE kind = %s AND expires > %s ORDER BY created, position",
                (kind, now),
            ).fetchall(),
            write=False,
        )
        return [(key, value) for key, text in rows if (value := self._decode(text)) is not None]

    def delete(self, kind: str, key: str) -> bool:
        return self._run(
            lambda connection: (
                connection.execute("DELETE FROM guard_records WHERE kind = %s AND key = %s", (kind, key)).rowcount > 0
            ),
            write=True,
        )

    def clear(self, what: str) -> int:
        if what == "windows":
            return self._run(lambda connection: connection.execute("DELETE FROM guard_calls").rowcount, write=True)
        return self._run(
            lambda connection: connection.execute("DELETE FROM guard_records WHERE kind = %s", (what,)).rowcount,
            write=True,
        )

    # --- audit ---------------------------------------------------------------------------------------------------

    def append_audit(self, record: Mapping[str, Any], key: bytes | None) -> None:
        """Add one audit line to the append-only table; with `key`, chained to the table's last row (under an
        advisory lock, so lines from every replica make one chain)."""

        def work(connection: Connection) -> None:
            line = json.dumps(dict(record), ensure_ascii=True, default=str)
            if key is not None:
                connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", AUDIT_LOCK)
                row = connection.execute("SELECT entry FROM guard_audit ORDER BY id DESC LIMIT 1").fetchone()
                last = unseal(row[0].encode("ascii", errors="replace")) if row else None
                previous = Link(last.seq, last.tag) if last is not None and last.seq is not None else START
                line = seal(key, record, previous, first_in_file=previous is START)[0].decode("ascii").rstrip("\n")
            connection.execute("INSERT INTO guard_audit (entry) VALUES (%s)", (line,))

        self._run(work, write=True)

    def audit_tail(self, count: int | None) -> list[str]:
        """The latest `count` audit lines (None: all), oldest first."""
        rows = self._run(
            lambda connection: connection.execute(
                "SELECT entry FROM (SELECT id, entry FROM guard_audit ORDER BY id DESC LIMIT %s) AS latest ORDER BY id",
                (count,),
            ).fetchall(),
            write=False,
        )
        return [row[0] for row in rows]

    # --- health --------------------------------------------------------------------------------------------------

    def migrate(self) -> tuple[list[Migration], dict[str, int]]:
        """Apply the migrations the database lacks now (`trakt-mcp state migrate`): (applied, versions)."""
        psycopg, _ = _driver()
        try:
            with self.connect() as connection:
                return migrate(connection, self.schemas), applied_versions(connection)
        except SchemaTooNew as exc:
            raise StoreError(f"the guard's state database {self.location} cannot be used: {exc}") from None
        except (psycopg.Error, OSError) as exc:
            raise self._explain(exc) from None

    def health(self, *, count_windows: bool = True) -> str:
        now = time.time()

        def work(connection: Connection) -> str:
            applied = applied_versions(connection)
            self._require_current(applied)
            version = ", ".join(f"{schema.component} {applied.get(schema.component, 0)}" for schema in self.schemas)
            row = connection.execute(
                "SELECT count(*) FROM guard_calls WHERE expires > %s AND left(key, %s) != %s",
                (now, len(BOOKKEEPING_PREFIX), BOOKKEEPING_PREFIX),
            ).fetchone()
            kinds = connection.execute(
                "SELECT kind, count(*) FROM guard_records WHERE expires > %s GROUP BY kind ORDER BY kind", (now,)
            ).fetchall()
            counts = [f"{row[0] if row else 0} calls in rate-limit windows"] if count_windows else []
            counts += [f"{count} {kind}" for kind, count in kinds]
            return f"{self.location}: ok, schema {version}" + (f" ({', '.join(counts)})" if counts else "")

        return self._run(work, write=False)
