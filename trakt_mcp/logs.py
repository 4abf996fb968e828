"""Logging for the process: to stderr (in stdio mode stdout carries the MCP protocol), and to the MCP client that
asked for it (`logging/setLevel`), as `notifications/message` on the request being served. Both outputs pass
through `redact`, so a token, a client secret or a device code never reaches a log line."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

#: Our own loggers: these (not the SDK's or httpx's) are what a client sees.
CLIENT_LOGGERS = ("trakt_mcp", "guard")
#: MCP's syslog levels, by Python level.
MCP_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO + 5,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL + 5,
    "emergency": logging.CRITICAL + 10,
}
#: Before a client says otherwise (handshake era), it hears warnings and worse.
DEFAULT_CLIENT_LEVEL = "warning"
#: From this protocol version on, a request opts in to log lines itself (`_meta`), and `logging/setLevel` is gone.
MODERN_ERA = "2026-07-28"
LOG_LEVEL_META_KEY = "io.modelcontextprotocol/logLevel"
#: A client too slow to take a log line does not hold up the request it belongs to.
FLUSH_TIMEOUT = 1.0

_SECRETS = (
    # Authorization headers, and key=value / "key": "value" pairs whose key names a secret.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)([\"']?\b(?:access_token|refresh_token|client_secret|device_code|user_code|code|token|password|"
            r"authorization|trakt-api-key)[\"']?\s*[:=]\s*[\"']?)[^\"'\s&,;}]+"
        ),
        r"\1[redacted]",
    ),
    # Trakt's tokens and codes: long runs of hex.
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[redacted]"),
)


def redact(text: str) -> str:
    """The text with anything that looks like a secret replaced by `[redacted]`."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: int = logging.INFO, *, for_person: bool = False) -> None:
    """Logs go to stderr at `level`; our loggers pass lower records on only when a client asked for them. A command
    a person reads (`for_person`) gets plain `trakt-mcp: message` lines, not a server log's time and logger."""
    handler = logging.StreamHandler(sys.stderr)
    layout = "trakt-mcp: %(message)s" if for_person else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(_RedactingFormatter(layout))
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(min(level, logging.getLogger(name).getEffectiveLevel()))
    logging.getLogger("httpx").setLevel(logging.WARNING if level > logging.DEBUG else logging.DEBUG)
    # httpcore's debug lines carry the API's raw response headers (a redirect's Location, cookies): never shown.
    logging.getLogger("httpcore").setLevel(logging.WARNING)


# --- to the client -----------------------------------------------------------------------------------------------

Send = Callable[[str, Any, str], Awaitable[None]]


@dataclass
class _Sink:
    """Where the request being served sends its log lines, and the level its connection asked for."""

    send: Send
    threshold: int
    pending: set[asyncio.Task[None]] = field(default_factory=set)

    async def flush(self) -> None:
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=FLUSH_TIMEOUT)


_sink: ContextVar[_Sink | None] = ContextVar("mcp_client_log", default=None)
#: The level each connection set with logging/setLevel (keyed by the SDK's connection object).
_levels: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def mcp_level(levelno: int) -> str:
    return next((name for name, number in reversed(MCP_LEVELS.items()) if levelno >= number), "debug")


class ClientLogHandler(logging.Handler):
    """Sends each record of our loggers to the client of the request it was logged in, redacted."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _sink.get()
        if sink is None or record.levelno < sink.threshold:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # logged from a worker thread: stderr only
            return
        try:
            text = redact(record.getMessage())
        except Exception:
            self.handleError(record)
            return
        task = loop.create_task(_deliver(sink, mcp_level(record.levelno), text, record.name))
        sink.pending.add(task)
        task.add_done_callback(sink.pending.discard)


async def _deliver(sink: _Sink, level: str, text: str, logger: str) -> None:
    try:
        await sink.send(level, text, logger)
    except Exception:  # a closed stream or a client gone: the line is still on stderr
        return


_handler = ClientLogHandler()


def _connection(ctx: Any) -> Any:
    # The SDK hands handlers a per-request session proxy; the connection behind it is what a level belongs to.
    return getattr(ctx.session, "_connection", ctx.session)


def _allow(threshold: int) -> None:
    """Let our loggers create records down to `threshold` (stderr keeps its own level on its handler)."""
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if _handler not in logger.handlers:
            logger.addHandler(_handler)
        if logger.getEffectiveLevel() > threshold:
            logger.setLevel(threshold)


async def set_level(ctx: Any, params: Any) -> dict[str, Any]:
    """`logging/setLevel`: this connection hears records at `params.level` and above from now on."""
    level = str(params.level)
    _levels[_connection(ctx)] = level
    _allow(MCP_LEVELS[level])
    return {}


async def client_logging(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    """Middleware: records logged while a request is served go to its client as `notifications/message` on that
    request's stream, at the level the connection set (handshake era) or the request asked for (modern era)."""
    level = _client_level(ctx)
    if ctx.request_id is None or level is None:
        return await call_next(ctx)
    session, request_id = ctx.session, ctx.request_id

    async def send(level_name: str, data: Any, logger: str) -> None:
        from mcp import types

        params = types.LoggingMessageNotificationParams(level=level_name, data=data, logger=logger)  # type: ignore[arg-type]
        notification = types.LoggingMessageNotification(params=params)
        await session.send_notification(notification, related_request_id=request_id)

    sink = _Sink(send, MCP_LEVELS[level])
    _allow(sink.threshold)
    token = _sink.set(sink)
    try:
        return await call_next(ctx)
    finally:
        _sink.reset(token)
        await sink.flush()


def _client_level(ctx: Any) -> str | None:
    """The lowest level this request's client wants to hear, or None for nothing."""
    if str(ctx.protocol_version) >= MODERN_ERA:
        meta = ctx.params.get("_meta") if isinstance(ctx.params, Mapping) else None
        requested = meta.get(LOG_LEVEL_META_KEY) if isinstance(meta, Mapping) else None
        return requested if requested in MCP_LEVELS else None
    return _levels.get(_connection(ctx), DEFAULT_CLIENT_LEVEL)
