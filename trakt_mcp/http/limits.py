"""HTTP under load from strangers: what one client address, and everybody together, may hold of the server.

uvicorn already bounds the header size (`h11_max_incomplete_event_size`), idle keep-alive connections
(`timeout_keep_alive`) and in-flight work (`limit_concurrency`, answered 503). It has no time limit on reading a
request and no per-address cap, so a slowloris (many connections whose headers never finish) could hold every
connection slot for as long as it liked. `LimitedH11Protocol` adds those two to uvicorn's own h11 protocol, and
`BodyLimit` refuses bodies beyond a size (Starlette reads any size).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class ConnectionLimits:
    #: Seconds a client has to send a whole request (headers and body) once it connects or its last answer ends.
    read_timeout: float = 10.0
    #: Open connections one client address may hold; more are closed at once.
    per_address: int = 32
    #: Open connections in all (further ones are closed at once), kept well under the process's file limit.
    total: int = 512
    #: Largest request header block, in bytes (uvicorn's h11 setting).
    max_header_bytes: int = 16 * 1024
    #: Largest request body, in bytes (an MCP message is a few kilobytes).
    max_body_bytes: int = 4 * 1024 * 1024
    #: Seconds an idle keep-alive connection stays open (uvicorn's setting).
    keep_alive: float = 5.0

    def fitted(self) -> ConnectionLimits:
        """These limits, with `total` lowered to half the open-file limit when that is lower (so accepting and
        closing excess connections never runs out of file descriptors)."""
        try:
            import resource
        except ImportError:  # Windows: no such limit to fit
            return self
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY or soft // 2 >= self.total:
            return self
        return ConnectionLimits(
            self.read_timeout,
            min(self.per_address, soft // 4),
            soft // 2,
            self.max_header_bytes,
            self.max_body_bytes,
            self.keep_alive,
        )

    def uvicorn_options(self) -> dict[str, Any]:
        """The limits uvicorn enforces itself, as `uvicorn.Config` keyword arguments."""
        return {
            "http": limited_protocol(self),
            "limit_concurrency": self.total,
            "timeout_keep_alive": self.keep_alive,
            "h11_max_incomplete_event_size": self.max_header_bytes,
            # asyncio accepts up to `backlog` connections in one go before any is looked at: keep that batch well
            # under the open-file limit, so a flood is shed as it comes instead of exhausting descriptors.
            "backlog": min(2048, max(16, self.total // 4)),
        }


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for reading each request and caps on open connections."""

    limits = ConnectionLimits()
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.total or self._from_same_address() > self.limits.per_address:
            # Shed before any byte is read. It stops counting at once: a burst accepted in one go must not count
            # the connections it sheds against the ones that come after it.
            self.connections.discard(self)
            transport.abort()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._request_read():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _from_same_address(self) -> int:
        host = self.client[0] if self.client else None
        return sum(1 for other in self.connections if _client_host(other) == host)

    def _request_read(self) -> bool:
        """A request is in progress and all of it (headers and body) has arrived."""
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete and not cycle.more_body

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.limits.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self._request_read():
            self.transport.abort()


def _client_host(protocol: object) -> str | None:
    client = getattr(protocol, "client", None)
    return client[0] if isinstance(client, tuple) else None


def limited_protocol(limits: ConnectionLimits) -> type[LimitedH11Protocol]:
    return type("LimitedH11Protocol", (LimitedH11Protocol,), {"limits": limits})


class BodyLimit:
    """Answers 413 to a request whose declared length is over the limit, and ends one whose streamed body grows
    past it (the app then sees the client as gone), so no request body is ever held in memory beyond the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max):
            await _too_large(send, self._max)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max:
                    return {"type": "http.disconnect"}
            return message

        await self._app(scope, bounded, send)


async def _too_large(send: Send, limit: int) -> None:
    body = f"Request body too large: at most {limit} bytes.".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
