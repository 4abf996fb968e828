"""Where a device-code sign-in in progress waits between the call that starts it and the one that finishes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from trakt_mcp.trakt.auth import DeviceFlow


class PendingSignIns(Protocol):
    """Where the device code of a sign-in in progress waits: shared by every process on the same state folder
    (see trakt_mcp.server.guarded), so a sign-in started in one process is finished in another. The device code is a
    credential: it never reaches a log."""

    def load(self) -> DeviceFlow | None: ...

    def save(self, flow: DeviceFlow) -> None: ...

    def clear(self) -> None: ...


class InMemorySignIns:
    """This process only: for tests and hosts without a state folder."""

    def __init__(self) -> None:
        self._flow: DeviceFlow | None = None

    def load(self) -> DeviceFlow | None:
        return self._flow

    def save(self, flow: DeviceFlow) -> None:
        self._flow = flow

    def clear(self) -> None:
        self._flow = None
