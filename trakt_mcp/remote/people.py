"""Each remote person's own Trakt access, and who the current caller is.

A person is known by their Trakt username; it is their guard identity too. Their Trakt token lives sealed in the
people store (`PersonTokens`) and never leaves the server. Each person gets their own `AuthManager` (so a refresh
is single-flight per person, and a pair another process refreshed is adopted), and `CallerAuth` stands in for the
one `app.auth` the tools use: every method acts for the person the current MCP request belongs to
(`bind_person`, a server middleware, sets it from the verified bearer token). With nobody bound it refuses:
in multi-user mode the operator's own Trakt sign-in is never used.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

import httpx
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.context import CallNext, HandlerResult

from guard.store import StoreError
from trakt_mcp.remote.sealing import Sealer, SealingError
from trakt_mcp.remote.store import PeopleStore
from trakt_mcp.settings import Settings
from trakt_mcp.trakt.auth import AuthManager, PollResult, SignOut
from trakt_mcp.trakt.errors import NotSignedIn, TraktError
from trakt_mcp.trakt.signins import DeviceFlow, InMemorySignIns
from trakt_mcp.trakt.tokens import Token, TokenStoreError

#: The person the current MCP request acts for (None: nobody, e.g. outside a request).
CURRENT_PERSON: contextvars.ContextVar[str | None] = contextvars.ContextVar("trakt_mcp_person", default=None)
#: What AccessToken.claims carries to mark a person's token (the subject is the Trakt username).
PERSON_CLAIM = "trakt_username"
RECONNECT = (
    "You are signed in through this server's sign-in page: to use another Trakt account, remove the connector in "
    "your app and add it again."
)


def person_of(user: Any) -> str | None:
    """The person a verified bearer token belongs to, or None (not a person's token)."""
    if isinstance(user, AuthenticatedUser) and user.access_token.claims:
        name = user.access_token.claims.get(PERSON_CLAIM)
        return name if isinstance(name, str) else None
    return None


class PersonTokens:
    """A person's Trakt token in the people store, sealed with the server's key (a `TokenStore`)."""

    def __init__(self, store: PeopleStore, sealer: Sealer, username: str, now: Callable[[], float]) -> None:
        self._store, self._sealer, self.username, self._now = store, sealer, username, now
        self.description = f"the people store {store.location} (sealed, AES-GCM)"

    def load(self) -> Token | None:
        try:
            sealed = self._store.sealed_trakt_token(self.username)
            return None if sealed is None else Token.from_json(self._sealer.open(sealed, self.username), "")
        except (StoreError, SealingError) as exc:
            raise TokenStoreError(f"Your Trakt sign-in cannot be read: {exc}.") from None

    def save(self, token: Token) -> None:
        try:
            self._store.put_trakt_token(self.username, self._sealer.seal(token.to_json(), self.username), self._now())
        except StoreError as exc:
            raise TokenStoreError(f"Your Trakt sign-in cannot be saved: {exc}.") from None

    def clear(self) -> bool:
        had = self._store.sealed_trakt_token(self.username) is not None
        self._store.put_trakt_token(self.username, None, self._now())
        return had


class People:
    """One AuthManager per person, made on first use."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        store: PeopleStore,
        sealer: Sealer,
        redirect_uri: str,
        now: Callable[[], float],
    ) -> None:
        self.settings, self.http, self.store, self.sealer = settings, http, store, sealer
        self.redirect_uri, self.now = redirect_uri, now
        self._managers: dict[str, AuthManager] = {}
        self._lock = threading.Lock()

    def tokens(self, username: str) -> PersonTokens:
        return PersonTokens(self.store, self.sealer, username, self.now)

    def manager(self, username: str) -> AuthManager:
        with self._lock:
            manager = self._managers.get(username)
            if manager is None:
                manager = AuthManager(
                    self.settings,
                    self.http,
                    store=self.tokens(username),
                    now=self.now,
                    pending=InMemorySignIns(),
                    redirect_uri=self.redirect_uri,
                )
                self._managers[username] = manager
            return manager

    def signed_in(self, username: str, token: Token) -> Token | None:
        """Keep the person's new Trakt token (sealed) and return the one it replaces. This process's manager for
        them starts afresh from the store; other processes adopt the new pair when Trakt refuses the old one."""
        stored = self.tokens(username)
        previous = stored.load()
        stored.save(token)
        with self._lock:
            self._managers.pop(username, None)
        return previous

    def current(self) -> AuthManager:
        username = CURRENT_PERSON.get()
        if username is None:
            raise NotSignedIn(
                "This server serves people who signed in through its sign-in page; this request carries no "
                "person's token, so nothing was sent to Trakt."
            )
        return self.manager(username)


class CallerAuth(AuthManager):
    """`app.auth` in multi-user mode: each method acts for the current request's person."""

    def __init__(self, people: People) -> None:
        super().__init__(people.settings, people.http, store=people.tokens(""), now=people.now)
        self.people = people

    def _for(self) -> AuthManager:
        manager = self.people.current()
        manager.progress = self.progress
        return manager

    @property
    def store(self) -> PersonTokens:
        return self.people.tokens(CURRENT_PERSON.get() or "")

    @property
    def pending(self) -> DeviceFlow | None:
        return None

    def token(self) -> Token | None:
        return self._for().token()

    async def access_token(self) -> str:
        return await self._for().access_token()

    async def refresh_after_unauthorized(self, rejected: str) -> str:
        return await self._for().refresh_after_unauthorized(rejected)

    async def start_device(self) -> DeviceFlow | Token:
        token = self._for().token()
        if token is not None:
            return token
        raise TraktError(RECONNECT)

    async def poll(self) -> PollResult:
        raise TraktError(RECONNECT)

    async def sign_out(self) -> SignOut:
        """Revoke the person's Trakt token at Trakt and every token this server issued them."""
        username = CURRENT_PERSON.get()
        done = await self._for().sign_out()
        if username is not None:
            try:
                self.people.store.revoke_person(username)
            except StoreError as exc:
                raise TraktError(
                    f"Signed out of Trakt, but this server's tokens could not be revoked: {exc}."
                ) from None
        return done


async def bind_person(ctx: Any, call_next: CallNext) -> HandlerResult:
    """Server middleware: the request's person (from the verified bearer token) for everything it runs."""
    scope = getattr(ctx.request, "scope", None)
    person = person_of(scope.get("user")) if isinstance(scope, dict) else None
    token = CURRENT_PERSON.set(person)
    try:
        return await call_next(ctx)
    finally:
        CURRENT_PERSON.reset(token)
