"""The audit trail of several replicas: every line goes to the PostgreSQL store's append-only `guard_audit` table,
so `trakt-mcp audit` on any machine shows every replica's decisions in order. The lines are chained exactly as the
JSONL file's are (guard.auditchain: `seq`, and an HMAC over the line and the previous line's tag), one chain for
the whole table: the store takes an advisory lock, reads the last row's link and appends the next, so replicas
writing at once still make one unbroken chain (the key derives from `guard.key`, which every replica shares).
The replica's own JSONL file is still written too, with its own chain (for log shippers, and so no line is lost
while the database is away: a failed insert is logged)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from guard.audit import AuditLog
from guard.auditchain import GENESIS, Link, chain_key, tag, unseal
from guard.store import StoreError

log = logging.getLogger("guard")


class AuditTable(Protocol):
    """What the PostgreSQL store offers for audit lines (`guard.store.postgres.PostgresStore`)."""

    location: str

    def append_audit(self, record: Mapping[str, Any], key: bytes | None) -> None: ...

    def audit_tail(self, count: int | None) -> list[str]: ...


class TableAudit:
    def __init__(self, table: AuditTable, local: AuditLog | None = None, key: Callable[[], bytes] | None = None):
        self.table = table
        self.local = local
        self.location = f"table guard_audit in {table.location}"
        self._key = key
        self._chain_key: bytes | None = None

    def write(self, entry: Mapping[str, Any]) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        try:
            if self._chain_key is None and self._key is not None:
                self._chain_key = chain_key(self._key())
            self.table.append_audit(record, self._chain_key)
        except StoreError as exc:
            log.error("audit line not written to the database (it is in this replica's JSONL file): %s", exc)
        if self.local is not None:
            self.local.write(record)

    def tail(self, count: int) -> Iterator[dict[str, Any]]:
        """The latest `count` lines of every replica, oldest first (raises StoreError when the database is away)."""
        return _parsed(self.table.audit_tail(count))

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every line, oldest first."""
        return _parsed(self.table.audit_tail(None))


def _parsed(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            yield json.loads(line)
        except ValueError:
            continue


@dataclass
class TableReport:
    rows: int = 0
    unchained: int = 0
    last: Link | None = None
    breaks: list[str] = field(default_factory=list)


def verify_rows(lines: Iterable[str], secret: bytes) -> TableReport:
    """Walk the table's chain from its first row; the first break is reported by row number."""
    key = chain_key(secret)
    report = TableReport()
    previous: Link | None = None
    for number, line in enumerate(lines, 1):
        report.rows += 1
        sealed = unseal(line.encode("ascii", errors="replace"))
        if sealed is None or sealed.seq is None:
            if previous is None:
                report.unchained += 1  # written before the chain began: counted, not judged
                continue
            report.breaks.append(f"row {number}: no chain tag or sequence number (the row was changed)")
            return report
        if previous is None:
            follows = sealed.prev or GENESIS
            if report.unchained == 0 and follows != GENESIS:
                report.breaks.append(f"row {number}: the chain's first row follows a line the table does not hold")
                return report
        else:
            follows = previous.tag
            if sealed.seq != previous.seq + 1:
                report.breaks.append(f"row {number}: seq {sealed.seq} where {previous.seq + 1} was expected")
                return report
        if not hmac.compare_digest(sealed.tag, tag(key, follows, sealed.body)):
            report.breaks.append(f"row {number}: its tag does not match (the row was changed or inserted)")
            return report
        previous = Link(sealed.seq, sealed.tag)
    report.last = previous
    return report
