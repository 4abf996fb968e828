"""The PostgreSQL schema of the shared state: migrations shipped in the package (`guard/store/migrations/NNNN_*.sql`),
applied in order, each in its own transaction, under one advisory lock, so replicas that start together never race
(the second waits, then finds nothing left to do). `trakt_mcp_schema` records which ones ran."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import psycopg

#: The advisory lock every replica takes to migrate (a two-key lock: its own space, apart from the windows' locks).
MIGRATION_LOCK = (0x54524B54, 1)  # "TRKT", 1
#: The windows' advisory locks: (WINDOW_LOCK_CLASS, hashtext(key)).
WINDOW_LOCK_CLASS = 0x54524B57  # "TRKW"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SECRET_PARAMETERS = frozenset({"password", "sslpassword", "passfile"})


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped in the package, oldest first."""
    found = []
    for entry in (resources.files("guard.store") / "migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda migration: migration.version)


def latest_version() -> int:
    return max((migration.version for migration in migrations()), default=0)


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


def applied_version(connection: psycopg.Connection[tuple[Any, ...]]) -> int:
    """The newest migration applied to this database (0 when none)."""
    row = connection.execute("SELECT to_regclass('trakt_mcp_schema') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    row = connection.execute("SELECT coalesce(max(version), 0) FROM trakt_mcp_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(connection: psycopg.Connection[tuple[Any, ...]]) -> list[Migration]:
    """Apply the migrations this database lacks, under the advisory lock; returns those applied here. Raises
    SchemaTooNew when the database is ahead of this package (never downgrades)."""
    known = migrations()
    newest = known[-1].version if known else 0
    if applied_version(connection) == newest:
        return []
    applied: list[Migration] = []
    connection.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK)
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS trakt_mcp_schema ("
            "version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = applied_version(connection)
        if current > newest:
            raise SchemaTooNew(
                f"the database's schema is version {current}, newer than this trakt-mcp knows ({newest}). Fix: "
                "upgrade this replica to the version the others run"
            )
        for migration in known:
            if migration.version <= current:
                continue
            with connection.transaction():
                connection.execute(migration.sql.encode("utf-8"))
                connection.execute(
                    "INSERT INTO trakt_mcp_schema (version, name) VALUES (%s, %s)", (migration.version, migration.name)
                )
            applied.append(migration)
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK)
    return applied
