"""`PeopleStore` in the PostgreSQL database that replicas share (`--state postgresql://...`): a person signed in
through one replica is known to every replica, and a revocation on one is seen by all on their next lookup.

The tables come from `trakt_mcp/remote/migrations/` (applied with the guard's, under the same advisory lock); the
connections, failure messages (masked URL, the fix) and recovery are the guard's `PostgresStore`'s. The take-once
operations are single statements (`DELETE ... RETURNING`, `UPDATE ... RETURNING` guarded by the row's state, or a
row lock), so of N replicas racing exactly one gets the row.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from trakt_mcp.remote.sqlite import USED_CODE_KEPT
from trakt_mcp.remote.store import (
    BrowserSessionRecord,
    ClientRecord,
    CodeRecord,
    GrantRecord,
    PendingRecord,
    TokenRecord,
    scope_of,
)

if TYPE_CHECKING:
    from guard.store.postgres import PostgresStore

_TOKEN_COLUMNS = "token_digest, kind, client_id, username, resource, scope, family, expires_at, revoked, used"
_CLIENT_COLUMNS = (
    "client_id, name, redirect_uris, auth_method, registration, created_at, secret_digest, refresh_after, "
    "registered_from"
)


def _token(row: Any) -> TokenRecord:
    digest_, kind, client_id, username, resource, scope, family, expires_at, revoked, used = row
    return TokenRecord(digest_, kind, client_id, username, resource, scope, family, expires_at, revoked, used)


class PostgresPeopleStore:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.location = store.location

    def _one(self, sql: Any, *args: Any) -> Any:
        return self.store.run(lambda connection: connection.execute(sql, args).fetchone())

    def _all(self, sql: Any, *args: Any) -> list[Any]:
        return self.store.run(lambda connection: connection.execute(sql, args).fetchall())

    def _write(self, sql: Any, *args: Any) -> int:
        return self.store.run(lambda connection: connection.execute(sql, args).rowcount, write=True)

    # -- people -------------------------------------------------------------------------------------------------
    def sealed_trakt_token(self, username: str) -> bytes | None:
        row = self._one("SELECT trakt_token FROM people WHERE username = %s", username)
        return bytes(row[0]) if row and row[0] is not None else None

    def put_trakt_token(self, username: str, sealed: bytes | None, now: float) -> None:
        self._write(
            "INSERT INTO people (username, trakt_token, created_at, updated_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (username) DO UPDATE SET trakt_token = excluded.trakt_token, updated_at = excluded.updated_at",
            username,
            sealed,
            now,
            now,
        )

    def people(self) -> list[str]:
        return [row[0] for row in self._all("SELECT username FROM people ORDER BY 1")]

    # -- clients ------------------------------------------------------------------------------------------------
    def client(self, client_id: str) -> ClientRecord | None:
        row = self._one(f"SELECT {_CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = %s", client_id)
        if row is None:
            return None
        uris = tuple(str(uri) for uri in json.loads(row[2]))
        return ClientRecord(row[0], row[1], uris, row[3], row[4], row[5], row[6], row[7], row[8])

    def put_client(self, client: ClientRecord) -> None:
        self._write(
            f"INSERT INTO oauth_clients ({_CLIENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, redirect_uris = excluded.redirect_uris, "
            "auth_method = excluded.auth_method, registration = excluded.registration, "
            "created_at = excluded.created_at, secret_digest = excluded.secret_digest, "
            "refresh_after = excluded.refresh_after, registered_from = excluded.registered_from",
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
            row = self._one("SELECT count(*) FROM oauth_clients WHERE registration = 'dcr' AND created_at >= %s", since)
        else:
            row = self._one(
                "SELECT count(*) FROM oauth_clients WHERE registration = 'dcr' AND created_at >= %s "
                "AND registered_from = %s",
                since,
                registered_from,
            )
        return int(row[0])

    # -- pending authorizations ---------------------------------------------------------------------------------
    def put_pending(self, pending: PendingRecord) -> None:
        def work(connection: Any) -> None:
            connection.execute("DELETE FROM oauth_pending WHERE expires_at <= %s", (pending.expires_at - 86400,))
            connection.execute(
                "INSERT INTO oauth_pending VALUES (%s, %s, %s) ON CONFLICT (state_digest) DO UPDATE "
                "SET request = excluded.request, expires_at = excluded.expires_at",
                (pending.state_digest, pending.request, pending.expires_at),
            )

        self.store.run(work, write=True)

    def take_pending(self, state_digest: str, now: float) -> PendingRecord | None:
        row = self.store.run(
            lambda connection: connection.execute(
                "DELETE FROM oauth_pending WHERE state_digest = %s RETURNING request, expires_at", (state_digest,)
            ).fetchone(),
            write=True,
        )
        return PendingRecord(state_digest, row[0], row[1]) if row and row[1] > now else None

    # -- codes --------------------------------------------------------------------------------------------------
    def put_code(self, code: CodeRecord) -> None:
        def work(connection: Any) -> None:
            connection.execute("DELETE FROM oauth_codes WHERE expires_at <= %s", (code.expires_at - USED_CODE_KEPT,))
            connection.execute(
                "INSERT INTO oauth_codes VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, false)",
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

        self.store.run(work, write=True)

    def take_code(self, code_digest: str, now: float) -> CodeRecord | Literal["used"] | None:
        def work(connection: Any) -> CodeRecord | Literal["used"] | None:
            row = connection.execute(
                "SELECT client_id, username, redirect_uri, code_challenge, resource, scope, expires_at, family, used "
                "FROM oauth_codes WHERE code_digest = %s FOR UPDATE",
                (code_digest,),
            ).fetchone()
            if row is None:
                return None
            if row[8]:
                return "used"
            connection.execute("UPDATE oauth_codes SET used = true WHERE code_digest = %s", (code_digest,))
            if row[6] <= now:
                return None
            return CodeRecord(code_digest, *row[:8])

        return self.store.run(work, write=True)

    # -- tokens -------------------------------------------------------------------------------------------------
    def put_token(self, token: TokenRecord) -> None:
        def work(connection: Any) -> None:
            connection.execute("DELETE FROM oauth_tokens WHERE expires_at <= %s", (token.expires_at - 90 * 86400,))
            connection.execute(
                f"INSERT INTO oauth_tokens ({_TOKEN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    token.token_digest,
                    token.kind,
                    token.client_id,
                    token.username,
                    token.resource,
                    token.scope,
                    token.family,
                    token.expires_at,
                    token.revoked,
                    token.used,
                ),
            )

        self.store.run(work, write=True)

    def token(self, token_digest: str, now: float) -> TokenRecord | None:
        row = self._one(f"SELECT {_TOKEN_COLUMNS} FROM oauth_tokens WHERE token_digest = %s", token_digest)
        return _token(row) if row is not None and row[7] > now else None

    def rotate_refresh(self, token_digest: str, now: float) -> TokenRecord | Literal["reused"] | None:
        def work(connection: Any) -> TokenRecord | Literal["reused"] | None:
            row = connection.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM oauth_tokens WHERE token_digest = %s AND kind = 'refresh' FOR UPDATE",
                (token_digest,),
            ).fetchone()
            if row is None or row[7] <= now:
                return None
            record = _token(row)
            if record.used or record.revoked:
                return "reused"
            connection.execute("UPDATE oauth_tokens SET used = true WHERE token_digest = %s", (token_digest,))
            return record

        return self.store.run(work, write=True)

    def revoke_token(self, token_digest: str) -> None:
        self._write("UPDATE oauth_tokens SET revoked = true WHERE token_digest = %s", token_digest)

    def revoke_family(self, family: str) -> int:
        return self._write("UPDATE oauth_tokens SET revoked = true WHERE family = %s AND NOT revoked", family)

    def revoke_person(self, username: str) -> int:
        def work(connection: Any) -> int:
            connection.execute("UPDATE oauth_grants SET revoked = true WHERE username = %s", (username,))
            return int(
                connection.execute(
                    "UPDATE oauth_tokens SET revoked = true WHERE username = %s AND NOT revoked", (username,)
                ).rowcount
            )

        return int(self.store.run(work, write=True))

    # -- grants -------------------------------------------------------------------------------------------------
    def put_grant(self, username: str, client_id: str, capabilities: tuple[str, ...], now: float) -> None:
        scope = scope_of(capabilities)

        def work(connection: Any) -> None:
            connection.execute(
                "INSERT INTO oauth_grants VALUES (%s, %s, %s, %s, %s, false) ON CONFLICT (username, client_id) "
                "DO UPDATE SET capabilities = excluded.capabilities, updated_at = excluded.updated_at, revoked = false",
                (username, client_id, scope, now, now),
            )
            connection.execute(
                "UPDATE oauth_tokens SET scope = %s WHERE username = %s AND client_id = %s AND NOT revoked",
                (scope, username, client_id),
            )

        self.store.run(work, write=True)

    def grants(self, username: str) -> list[GrantRecord]:
        rows = self._all(
            "SELECT client_id, capabilities, created_at, updated_at FROM oauth_grants "
            "WHERE username = %s AND NOT revoked ORDER BY created_at, client_id",
            username,
        )
        return [GrantRecord(username, row[0], tuple(row[1].split()), row[2], row[3]) for row in rows]

    def revoke_grant(self, username: str, client_id: str) -> int:
        def work(connection: Any) -> int:
            connection.execute(
                "UPDATE oauth_grants SET revoked = true WHERE username = %s AND client_id = %s", (username, client_id)
            )
            connection.execute(
                "UPDATE oauth_codes SET used = true WHERE username = %s AND client_id = %s", (username, client_id)
            )
            return int(
                connection.execute(
                    "UPDATE oauth_tokens SET revoked = true WHERE username = %s AND client_id = %s AND NOT revoked",
                    (username, client_id),
                ).rowcount
            )

        return int(self.store.run(work, write=True))

    # -- browser sessions ---------------------------------------------------------------------------------------
    def put_browser_session(self, session: BrowserSessionRecord) -> None:
        def work(connection: Any) -> None:
            connection.execute("DELETE FROM browser_sessions WHERE expires_at <= %s", (session.created_at,))
            connection.execute(
                "INSERT INTO browser_sessions VALUES (%s, %s, %s, %s)",
                (session.session_digest, session.username, session.created_at, session.expires_at),
            )

        self.store.run(work, write=True)

    def browser_session(self, session_digest: str, now: float) -> BrowserSessionRecord | None:
        row = self._one(
            "SELECT username, created_at, expires_at FROM browser_sessions WHERE session_digest = %s", session_digest
        )
        return BrowserSessionRecord(session_digest, *row) if row is not None and row[2] > now else None

    def end_browser_session(self, session_digest: str) -> None:
        self._write("DELETE FROM browser_sessions WHERE session_digest = %s", session_digest)

    def end_browser_sessions(self, username: str) -> int:
        return self._write("DELETE FROM browser_sessions WHERE username = %s", username)

    def close(self) -> None:
        """The connections belong to the guard's store, which the app closes."""
