"""Quick start over stdio: answer the client's `initialize` and `tools/list` while the MCP SDK is still loading.

Importing the MCP SDK takes about half a second on a small machine, and an MCP client shows no tools until it
has those two answers. So, before anything heavy is imported, this module reads stdin itself; if the previous
start with exactly the same code, policy file and settings left a snapshot of those two answers, it sends them
at once. Meanwhile the server is built on another thread. Then every line read so far is replayed to the SDK's
own stdio transport, which serves the session from there as if it had read them itself: its answers to the
requests already answered are compared with the snapshot and dropped (a difference updates the snapshot and,
for the tool list, tells the client `notifications/tools/list_changed`). Nothing but these two read-only answers
is ever given from the snapshot: every tool call, resource read and policy decision goes through the server.

Each start records the SDK's own first answers as the next snapshot. The snapshot's key covers the package
version, every source file of trakt_mcp and guard (path, size, mtime), the MCP SDK's version, the policy file's
bytes and the settings that shape the server, so an edit to any of them means a normal start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import queue
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guard import jsonlimits
from guard.home import read_private, read_regular_file, secure_folder, write_private
from trakt_mcp import __version__
from trakt_mcp.settings import Settings

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger("trakt_mcp.server.quickstart")

SNAPSHOT_PREFIX = "stdio-snapshot-"
_EOF = None
#: A request line longer than this is refused (and skipped up to its newline) without being read into memory.
#: Generous: a caller's oversized argument should get the tool's own answer (naming the argument), not this one.
MAX_LINE_BYTES = 16 * 1024 * 1024
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def snapshot_key(settings: Settings) -> str:
    """Changes whenever the first two answers could: code, SDK, policy, settings, interpreter."""
    digest = hashlib.sha256()
    packages = [Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "guard"]
    for package in packages:
        for source in sorted(package.rglob("*.py")):
            stat = source.stat()
            digest.update(f"{source}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    try:
        from importlib.metadata import version

        digest.update(f"mcp={version('mcp')}\n".encode())
    except Exception:  # an unknown SDK version: never reuse a snapshot
        return ""
    digest.update(f"{__version__}\n{sys.executable}\n{settings.sandbox}\n{settings.client_id is not None}\n".encode())
    digest.update(f"{settings.restriction_flags()}\n".encode())
    if settings.policy is not None:
        try:
            digest.update(read_regular_file(settings.policy).encode())
        except (OSError, ValueError):  # unreadable, not text, or a FIFO (never waited on): no snapshot
            return ""
    return digest.hexdigest()[:32]


#: A snapshot larger than this is not one we wrote (ours is about 100 kB).
SNAPSHOT_LIMIT = 16_000_000


@dataclass
class Snapshot:
    """The server's answers to `initialize` (by requested protocol version) and to `tools/list`."""

    initialize: dict[str, Any] = field(default_factory=dict)
    tools_list: dict[str, Any] | None = None

    @classmethod
    def load(cls, path: Path) -> Snapshot | None:
        try:
            data = jsonlimits.loads(read_private(path, SNAPSHOT_LIMIT), max_bytes=SNAPSHOT_LIMIT)
            return cls(initialize=dict(data["initialize"]), tools_list=data.get("tools_list"))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path: Path) -> None:
        """Private (0600 in a 0700 folder) and replaced atomically, never written through a planted symlink."""
        secure_folder(path.parent)
        for stale in path.parent.glob(f"{SNAPSHOT_PREFIX}*.json"):
            if stale != path:
                stale.unlink(missing_ok=True)
        write_private(path, json.dumps({"initialize": self.initialize, "tools_list": self.tools_list}).encode())


class Wire:
    """The protocol's end of stdin and stdout, claimed so that stray prints cannot corrupt it: fd 1 becomes
    stderr and fd 0 the null device while we serve (as the SDK's own stdio transport does)."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "wb")
        self._in = os.fdopen(os.dup(0), "rb")
        os.dup2(2, 1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        self._write_lock = threading.Lock()
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        #: Once the SDK serves, lines go straight to its event loop (see `deliver_to`), not through the queue.
        self._deliver: Callable[[bytes | None], object] | None = None
        self._deliver_lock = threading.Lock()
        threading.Thread(target=self._read, name="stdin-reader", daemon=True).start()

    def _read(self) -> None:
        while line := self._in.readline(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES:
                while (rest := self._in.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                line = _TOO_LONG
            self._put(line)
        self._put(_EOF)

    def _put(self, line: bytes | None) -> None:
        with self._deliver_lock:
            if self._deliver is None:
                self.lines.put(line)
            else:
                self._deliver(line)

    def deliver_to(self, deliver: Callable[[bytes | None], object]) -> None:
        """From now on hand each line to `deliver` (called on the reader thread), the queued ones first, in order:
        no thread hop per request once the SDK serves."""
        with self._deliver_lock:
            while True:
                try:
                    deliver(self.lines.get_nowait())
                except queue.Empty:
                    break
            self._deliver = deliver

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(json.dumps(message, separators=(",", ":")))

    def send_text(self, text: str) -> None:
        """One JSON-RPC message already serialised (the SDK's own text, passed through as it is), as one line:
        JSON text holds no raw newline, so the one the SDK ends it with is the only one written."""
        with self._write_lock:
            self._out.write(text.rstrip("\n").encode() + b"\n")
            self._out.flush()


@dataclass
class Session:
    """What the quick start saw and answered before the SDK took over."""

    wire: Wire
    snapshot: Snapshot | None
    replay: list[bytes] = field(default_factory=list)
    #: request id -> method, for requests answered from the snapshot.
    answered: dict[Any, str] = field(default_factory=dict)
    closed: bool = False

    def take(self, line: bytes) -> None:
        """Keep the line for the SDK, and answer it now if the snapshot can; a line that is not JSON the server
        can read is answered with its JSON-RPC error at once (the SDK would drop it without a word)."""
        if not line.strip():
            return
        problem = unreadable(line)
        if problem is not None:
            self.wire.send(problem)
            return
        self.replay.append(line)
        request = _snapshot_request(line)
        if request is None or self.snapshot is None:
            return
        request_id, method, version = request
        if method == "initialize" and not self.answered:
            result = self.snapshot.initialize.get(version)
        elif method == "tools/list" and "initialize" in self.answered.values():
            result = self.snapshot.tools_list
        else:
            return
        if result is not None:
            self.wire.send({"jsonrpc": "2.0", "id": request_id, "result": result})
            self.answered[request_id] = method


#: Stands for a line longer than MAX_LINE_BYTES, which the reader skipped.
_TOO_LONG = b"\0too long\0"
#: Queued by the builder thread when the server is built (or failed to be): the quick start hands over.
_BUILT = b"\0built\0"


def error_response(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def unreadable(line: bytes) -> dict[str, Any] | None:
    """The JSON-RPC parse error answering a line the server cannot read (not JSON, not UTF-8, a lone surrogate,
    too deep or too long), or None. The id is null: it cannot be read from such a line."""
    if line is _TOO_LONG:
        return error_response(None, PARSE_ERROR, f"Parse error: the line is longer than {MAX_LINE_BYTES} bytes")
    try:
        jsonlimits.loads(line, allow_surrogates=False, max_bytes=MAX_LINE_BYTES)
    except jsonlimits.JSONLimitError as exc:
        return error_response(None, PARSE_ERROR, f"Parse error: {exc}")
    return None


def invalid_message(text: str) -> dict[str, Any] | None:
    """The JSON-RPC `Invalid Request` error for JSON that is not a JSON-RPC message (checked with the SDK's own
    message model, once it is loaded), answered under the message's id when it has a usable one; else None."""
    from mcp import types

    try:
        types.jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValueError:
        message = jsonlimits.loads(text, max_bytes=MAX_LINE_BYTES)
        request_id = message.get("id") if isinstance(message, dict) else None
        if isinstance(request_id, bool) or not isinstance(request_id, str | int):
            request_id = None
        what = "a JSON-RPC 2.0 request, notification or response object (batches are not supported)"
        return error_response(request_id, INVALID_REQUEST, f"Invalid Request: expected {what}")
    return None


def _snapshot_request(line: bytes) -> tuple[Any, str, str] | None:
    """(id, method, requested protocol version) when the line is a request a snapshot holds the answer to: an
    `initialize`, or the first page of `tools/list`; else None."""
    try:
        message = jsonlimits.loads(line, max_bytes=MAX_LINE_BYTES)
    except ValueError:
        return None
    if not isinstance(message, dict) or "id" not in message:
        return None
    params = _params(message)
    method = message.get("method")
    if method == "initialize":
        capabilities = params.get("capabilities")
        if isinstance(capabilities, dict) and capabilities.get("extensions"):
            return None  # the answers depend on the extensions a client offers (MCP Apps): snapshots hold none
        return message["id"], method, str(params.get("protocolVersion"))
    if method == "tools/list" and not params.get("cursor"):
        return message["id"], method, ""
    return None


def _params(message: dict[str, Any]) -> dict[str, Any]:
    """A request's params, or {} when a client sent something else (the SDK answers that with an error)."""
    params = message.get("params")
    return params if isinstance(params, dict) else {}


def serve(settings: Settings, build: Callable[[], MCPServer]) -> None:
    """Serve MCP on stdio: quick answers from the snapshot while `build` (run on a thread) makes the server."""
    wire = Wire()
    key = snapshot_key(settings)
    path = settings.home / "cache" / f"{SNAPSHOT_PREFIX}{key}.json"
    session = Session(wire, Snapshot.load(path) if key else None)
    built: dict[str, Any] = {}

    def build_in_background() -> None:
        try:
            built["server"] = build()
        except BaseException as exc:  # handed to the main thread, which re-raises it
            built["error"] = exc
        finally:
            wire.lines.put(_BUILT)

    builder = threading.Thread(target=build_in_background, name="server-builder", daemon=True)
    builder.start()
    # Wakes only for a line or the end of the build: no polling, which would take the interpreter lock from the
    # builder every few milliseconds.
    while (line := wire.lines.get()) is not _BUILT:
        if line is _EOF:
            session.closed = True
            break
        session.take(line)
    builder.join()
    if "error" in built:
        raise built["error"]
    import anyio

    still_current = (lambda: snapshot_key(settings) == key) if key else None
    anyio.run(_serve_with_sdk, built["server"], session, path, still_current)


async def _serve_with_sdk(
    server: MCPServer, session: Session, snapshot_path: Path, still_current: Callable[[], bool] | None
) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    recorder = _Recorder(session, snapshot_path if still_current else None, still_current or (lambda: False))

    class Stdin:
        def __aiter__(self) -> AsyncIterator[str]:
            return self._lines()

        async def _lines(self) -> AsyncIterator[str]:
            for replayed in session.replay:
                if (text := _readable(replayed)) is not None:
                    yield text
            if session.closed:
                return
            loop = asyncio.get_running_loop()
            sender, receiver = anyio.create_memory_object_stream[bytes | None](math.inf)

            def hand_over(line: bytes | None) -> None:
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    sender.send_nowait(line)

            def deliver(line: bytes | None) -> None:
                with contextlib.suppress(RuntimeError):  # the loop has stopped: nobody reads any more
                    loop.call_soon_threadsafe(hand_over, line)

            session.wire.deliver_to(deliver)
            async with receiver:
                while (line := await receiver.receive()) is not _EOF:
                    assert line is not None
                    if (text := _readable(line)) is not None:
                        if not recorder.done:
                            recorder.seen(line)
                        yield text

    def _readable(line: bytes) -> str | None:
        """The line as text for the SDK, or None when it was answered here with its JSON-RPC error: the SDK's
        stdio reader drops a line it cannot parse without an answer, so the client would wait for its time-out."""
        if not line.strip():
            return None
        problem = unreadable(line) or invalid_message(text := line.decode("utf-8"))
        if problem is not None:
            session.wire.send(problem)
            return None
        return text

    class Stdout:
        async def write(self, text: str) -> None:
            if recorder.done:  # past the handshake: the SDK's text goes out as it is, parsed and written once
                session.wire.send_text(text)
            else:
                recorder.answer(json.loads(text))

        async def flush(self) -> None:
            return None

    for line in session.replay:
        recorder.seen(line)
    # Explicit streams: the fds were already claimed by Wire. The low-level server is the only way to hand
    # the SDK a transport of our own; MCPServer.run_stdio_async() always opens the process's stdio itself.
    async with stdio_server(stdin=Stdin(), stdout=Stdout()) as (read_stream, write_stream):  # type: ignore[arg-type]
        lowlevel = server._lowlevel_server
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


class _Recorder:
    """Watches the session's first initialize and tools/list: drops the SDK's answers to requests the quick
    start already answered, and keeps the SDK's own answers as the next snapshot."""

    def __init__(self, session: Session, path: Path | None, still_current: Callable[[], bool]) -> None:
        self.session = session
        self.path = path
        #: False when the code, policy or settings changed since the key was taken: the answers recorded may
        #: belong to the new state, so they must not be filed under the old key.
        self.still_current = still_current
        self.fresh = Snapshot()
        self.watch: dict[Any, tuple[str, str]] = {}
        #: Only handshake-era sessions (initialize first) are snapshotted; the modern era has no initialize.
        self.handshake = False

    @property
    def done(self) -> bool:
        """Nothing left to record or to drop: every later line and answer passes straight through."""
        finished = self.path is None or self.fresh.tools_list is not None
        return finished and not self.watch and not self.session.answered

    def seen(self, line: bytes) -> None:
        request = _snapshot_request(line)
        if request is None:
            return
        request_id, method, version = request
        if method == "initialize" and not self.handshake:
            self.handshake = True
            self.watch[request_id] = ("initialize", version)
        elif method == "tools/list" and self.handshake and self.fresh.tools_list is None:
            self.watch.setdefault(request_id, ("tools/list", ""))

    def answer(self, message: dict[str, Any]) -> None:
        """The client gets the answer first; recording it as the next snapshot comes after."""
        request_id = message.get("id")
        watched = self.watch.pop(request_id, None) if "method" not in message else None
        if request_id in self.session.answered and "method" not in message:
            del self.session.answered[request_id]
        else:
            self.session.wire.send(message)
        if watched is not None and "result" in message:
            self._record(watched, message["result"])

    def _record(self, watched: tuple[str, str], result: dict[str, Any]) -> None:
        method, version = watched
        old = self.session.snapshot
        if method == "initialize":
            self.fresh.initialize[version] = result
            if old is not None and old.initialize.get(version) not in (None, result):
                log.warning("the quick-start snapshot of initialize was out of date; it is refreshed")
        else:
            self.fresh.tools_list = result
            if old is not None and old.tools_list is not None and old.tools_list != result:
                log.warning("the quick-start tool list was out of date: telling the client to list again")
                self.session.wire.send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        if self.path is not None and self.fresh.tools_list is not None and self.fresh.initialize:
            if not self.still_current():
                log.info("the policy, code or settings changed during start-up: no quick-start snapshot this time")
                self.path = None
                return
            if old is not None:
                self.fresh.initialize = {**old.initialize, **self.fresh.initialize}
            if old != self.fresh:  # an unchanged snapshot is not written again
                # Written (and fsynced) on a thread of its own: the requests behind this one do not wait for the disk.
                threading.Thread(target=_save, args=(self.fresh, self.path), name="snapshot-writer").start()
            self.path = None


def _save(snapshot: Snapshot, path: Path) -> None:
    try:
        snapshot.save(path)
    except OSError as exc:
        log.warning("could not save the quick-start snapshot: %s", exc)
