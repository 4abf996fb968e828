"""`PeopleStore` in one SQLite file in the state folder (`people.db`), shared by every process on that home.

The same discipline as the guard's store (`guard.store.sqlite`): 0600 file in a folder only its owner may write,
never reached through a symlink, WAL, a busy timeout, short `BEGIN IMMEDIATE` transactions for the take-once
operations, and every SQLite failure turned into a `StoreError` naming the file and the fix.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from guard.home import HomeError, open_private, secure_folder
from guard.store import StoreError
from trakt_mcp.remote.store import (
    BrowserSessionRecord,
    ClientRecord,
    CodeRecord,
    GrantRecord,
    PendingRecord,
    TokenRecord,
    scope_of,
)

T = TypeVar("T")

FILE_NAME = "people.db"
BUSY_TIMEOUT = 2.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    username TEXT PRIMARY KEY, trakt_token BLOB, created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY, name TEXT NOT NULL, redirect_uris TEXT NOT NULL, auth_method TEXT NOT NULL,
    registration TEXT NOT NULL, created_at REAL NOT NULL, secret_digest TEXT, refresh_after REAL,
    registered_from TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS pending (state_digest TEXT PRIMARY KEY, request TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
    code_digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, username TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL, resource TEXT NOT NULL, scope TEXT NOT NULL, expires_at REAL NOT NULL,
    family TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_digest TEXT PRIMARY KEY, kind TEXT NOT NULL, client_id TEXT NOT NULL, username TEXT NOT NULL,
    resource TEXT NOT NULL, scope TEXT NOT NULL, family TEXT NOT NULL, expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0, used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_by_family ON tokens (family);
CREATE INDEX IF NOT EXISTS tokens_by_person ON tokens (username);
CREATE TABLE IF NOT EXISTS grants (
    username TEXT NOT NULL, client_id TEXT NOT NULL, capabilities TEXT NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (username, client_id)
);
CREATE TABLE IF NOT EXISTS browser_sessions (
    session_digest TEXT PRIMARY KEY, username TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS browser_sessions_by_person ON browser_sessions (username);
"""
#: A used code is kept this long past its expiry, so that a replay is recognised (and its family revoked).
USED_CODE_KEPT = 3600.0


class SqlitePeopleStore:
    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self.location = str(path)
        self.busy_timeout = busy_timeout
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        secure_folder(self.path.parent)
        for companion in (self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm")):
            if companion.is_symlink():
                raise HomeError(f"{companion} is a symbolic link. Fix: stop trakt-mcp and remove it (`rm {companion}`)")
        os.close(open_private(self.path, os.O_RDWR | os.O_CREAT))
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
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

    def _run(self, work: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
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
                return result
            except (sqlite3.Error, OSError) as exc:
                self.close()
                raise StoreError(
                    f"the people store {self.path} cannot be used ({exc}). Fix: check that you own it and its "
                    f"folder (`ls -l {self.path}`; `chmod 600 {self.path}`), that its disk is writable, or move a "
                    "corrupt file aside (people then sign in again)"
                ) from None

    def _one(self, sql: str, *args: Any) -> Any:
        return self._run(lambda c: c.execute(sql, args).fetchone())

    def _write(self, sql: str, *args: Any) -> int:
        return self._run(lambda c: c.execute(sql, args).rowcount, write=True)

    # -- people -------------------------------------------------------------------------------------------------
    def sealed_trakt_token(self, username: str) -> bytes | None:
        row = self._one("SELECT trakt_token FROM people WHERE username = ?", username)
        return bytes(row[0]) if row and row[0] is not None else None

    def put_trakt_token(self, username: str, sealed: bytes | None, now: float) -> None:
        self._write(
            "INSERT INTO people (username, trakt_token, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (username) DO UPDATE SET trakt_token = excluded.trakt_token, updated_at = excluded.updated_at",
            username,
            sealed,
            now,
            now,
        )

    def people(self) -> list[str]:
        return [row[0] for row in self._run(lambda c: c.execute("SELECT username FROM people ORDER BY 1").fetchall())]

    # -- clients ------------------------------------------------------------------------------------------------
    def client(self, client_id: str) -> ClientRecord | None:
        row = self._one(
            "SELECT client_id, name, redirect_uris, auth_method, registration, created_at, secret_digest, "
            "refresh_after, registered_from FROM clients WHERE client_id = ?",
            client_id,
        )
        if row is None:
            return None
        uris = tuple(str(uri) for uri in json.loads(row[2]))
        return ClientRecord(row[0], row[1], uris, row[3], row[4], row[5], row[6], row[7], row[8])

    def put_client(self, client: ClientRecord) -> None:
        self._write(
            "INSERT OR REPLACE INTO clients VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            client.client_id,
            client.name,
            json.dumps(list(client.redirect_uris)),
            client.auth_method,
            client.registration,
            client.created_at,
            client.secret_digest,
            client.refresh_after,
            client.registered_from,
        )

    def registrations_since(self, since: float, registered_from: str | None = None) -> int:
        if registered_from is None:
            row = self._one("SELECT count(*) FROM clients WHERE registration = 'dcr' AND created_at >= ?", since)
        else:
            row = self._one(
                "SELECT count(*) FROM clients WHERE registration = 'dcr' AND created_at >= ? AND registered_from = ?",
                since,
                registered_from,
            )
        return int(row[0])

    # -- pending authorizations ---------------------------------------------------------------------------------
    def put_pending(self, pending: PendingRecord) -> None:
        def work(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM pending WHERE expires_at <= ?", (pending.expires_at - 86400,))
            connection.execute(
                "INSERT OR REPLACE INTO pending VALUES (?, ?, ?)",
                (pending.state_digest, pending.request, pending.expires_at),
            )

        self._run(work, write=True)

    def take_pending(self, state_digest: str, now: float) -> PendingRecord | None:
        def work(connection: sqlite3.Connection) -> PendingRecord | None:
            row = connection.execute(
                "DELETE FROM pending WHERE state_digest = ? RETURNING request, expires_at", (state_digest,)
            ).fetchone()
            return PendingRecord(state_digest, row[0], row[1]) if row and row[1] > now else None

        return self._run(work, write=True)

    # -- codes --------------------------------------------------------------------------------------------------
    def put_code(self, code: CodeRecord) -> None:
        def work(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM codes WHERE expires_at <= ?", (code.expires_at - USED_CODE_KEPT,))
            connection.execute(
                "INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    code.code_digest,
                    code.client_id,
                    code.username,
                    code.redirect_uri,
                    code.code_challenge,
                    code.resource,
                    code.scope,
                    code.expires_at,
                    code.family,
                ),
            )

        self._run(work, write=True)

    def take_code(self, code_digest: str, now: float) -> CodeRecord | Literal["used"] | None:
        def work(connection: sqlite3.Connection) -> CodeRecord | Literal["used"] | None:
            row = connection.execute(
                "SELECT client_id, username, redirect_uri, code_challenge, resource, scope, expires_at, family, used "
                "FROM codes WHERE code_digest = ?",
                (code_digest,),
            ).fetchone()
            if row is None:
                return None
            if row[8]:
                return "used"
            connection.execute("UPDATE codes SET used = 1 WHERE code_digest = ?", (code_digest,))
            if row[6] <= now:
                return None
            return CodeRecord(code_digest, *row[:8])

        return self._run(work, write=True)

    # -- tokens -------------------------------------------------------------------------------------------------
    def put_token(self, token: TokenRecord) -> None:
        def work(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM tokens WHERE expires_at <= ?", (token.expires_at - 90 * 86400,))
            connection.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token.token_digest,
                    token.kind,
                    token.client_id,
                    token.username,
                    token.resource,
                    token.scope,
                    token.family,
                    token.expires_at,
                    int(token.revoked),
                    int(token.used),
                ),
            )

        self._run(work, write=True)

    _TOKEN_COLUMNS = "token_digest, kind, client_id, username, resource, scope, family, expires_at, revoked, used"

    @staticmethod
    def _token(row: Any) -> TokenRecord:
        digest_, kind, client_id, username, resource, scope, family, expires_at, revoked, used = row
        return TokenRecord(
            digest_, kind, client_id, username, resource, scope, family, expires_at, bool(revoked), bool(used)
        )

    def token(self, token_digest: str, now: float) -> TokenRecord | None:
        row = self._one(f"SELECT {self._TOKEN_COLUMNS} FROM tokens WHERE token_digest = ?", token_digest)
        return self._token(row) if row is not None and row[7] > now else None

    def rotate_refresh(self, token_digest: str, now: float) -> TokenRecord | Literal["reused"] | None:
        def work(connection: sqlite3.Connection) -> TokenRecord | Literal["reused"] | None:
            row = connection.execute(
                f"SELECT {self._TOKEN_COLUMNS} FROM tokens WHERE token_digest = ? AND kind = 'refresh'",
                (token_digest,),
            ).fetchone()
            if row is None or row[7] <= now:
                return None
            record = self._token(row)
            if record.used or record.revoked:
                return "reused"
            connection.execute("UPDATE tokens SET used = 1 WHERE token_digest = ?", (token_digest,))
            return record

        return self._run(work, write=True)

    def revoke_token(self, token_digest: str) -> None:
        self._write("UPDATE tokens SET revoked = 1 WHERE token_digest = ?", token_digest)

    def revoke_family(self, family: str) -> int:
        return self._write("UPDATE tokens SET revoked = 1 WHERE family = ? AND revoked = 0", family)

    def revoke_person(self, username: str) -> int:
        def work(connection: sqlite3.Connection) -> int:
            connection.execute("UPDATE grants SET revoked = 1 WHERE username = ?", (username,))
            return connection.execute(
                "UPDATE tokens SET revoked = 1 WHERE username = ? AND revoked = 0", (username,)
            ).rowcount

        return self._run(work, write=True)

    # -- grants -------------------------------------------------------------------------------------------------
    def put_grant(self, username: str, client_id: str, capabilities: tuple[str, ...], now: float) -> None:
        scope = scope_of(capabilities)

        def work(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO grants VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (username, client_id) DO UPDATE SET "
                "capabilities = excluded.capabilities, updated_at = excluded.updated_at, revoked = 0",
                (username, client_id, scope, now, now),
            )
            connection.execute(
                "UPDATE tokens SET scope = ? WHERE username = ? AND client_id = ? AND revoked = 0",
                (scope, username, client_id),
            )

        self._run(work, write=True)

    def grants(self, username: str) -> list[GrantRecord]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT client_id, capabilities, created_at, updated_at FROM grants WHERE username = ? AND revoked = 0 "
                "ORDER BY created_at, client_id",
                (username,),
            ).fetchall()
        )
        return [GrantRecord(username, row[0], tuple(row[1].split()), row[2], row[3]) for row in rows]

    def revoke_grant(self, username: str, client_id: str) -> int:
        def work(connection: sqlite3.Connection) -> int:
            connection.execute(
                "UPDATE grants SET revoked = 1 WHERE username = ? AND client_id = ?", (username, client_id)
            )
            connection.execute("UPDATE codes SET used = 1 WHERE username = ? AND client_id = ?", (username, client_id))
            return connection.execute(
                "UPDATE tokens SET revoked = 1 WHERE username = ? AND client_id = ? AND revoked = 0",
                (username, client_id),
            ).rowcount

        return self._run(work, write=True)

    # -- browser sessions ---------------------------------------------------------------------------------------
    def put_browser_session(self, session: BrowserSessionRecord) -> None:
        def work(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM browser_sessions WHERE expires_at <= ?", (session.created_at,))
            connection.execute(
                "INSERT INTO browser_sessions VALUES (?, ?, ?, ?)",
                (session.session_digest, session.username, session.created_at, session.expires_at),
            )

        self._run(work, write=True)

    def browser_session(self, session_digest: str, now: float) -> BrowserSessionRecord | None:
        row = self._one(
            "SELECT username, created_at, expires_at FROM browser_sessions WHERE session_digest = ?", session_digest
        )
        return BrowserSessionRecord(session_digest, *row) if row is not None and row[2] > now else None

    def end_browser_session(self, session_digest: str) -> None:
        self._write("DELETE FROM browser_sessions WHERE session_digest = ?", session_digest)

    def end_browser_sessions(self, username: str) -> int:
        return self._write("DELETE FROM browser_sessions WHERE username = ?", username)


def open_people_store(home: Path) -> SqlitePeopleStore:
    return SqlitePeopleStore(home / FILE_NAME)
