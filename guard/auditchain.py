"""The audit log's tamper evidence: every line carries `seq` (one more than the line before it, across files) and
`tag`, an HMAC-SHA256 over the line's own bytes and the previous line's tag, keyed with a key derived from the
state folder's secret (`guard.key`). The first line of each file also names the tag it follows (`prev`), so the
chain carries across rotation and a file whose first lines were cut off says so.

Without the key nobody can change, drop, insert, reorder or append a line without breaking the chain at that
line. Cutting lines off the end leaves a valid chain, so the writer also tells a `Head` (the state store) the last
link it wrote; `guard.auditverify` compares the log's end against it. Someone with the key (the same user, in a
shell) can rewrite the whole chain and the head: the chain proves the log was not edited by anyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from guard.home import open_private

#: The tag the first line ever written follows.
GENESIS = "genesis"
_LABEL = b"trakt-mcp audit chain v1"
_SEALED = re.compile(rb'^(?P<body>\{.*), "tag": "(?P<tag>[0-9a-f]{64})"\}$', re.S)
_CHUNK = 65_536


@dataclass(frozen=True)
class Link:
    """Where the chain stands: the last line's sequence number and tag."""

    seq: int
    tag: str


START = Link(0, GENESIS)


class Head(Protocol):
    """Remembers the last link written, outside the log (so a cut tail shows)."""

    def remember(self, link: Link) -> None: ...

    def recall(self) -> Link | None: ...


def chain_key(secret: bytes) -> bytes:
    """The audit chain's own key, derived from the state folder's secret (approvals use the secret for another job)."""
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def tag(key: bytes, previous: str, body: bytes) -> str:
    return hmac.new(key, previous.encode("ascii") + b"\n" + body, hashlib.sha256).hexdigest()


def seal(
    key: bytes, record: Mapping[str, Any], previous: Link, first_in_file: bool, encoded: str | None = None
) -> tuple[bytes, Link]:
    """The line to append for `record` after `previous`, and the link it makes. `encoded`: the record as the
    writer already serialised it (`json.dumps(record, ensure_ascii=True, default=str)`), which the chained fields
    are appended to instead of serialising the record a second time: the same bytes either way."""
    if encoded is None or not record or "seq" in record or "prev" in record:
        fields = {**record, "seq": previous.seq + 1}
        if first_in_file:
            fields["prev"] = previous.tag
        body = json.dumps(fields, ensure_ascii=True, default=str).encode("ascii")
    else:
        chained = f', "seq": {previous.seq + 1}'
        if first_in_file:
            chained += ', "prev": ' + json.dumps(previous.tag, ensure_ascii=True)
        body = (encoded[:-1] + chained + "}").encode("ascii")
    own = tag(key, previous.tag, body)
    return body[:-1] + b', "tag": "' + own.encode("ascii") + b'"}\n', Link(previous.seq + 1, own)


@dataclass(frozen=True)
class Sealed:
    """One line of the log taken apart: the bytes its tag covers, the tag, and the fields that place it."""

    body: bytes
    tag: str
    seq: int | None
    prev: str | None


def unseal(line: bytes) -> Sealed | None:
    """The parts of a chained line; None when the line carries no well-formed tag."""
    found = _SEALED.match(line)
    if found is None:
        return None
    body = found["body"] + b"}"
    try:
        fields = json.loads(body)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    seq = fields.get("seq")
    prev = fields.get("prev")
    return Sealed(
        body,
        found["tag"].decode("ascii"),
        seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        prev if isinstance(prev, str) else None,
    )


def last_line(path: Path) -> bytes | None:
    """The file's last line (without its newline), read from the end; None when the file is missing or empty."""
    try:
        fd = open_private(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        tail = b""
        position = end
        while position > 0:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            if tail.rstrip(b"\n").rfind(b"\n") >= 0:
                break
    text = tail.rstrip(b"\n")
    return text[text.rfind(b"\n") + 1 :] if text else None


def last_link(path: Path) -> Link | None:
    """The link a file ends with; None when it is empty, missing, or ends with an unchained (older) line."""
    line = last_line(path)
    sealed = unseal(line) if line is not None else None
    if sealed is None or sealed.seq is None:
        return None
    return Link(sealed.seq, sealed.tag)


class StoreHead:
    """The last link, kept as a record in the guard's state store (shared by every process on the home). It never
    expires; it is read and written at time 0, so that writing it never purges another record by a clock of its
    own (tests run the rest of the store on a fake one)."""

    KIND = "audit_head"
    FOREVER = 1e15

    def __init__(self, store: Any, name: str) -> None:
        self.store = store
        self.name = name

    def remember(self, link: Link) -> None:
        self.store.put(self.KIND, self.name, {"seq": link.seq, "tag": link.tag}, self.FOREVER, 0.0)

    def recall(self) -> Link | None:
        record = self.store.get(self.KIND, self.name, 0.0)
        if not record or not isinstance(record.get("seq"), int) or not isinstance(record.get("tag"), str):
            return None
        return Link(record["seq"], record["tag"])
