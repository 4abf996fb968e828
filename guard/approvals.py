"""Out-of-band approvals, for clients that cannot ask their user (no elicitation), and the modern era's pending
questions: both kept in the state store, so every process sharing it (servers, `call`, `approve`) agrees and a
restart loses none.

A blocked call leaves a pending approval bound to the tool, a digest of its canonical arguments and the caller's
identity. A person approves it at a real terminal (`APP approve CODE`); the next identical call by the same caller
consumes it and runs once. Approvals expire (5 minutes by default). Consuming is an atomic take from the store, so
two racing calls (in any processes) cannot both win. Each approval carries an integrity tag (HMAC-SHA256 with a key
kept 0600 in the state folder): a record that is not exactly what this module wrote, such as one written by hand
with `approved: true`, is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from guard.audit import summarize
from guard.store import Record, Store, StoreFull

DEFAULT_TTL = 300.0
#: At most this many approvals wait at once: a flood of distinct calls cannot fill the disk.
MAX_WAITING = 50
#: At most this many modern-era questions wait for an answer at once (a flood drops the oldest).
MAX_PENDING = 1000
APPROVAL = "approval"
QUESTION = "question"
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")
Key = bytes | Callable[[], bytes]


class ApprovalError(Exception):
    """An approval code that is unknown, malformed or expired; the message says so plainly."""


def digest(tool: str, arguments: dict[str, Any], identity: str | None = None) -> str:
    """Binds a confirmation to the caller, the tool and its exact arguments."""
    canonical = json.dumps(
        [tool, arguments, identity], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def normalize_code(code: str) -> str:
    compact = re.sub(r"[\s-]", "", code).upper()
    formatted = f"{compact[:4]}-{compact[4:]}"
    if not _CODE.match(formatted):
        raise ApprovalError(f"{code!r} is not an approval code (expected something like ABCD-2345)")
    return formatted


@dataclass
class Pending:
    code: str
    tool: str
    digest: str
    action: str
    arguments: Any
    created: float
    expires: float
    approved: bool = False
    identity: str | None = None

    def well_formed(self, code: str) -> bool:
        """Exactly what `_save` writes, under its own code's file name (anything else is ignored, never trusted)."""
        texts = (self.tool, self.digest, self.action)
        times = (self.created, self.expires)
        return (
            self.code == code
            and _CODE.match(code) is not None
            and all(isinstance(text, str) for text in texts)
            and all(isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) for t in times)
            and isinstance(self.approved, bool)
            and (self.identity is None or isinstance(self.identity, str))
        )


def _signature(key: bytes, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


class Approvals:
    """`key`: the integrity key, or a function that reads it (called on first use, so a problem with it blocks the
    call that needs an approval, with the message saying how to fix it).

    `kind`: the store's record kind, so that approvals answered by different people never mix: the owner's
    (`approval`, answered at a terminal) and each caller's own (e.g. a remote person's, answered on a web page);
    a kind other than the owner's is part of what the integrity tag covers, so a record moved between kinds is
    ignored. `kept`: how long an expired approval stays readable (`lookup`), so that a page can say "expired"
    rather than "unknown"; it is never consumed or approved once expired. `max_waiting`: live approvals of this
    kind at once (default MAX_WAITING)."""

    def __init__(
        self,
        store: Store,
        key: Key,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        *,
        kind: str = APPROVAL,
        kept: float = 0.0,
        max_waiting: int | None = None,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self._key = key
        self.kind = kind
        self.kept = kept
        self._max_waiting = max_waiting

    @property
    def max_waiting(self) -> int:
        """Live approvals of this kind at once (MAX_WAITING unless given)."""
        return MAX_WAITING if self._max_waiting is None else self._max_waiting

    @property
    def key(self) -> bytes:
        if callable(self._key):
            self._key = self._key()
        return self._key

    def _tag(self, pending: Pending) -> str:
        fields = asdict(pending)
        return _signature(self.key, fields if self.kind == APPROVAL else {**fields, "kind": self.kind})

    def _save(self, pending: Pending, *, cap: int | None = None) -> None:
        record = {**asdict(pending), "tag": self._tag(pending)}
        self.store.put(self.kind, pending.code, record, pending.expires + self.kept, self.clock(), cap=cap)

    def _verified(self, code: str, record: Record | None, *, expired: bool = False) -> Pending | None:
        """The approval in a record, if it is exactly one this module wrote under this code (tag included), and
        unexpired unless `expired`."""
        if record is None:
            return None
        tag = record.pop("tag", None)
        try:
            pending = Pending(**record)
        except TypeError:
            return None
        if not pending.well_formed(code) or not isinstance(tag, str):
            return None
        if not hmac.compare_digest(tag, self._tag(pending)):
            return None
        return pending if expired or pending.expires > self.clock() else None

    def _live(self) -> list[Pending]:
        found = (self._verified(code, record) for code, record in self.store.items(self.kind, self.clock()))
        return [pending for pending in found if pending is not None]

    def waiting(self) -> list[Pending]:
        """Every live approval, oldest first (for listing)."""
        return self._live()

    def request(self, tool: str, arguments: dict[str, Any], action: str, identity: str | None = None) -> Pending:
        """The pending approval for this exact call by this caller: the existing one if any, else a new one."""
        key = digest(tool, arguments, identity)
        live = self._live()
        for pending in live:
            if pending.tool == tool and pending.digest == key and not pending.approved:
                return pending
        code = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(2))
        now = self.clock()
        arguments_shown = summarize(arguments, shorten=False)
        pending = Pending(code, tool, key, action, arguments_shown, now, now + self.ttl, identity=identity)
        try:
            if len(live) >= self.max_waiting:
                raise StoreFull(f"{len(live)} approvals")
            # Expired approvals kept for reading would count against a cap in the store: the count above holds it.
            self._save(pending, cap=None if self.kept else self.max_waiting)
        except StoreFull:
            raise ApprovalError(
                f"{max(len(live), self.max_waiting)} approvals are already waiting for the user; no new one is "
                "issued until they are approved, declined or expire"
            ) from None
        return pending

    def consume(self, tool: str, arguments: dict[str, Any], identity: str | None = None) -> Pending | None:
        """Take (single use) an approved, unexpired approval for exactly this call by this caller."""
        key = digest(tool, arguments, identity)
        for pending in self._live():
            if pending.approved and pending.tool == tool and pending.digest == key:
                taken = self._verified(pending.code, self.store.pop(self.kind, pending.code, self.clock()))
                if taken is not None and taken.approved:
                    return taken
        return None

    def restore(self, pending: Pending) -> None:
        """Give back an approval `consume` took, when its call could not run after all (until it expires)."""
        if pending.expires > self.clock():
            self._save(pending)

    def lookup(self, code: str) -> Pending | None:
        """The approval under this code, live or expired but still kept (`kept`); None when unknown, used,
        declined, malformed or not this module's. The caller compares `expires` with the clock."""
        try:
            code = normalize_code(code)
        except ApprovalError:
            return None
        return self._verified(code, self.store.get(self.kind, code, self.clock()), expired=True)

    def load(self, code: str) -> Pending:
        code = normalize_code(code)
        pending = self._verified(code, self.store.get(self.kind, code, self.clock()))
        if pending is None:
            raise ApprovalError(f"no pending approval {code}: it was never issued, was already used, or expired")
        return pending

    def decide(self, code: str, approve: bool) -> Pending:
        pending = self.load(code)
        if approve:
            pending.approved = True
            self._save(pending)
        else:
            self.store.delete(self.kind, pending.code)
        return pending


class Questions:
    """Modern-era confirmations: the guard answers a call with a question and a single-use nonce; the client's
    retry must bring the nonce back, for the same call by the same caller, before it expires."""

    def __init__(self, store: Store, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock

    def ask(self, tool: str, digest: str) -> str:
        nonce = secrets.token_urlsafe(16)
        record = {"tool": tool, "digest": digest}
        now = self.clock()
        self.store.put(QUESTION, nonce, record, now + self.ttl, now, cap=MAX_PENDING, evict=True)
        return nonce

    def answer(self, nonce: str, tool: str, digest: str) -> bool:
        """True, exactly once, when `nonce` is a pending question asked for this very call (`digest` binds the
        arguments and the caller). A retry for another call or caller is refused and leaves the question
        unanswered: someone replaying another identity's request state cannot burn that identity's question."""
        now = self.clock()
        if self.store.get(QUESTION, nonce, now) != {"tool": tool, "digest": digest}:
            return False
        return self.store.pop(QUESTION, nonce, now) == {"tool": tool, "digest": digest}

    def waiting(self) -> int:
        return len(self.store.items(QUESTION, self.clock()))
