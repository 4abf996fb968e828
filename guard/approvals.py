"""Out-of-band approvals, for clients that cannot ask their user (no elicitation).

A blocked call leaves a pending approval in the state folder, bound to the tool and a digest of its canonical
arguments and the caller's identity. A person approves it at a real terminal (`APP approve CODE`); the next
identical call by the same caller consumes it and runs once. Approvals expire (5 minutes by default). Consuming is
an unlink, so two racing calls cannot both win. A file that is not exactly what this module writes is ignored.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from guard.audit import summarize

DEFAULT_TTL = 300.0
#: At most this many approvals wait at once: a flood of distinct calls cannot fill the disk.
MAX_WAITING = 50
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")


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


class Approvals:
    def __init__(self, folder: Path, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.ttl = ttl
        self.clock = clock

    def _file(self, code: str) -> Path:
        return self.folder / f"{code}.json"

    def _save(self, pending: Pending) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.folder / f".{pending.code}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(pending), handle)
        os.replace(temporary, self._file(pending.code))

    def _read(self, path: Path) -> Pending | None:
        try:
            pending = Pending(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        if not pending.well_formed(path.stem):
            return None
        if pending.expires <= self.clock():
            path.unlink(missing_ok=True)
            return None
        return pending

    def _live(self) -> Iterator[Pending]:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):
            pending = self._read(path)
            if pending is not None:
                yield pending

    def waiting(self) -> list[Pending]:
        """Every live approval (asked or approved, not yet used or expired), oldest first."""
        return sorted(self._live(), key=lambda pending: pending.created)

    def request(self, tool: str, arguments: dict[str, Any], action: str, identity: str | None = None) -> Pending:
        """The pending approval for this exact call by this caller: the existing one if any, else a new one."""
        key = digest(tool, arguments, identity)
        live = list(self._live())
        for pending in live:
            if pending.tool == tool and pending.digest == key and not pending.approved:
                return pending
        if len(live) >= MAX_WAITING:
            raise ApprovalError(
                f"{len(live)} approvals are already waiting for the user; no new one is issued until they are "
                "approved, declined or expire"
            )
        code = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(2))
        now = self.clock()
        arguments_shown = summarize(arguments, shorten=False)
        pending = Pending(code, tool, key, action, arguments_shown, now, now + self.ttl, identity=identity)
        self._save(pending)
        return pending

    def consume(self, tool: str, arguments: dict[str, Any], identity: str | None = None) -> Pending | None:
        """Take (single use) an approved, unexpired approval for exactly this call by this caller."""
        key = digest(tool, arguments, identity)
        for pending in self._live():
            if pending.approved and pending.tool == tool and pending.digest == key:
                try:
                    self._file(pending.code).unlink()
                except FileNotFoundError:
                    continue
                return pending
        return None

    def load(self, code: str) -> Pending:
        code = normalize_code(code)
        pending = self._read(self._file(code))
        if pending is None:
            raise ApprovalError(f"no pending approval {code}: it was never issued, was already used, or expired")
        return pending

    def decide(self, code: str, approve: bool) -> Pending:
        pending = self.load(code)
        if approve:
            pending.approved = True
            self._save(pending)
        else:
            self._file(pending.code).unlink(missing_ok=True)
        return pending
