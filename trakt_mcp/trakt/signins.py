"""Where a device-code sign-in in progress waits between the call that starts it and the one that finishes it."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Protocol


@dataclass
class DeviceFlow:
    """A device-code sign-in in progress: what the person is shown, and when to poll Trakt next."""

    #: With the client secret it fetches the token, so it stays out of reprs (logs, tracebacks).
    device_code: str = dataclass_field(repr=False)
    user_code: str
    verification_url: str
    expires_at: float
    interval: float
    next_poll_at: float


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
