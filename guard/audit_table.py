"""The audit trail of several replicas: every line goes to the PostgreSQL store's append-only `guard_audit` table,
so `trakt-mcp audit` on any machine shows every replica's decisions in order. The replica's own JSONL file is still
written too (for log shippers, and so no line is lost while the database is away: a failed insert is logged)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from guard.audit import AuditLog
from guard.store import StoreError

log = logging.getLogger("guard")


class AuditTable(Protocol):
    """What the PostgreSQL store offers for audit lines (`guard.store.postgres.PostgresStore`)."""

    location: str

    def append_audit(self, line: str) -> None: ...

    def audit_tail(self, count: int) -> list[str]: ...


class TableAudit:
    def __init__(self, table: AuditTable, local: AuditLog | None = None) -> None:
        self.table = table
        self.local = local
        self.location = f"table guard_audit in {table.location}"

    def write(self, entry: Mapping[str, Any]) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        try:
            self.table.append_audit(json.dumps(record, ensure_ascii=True, default=str))
        except StoreError as exc:
            log.error("audit line not written to the database (it is in this replica's JSONL file): %s", exc)
        if self.local is not None:
            self.local.write(record)

    def tail(self, count: int) -> Iterator[dict[str, Any]]:
        """The latest `count` lines of every replica, oldest first (raises StoreError when the database is away)."""
        for line in self.table.audit_tail(count):
            try:
                yield json.loads(line)
            except ValueError:
                continue
