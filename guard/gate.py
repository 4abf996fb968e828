"""The one gate: what a request may fetch from the outside world once the guard has judged it.

Whatever a server fetches for a caller, it fetches inside an *admission*: the tool the guard judged that work as,
for which caller, and why (`via`). The host's outgoing client checks `admitted()` before every request it sends
(trakt_mcp: `trakt_mcp.trakt.gate.GatedTransport`) and sends nothing outside an admission, nor beyond what the
admitted tool may reach. Admissions come from three places only:

- the guard's middleware (`guard.middleware`): a `tools/call` or `resources/read` it let through runs its handler
  inside the admission of the tool it judged (`via` "call" or "resource"); the effect sentence and readiness
  check it makes before asking a person run inside one too (`via` "ask");
- `use(tool, arguments, via)`: work that serves a caller but is not itself a call (a completion, a card's data,
  an app-only tool's look-ups) asks the guard, which judges that use for the same caller exactly as a call of
  `tool` with `arguments` (hidden, denied, argument conditions, rate limits; a rule that would ask a person refuses
  quietly, since nobody is asked about a completion), audits it, and admits the body of the `async with`;
- `owner(purpose)`: the owner's own commands at a terminal (`trakt-mcp login`, `status`), where no caller exists.
  Code that serves callers never uses it (tests/test_gate.py fails when it does).

The guard binds a judge for every request it handles (`judging`); `use` outside such a request refuses. So a new
feature that forgets the gate cannot reach the outside world: it fails closed, with a message that says so.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: The admission of the owner's own terminal commands: every endpoint, no caller.
EVERYTHING = "*"


@dataclass(frozen=True)
class Admission:
    """The guard let this work run as `tool` for `identity` (None: the local owner). `via` says which door:
    "call", "resource", "ask", "completion", "card", or "owner"."""

    tool: str
    identity: str | None
    via: str
    #: For a generic tool judged by the endpoint it reaches ("POST /sync/history/remove"): that endpoint, which the
    #: admission then reaches besides the tool's declared ones.
    endpoint: str | None = None


@dataclass(frozen=True)
class Refused:
    """The guard did not let the work run; `reason` is in plain words, fit to show the caller."""

    reason: str


#: Judges one use of a tool for the caller of the current request: (tool, arguments, via) -> admitted or refused.
Judge = Callable[[str, dict[str, Any], str], Awaitable[Admission | Refused]]

_ADMISSION: ContextVar[Admission | None] = ContextVar("guard_admission", default=None)
_JUDGE: ContextVar[Judge | None] = ContextVar("guard_judge", default=None)
NO_REQUEST = "no caller's request is being served here, so the guard cannot judge it"


def admitted() -> Admission | None:
    """The admission the current work runs in, if any (what an outgoing client checks before sending)."""
    return _ADMISSION.get()


class Bound(Generic[T]):
    """Sets a context variable for the body of a `with` and restores it after: the guard enters one of these for
    every call it lets run, so a plain class rather than a generator-based context manager."""

    __slots__ = ("_token", "_value", "_variable")

    def __init__(self, variable: ContextVar[Any], value: T) -> None:
        self._variable = variable
        self._value = value

    def __enter__(self) -> T:
        self._token = self._variable.set(self._value)
        return self._value

    def __exit__(self, *exc: object) -> None:
        self._variable.reset(self._token)


@functools.lru_cache(maxsize=4096)
def admission(tool: str, identity: str | None, via: str) -> Admission:
    """`Admission(tool, identity, via)`, one object for each (immutable, so shared): the guard admits every call it
    lets run, and building a frozen dataclass costs about a microsecond."""
    return Admission(tool, identity, via)


def admitting(admission: Admission) -> Bound[Admission]:
    """Run the body inside `admission` (the guard's middleware, after judging; `use` after a judge's yes)."""
    return Bound(_ADMISSION, admission)


def bind_judge(judge: Judge) -> Token[Judge | None]:
    """Bind the judge for every `use` made while one caller's request is served, until `unbind_judge(token)` (the
    guard's middleware, around every request: a token and try/finally cost less than a `with` block's calls)."""
    return _JUDGE.set(judge)


def unbind_judge(token: Token[Judge | None]) -> None:
    _JUDGE.reset(token)


@asynccontextmanager
async def use(tool: str, arguments: dict[str, Any], via: str) -> AsyncIterator[Admission | Refused]:
    """`async with use("search_shows", {"query": q}, "completion") as admission:` — fetch inside the body only when
    `admission` is an Admission; a Refused says why in plain words. Judged and audited as one call of `tool`."""
    judge = _JUDGE.get()
    verdict: Admission | Refused = Refused(NO_REQUEST) if judge is None else await judge(tool, arguments, via)
    if isinstance(verdict, Refused):
        yield verdict
        return
    with admitting(verdict):
        yield verdict


@contextmanager
def owner(purpose: str) -> Iterator[Admission]:
    """The owner's own command at a terminal (no caller to judge): every endpoint. Never in code serving callers."""
    with admitting(Admission(EVERYTHING, None, f"owner: {purpose}")) as admission:
        yield admission
