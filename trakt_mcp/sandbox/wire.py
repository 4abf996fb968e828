"""What the fake's routes and the fake itself share: a request as a route sees it, a route's reply, an issued token,
pagination as Trakt does it, and `FakeServer`, the part of the fake a route may use. A floor below both the fake
(which dispatches) and the routes (which answer), so neither imports the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trakt_mcp.sandbox.state import SandboxState


class FakeServer(Protocol):
    """The fake Trakt as its routes see it: the clock, the OAuth bookkeeping and the sandbox account."""

    client_id: str
    client_secret: str
    auto_approve: bool
    clock: Callable[[], float]
    verification_url: str | None
    tokens: dict[str, IssuedToken]
    refresh_tokens: dict[str, IssuedToken]
    state: SandboxState
    #: The sign-in page's other accounts (alice, bob) and the authorization codes waiting for a token.
    people: dict[str, SandboxState]
    codes: dict[str, tuple[str, str, float]]

    def issue_token(self, expires_in: int = ..., account: str | None = ...) -> IssuedToken: ...

    def state_for(self, access_token: str | None) -> SandboxState: ...

    def token_json(self, token: IssuedToken) -> dict[str, Any]: ...

    def revoke(self, access_token: str) -> None: ...


@dataclass
class IssuedToken:
    access_token: str
    refresh_token: str
    expires_at: float
    created_at: int
    #: Whose token: one of the sandbox's other accounts (alice, bob), or None for the sandbox's own user.
    account: str | None = None


@dataclass
class Reply:
    """What a fake route answers: JSON data, a status, extra headers."""

    data: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: A page instead of JSON (the sandbox's Trakt sign-in page).
    html: str | None = None


@dataclass
class FakeRequest:
    fake: FakeServer
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    token: str | None

    def int_query(self, name: str, default: int) -> int:
        try:
            return int(self.query.get(name, default))
        except ValueError:
            return default

    @property
    def extended(self) -> set[str]:
        return set(filter(None, self.query.get("extended", "").split(",")))


def error(status: int, message: str, **extra: Any) -> Reply:
    return Reply({"error": message, **extra}, status=status)


def paginated(request: FakeRequest, items: list[Any], default_limit: int = 10, *, optional: bool = False) -> Reply:
    """Slice `items` as Trakt does (`page`, `limit` capped at 100) and add the X-Pagination-* headers.

    `optional`: Trakt's "pagination optional" endpoints (sync ratings, sync watchlist) answer every item, with no
    pagination headers, when neither `page` nor `limit` is sent."""
    if optional and "page" not in request.query and "limit" not in request.query:
        return Reply(items)
    page = max(request.int_query("page", 1), 1)
    limit = min(max(request.int_query("limit", default_limit), 1), 100)
    page_count = max((len(items) + limit - 1) // limit, 1)
    start = (page - 1) * limit
    headers = {
        "X-Pagination-Page": str(page),
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Page-Count": str(page_count),
        "X-Pagination-Item-Count": str(len(items)),
    }
    return Reply(items[start : start + limit], headers=headers)
