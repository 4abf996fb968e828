"""Progress of a long wait, told to the client as `notifications/progress` when its request carried a progress
token (and to nobody otherwise): approvals waiting for a person, and whatever the host wires in (paging, rate-limit
waits, sign-in polling).

The guard binds each request it sees (`bind`), so any code running for that request can call `report()` without
holding the request's context:

    from guard.progress import report
    await report("Waiting for the owner's approval (30 s of 300 s)", progress=30, total=300)

Progress values only grow within a request (the spec requires it): a report whose `progress` is not above the
last one sent is raised to just above it. Waits stay cancellable: `report` never blocks on a slow client for long.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from typing import Any

import anyio

log = logging.getLogger("guard.progress")

#: A client too slow to take a progress notification does not hold up the wait it reports on.
SEND_TIMEOUT = 1.0


class Progress:
    """One request's progress reports."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._last = 0.0

    async def report(self, message: str, *, progress: float | None = None, total: float | None = None) -> None:
        value = self._last + 1 if progress is None or progress <= self._last else float(progress)
        self._last = value
        try:
            with anyio.move_on_after(SEND_TIMEOUT):
                await self._session.report_progress(value, total, message)
        except Exception as exc:  # a closed stream: the wait goes on, unreported
            log.debug("progress not delivered: %s", exc)


_current: ContextVar[Progress | None] = ContextVar("mcp_request_progress", default=None)


def bind(session: Any) -> Token[Progress | None]:
    """Make `report()` speak for the request `session` serves, until `unbind(token)`."""
    return _current.set(Progress(session))


def unbind(token: Token[Progress | None]) -> None:
    _current.reset(token)


async def report(message: str, *, progress: float | None = None, total: float | None = None) -> None:
    """Tell the client of the request being served how a wait is going; a no-op outside a request, or when the
    client asked for no progress."""
    current = _current.get()
    if current is not None:
        await current.report(message, progress=progress, total=total)
