"""Serve a FakeTrakt over real HTTP (ASGI), for benchmarks and tests that want a socket on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import httpx

from trakt_mcp.sandbox.fake import FakeTrakt

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def asgi_app(fake: FakeTrakt) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app that hands each HTTP request to `fake.handle` and sends back its answer."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode()
        url = f"http://{scope.get('server', ('127.0.0.1', 80))[0]}{scope['path']}" + (f"?{query}" if query else "")
        request = httpx.Request(
            scope["method"], url, headers=[(k.decode(), v.decode()) for k, v in scope["headers"]], content=body
        )
        response = fake.handle(request)
        headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})

    return app


@contextmanager
def serve_on_loopback(fake: FakeTrakt, port: int = 0) -> Iterator[str]:
    """Run the fake on 127.0.0.1 in a background thread; yields its base URL and stops it on exit."""
    import uvicorn

    config = uvicorn.Config(asgi_app(fake), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Trakt HTTP server did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
