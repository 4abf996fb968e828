"""The PostgreSQL schema of the shared state: migrations shipped in the package (`guard/store/migrations/NNNN_*.sql`),
applied in order, each in its own transaction, under one advisory lock, so replicas that start together never race
(the second waits, then finds nothing left to do). `trakt_mcp_schema` records which ones ran."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import psycopg

#: The advisory lock every replica takes to migrate (a two-key lock: its own space, apart from the windows' locks).
MIGRATION_LOCK = (0x54524B54, 1)  # "TRKT", 1
#: The audit table's chain: one writer at a time appends the next link.
AUDIT_LOCK = (0x54524B54, 2)
#: The windows' advisory locks: (WINDOW_LOCK_CLASS, hashtext(key)).
WINDOW_LOCK_CLASS = 0x54524B57  # "TRKW"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SECRET_PARAMETERS = frozenset({"password", "sslpassword", "passfile"})


@dataclass(frozen=True)
class Schema:
    """One component's tables: its migrations are `PACKAGE/migrations/NNNN_name.sql` (the guard's own, or those of
    a host application's state kept in the same database, such as trakt-mcp's multi-user people)."""

    component: str
    package: str


GUARD = Schema("guard", "guard.store")


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    def __str__(self) -> str:
        return f"{self.component} {self.version:04d} {self.name}"


def migrations(schema: Schema = GUARD) -> list[Migration]:
    """Every migration the component ships, oldest first."""
    found = []
    for entry in (resources.files(schema.package) / "migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(schema.component, int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda migration: migration.version)


def latest_version(schema: Schema = GUARD) -> int:
    return max((migration.version for migration in migrations(schema)), default=0)


def masked(url: str) -> str:
    """The URL with its password (in the authority or a query parameter) replaced by ***, for every message."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name in SECRET_PARAMETERS for name, _ in query):
        shown = [(name, "***" if name in SECRET_PARAMETERS else value) for name, value in query]
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(shown, safe="*"), parts.fragment))
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer trakt-mcp than this one."""


def applied_versions(connection: psycopg.Connection[tuple[Any, ...]]) -> dict[str, int]:
    """The newest migration applied to this database, by component (empty when none)."""
    row = connection.execute("SELECT to_regclass('trakt_mcp_schema') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return {}
    rows = connection.execute("SELECT component, max(version) FROM trakt_mcp_schema GROUP BY component").fetchall()
    return {str(component): int(version) for component, version in rows}


def behind(applied: dict[str, int], schemas: Sequence[Schema]) -> list[str]:
    """'guard at 1 of 2' for every component whose schema is not current."""
    return [
        f"{schema.component} at {applied.get(schema.component, 0)} of {latest_version(schema)}"
        for schema in schemas
        if applied.get(schema.component, 0) < latest_version(schema)
    ]


def migrate(connection: psycopg.Connection[tuple[Any, ...]], schemas: Sequence[Schema] = (GUARD,)) -> list[Migration]:
    """Apply the migrations this database lacks, under the advisory lock; returns those applied here. Raises
    SchemaTooNew when the database is ahead of this package (never downgrades)."""
    if not behind(applied_versions(connection), schemas):
        return []
    applied: list[Migration] = []
    connection.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK)
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS trakt_mcp_schema (component text NOT NULL, version integer NOT NULL, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
        )
        current = applied_versions(connection)
        for schema in schemas:
            done, newest = current.get(schema.component, 0), latest_version(schema)
            if done > newest:
                raise SchemaTooNew(
                    f"the database's {schema.component} schema is version {done}, newer than this server knows "
                    f"({newest}). Fix: upgrade this replica to the version the others run"
                )
            for migration in migrations(schema):
                if migration.version <= done:
                    continue
                with connection.transaction():
                    connection.execute(migration.sql.encode("utf-8"))
                    connection.execute(
                        "INSERT INTO trakt_mcp_schema (component, version, name) VALUES (%s, %s, %s)",
                        (migration.component, migration.version, migration.name),
                    )
                applied.append(migration)
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK)
    return applied
