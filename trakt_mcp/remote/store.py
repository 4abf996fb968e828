"""What multi-user mode remembers, behind one small interface: `PeopleStore`.

Plain types only (str, int, float, bytes, tuples of str, frozen dataclasses), so that another engine (PostgreSQL,
issue 23) can implement it without knowing the OAuth code. `trakt_mcp.remote.sqlite.SqlitePeopleStore` is the
implementation for one machine (a file in the state folder).

Rules every implementation keeps:
- secrets are never stored as given: OAuth codes and tokens are looked up by their SHA-256 digest (`digest()`), a
  person's Trakt token is stored sealed (AES-GCM, `trakt_mcp.remote.sealing`) and opaque to the store;
- `take_code`, `take_pending` and `rotate_refresh` are atomic across processes: of N racing callers exactly one
  gets the row;
- revocation is a row update (`revoked`), so every process sees it on its next lookup;
- every failure raises `guard.store.StoreError` naming where the state lives and the fix (fail closed).

What each person decides (issue 22): a grant (person x client -> capabilities, revocable) is stored beside the
tokens, and every live token of that person and client carries the grant's capabilities in its `scope` (a change
or a revocation is one transaction over the grant and its tokens, so every process and replica sees it on the next
lookup). Browser sessions (`trakt_mcp.remote.browser`) are stored by the digest of their cookie, with an expiry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "BrowserSessionRecord",
    "ClientRecord",
    "CodeRecord",
    "GrantRecord",
    "PendingRecord",
    "PeopleStore",
    "TokenRecord",
    "digest",
]

TokenKind = Literal["access", "refresh"]
#: How a client came to be known: a client ID metadata document we fetched, or dynamic client registration.
Registration = Literal["metadata", "dcr"]


def digest(secret: str) -> str:
    """How a code or token is looked up: its SHA-256 hex digest (the secret itself is never stored)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ClientRecord:
    """An OAuth client of this server (an MCP client such as claude.ai)."""

    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    #: "none" (public, PKCE only), "client_secret_basic" or "client_secret_post".
    auth_method: str
    registration: Registration
    created_at: float
    #: SHA-256 digest of the client secret (DCR confidential clients), else None.
    secret_digest: str | None = None
    #: For a metadata document: when it must be fetched again. None for DCR clients (they do not expire).
    refresh_after: float | None = None
    #: Where a DCR request came from (for the registration rate limit); "" for metadata documents.
    registered_from: str = ""


@dataclass(frozen=True)
class CodeRecord:
    """An authorization code: single use, short-lived, bound to client, redirect URI, PKCE challenge, resource."""

    code_digest: str
    client_id: str
    username: str
    redirect_uri: str
    code_challenge: str
    resource: str
    scope: str
    expires_at: float
    #: The refresh family the tokens issued for this code belong to (revoked if the code is replayed).
    family: str


@dataclass(frozen=True)
class TokenRecord:
    """An access or refresh token this server issued, stored by digest."""

    token_digest: str
    kind: TokenKind
    client_id: str
    username: str
    resource: str
    scope: str
    #: Every token descending from one authorization code shares a family; a reused refresh token revokes it.
    family: str
    expires_at: float
    revoked: bool = False
    #: A refresh token that was already exchanged (rotation): presenting it again is reuse.
    used: bool = False


@dataclass(frozen=True)
class PendingRecord:
    """An MCP authorization request waiting for the person's Trakt sign-in (keyed by the digest of the `state`
    sent to Trakt). `request` is the client's validated query string, replayed once the person is known."""

    state_digest: str
    request: str
    expires_at: float


@dataclass(frozen=True)
class BrowserSessionRecord:
    """A person's browser session (consent, approvals and account pages), keyed by the digest of its cookie."""

    session_digest: str
    username: str
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class GrantRecord:
    """What a person allowed one client: capability names (as ticked on the consent page, or changed since)."""

    username: str
    client_id: str
    capabilities: tuple[str, ...]
    created_at: float
    updated_at: float
    revoked: bool = False


def scope_of(capabilities: tuple[str, ...] | list[str]) -> str:
    """The OAuth `scope` that carries a grant: its capability names, sorted, space-separated."""
    return " ".join(sorted(set(capabilities)))


class PeopleStore(Protocol):
    """Everything multi-user mode keeps. `now` is unix seconds; expired codes, pendings and tokens are never
    returned (implementations may delete them as they go)."""

    #: Where the state lives, for messages and `trakt-mcp status`.
    location: str

    # -- people: Trakt username -> sealed Trakt token (None once signed out) --------------------------------------
    def sealed_trakt_token(self, username: str) -> bytes | None:
        """The person's sealed Trakt token, or None (unknown person, or signed out)."""
        ...

    def put_trakt_token(self, username: str, sealed: bytes | None, now: float) -> None:
        """Create the person if new; replace (None: remove) their sealed Trakt token."""
        ...

    def people(self) -> list[str]:
        """Every known username (for operators and key rotation)."""
        ...

    # -- clients ------------------------------------------------------------------------------------------------
    def client(self, client_id: str) -> ClientRecord | None: ...

    def put_client(self, client: ClientRecord) -> None:
        """Insert or replace (a refetched metadata document replaces the old record)."""
        ...

    def registrations_since(self, since: float, registered_from: str | None = None) -> int:
        """How many DCR clients were registered since `since` (from that address, or from anywhere)."""
        ...

    # -- authorization requests waiting for the Trakt sign-in ---------------------------------------------------
    def put_pending(self, pending: PendingRecord) -> None: ...

    def take_pending(self, state_digest: str, now: float) -> PendingRecord | None:
        """Remove and return it (exactly once across processes), or None when unknown or expired."""
        ...

    # -- authorization codes ------------------------------------------------------------------------------------
    def put_code(self, code: CodeRecord) -> None: ...

    def take_code(self, code_digest: str, now: float) -> CodeRecord | Literal["used"] | None:
        """Mark the code used and return it (exactly once); "used" when it was taken before (a replay: the caller
        revokes its family); None when unknown or expired."""
        ...

    # -- tokens -------------------------------------------------------------------------------------------------
    def put_token(self, token: TokenRecord) -> None: ...

    def token(self, token_digest: str, now: float) -> TokenRecord | None:
        """The token if known and not expired (revoked or used ones are returned too: callers check)."""
        ...

    def rotate_refresh(self, token_digest: str, now: float) -> TokenRecord | Literal["reused"] | None:
        """Mark a live refresh token used and return it (exactly once); "reused" when it was used or revoked
        before (the caller revokes the family); None when unknown or expired."""
        ...

    def revoke_token(self, token_digest: str) -> None: ...

    def revoke_family(self, family: str) -> int:
        """Revoke every token of the family; returns how many were live."""
        ...

    def revoke_person(self, username: str) -> int:
        """Revoke every token and grant of the person (all clients); returns how many tokens were live."""
        ...

    # -- grants: person x client -> capabilities ---------------------------------------------------------------
    def put_grant(self, username: str, client_id: str, capabilities: tuple[str, ...], now: float) -> None:
        """Create or replace (and un-revoke) the grant; every live token of that person and client takes its
        capabilities as its scope, in the same transaction."""
        ...

    def grants(self, username: str) -> list[GrantRecord]:
        """The person's live (not revoked) grants, oldest first."""
        ...

    def revoke_grant(self, username: str, client_id: str) -> int:
        """Revoke the grant, every token of that person and client, and their unused codes; returns how many
        tokens were live."""
        ...

    # -- browser sessions ---------------------------------------------------------------------------------------
    def put_browser_session(self, session: BrowserSessionRecord) -> None: ...

    def browser_session(self, session_digest: str, now: float) -> BrowserSessionRecord | None:
        """The session if known and not expired."""
        ...

    def end_browser_session(self, session_digest: str) -> None: ...

    def end_browser_sessions(self, username: str) -> int:
        """End every browser session of the person; returns how many there were."""
        ...

    def close(self) -> None: ...
