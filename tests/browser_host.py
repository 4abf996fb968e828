"""The real-browser harness for the cards: Debian's chromium driven by Playwright, a loopback page built on
ext-apps' AppBridge (tests/apps_host), and the card's tool calls handed to a real MCP client session.

Nothing here is optional in CI: when `CI=true`, a missing chromium, node or host bundle fails the test."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, types

from trakt_mcp.sandbox.images import IMAGE_HOST

HOST_DIR = Path(__file__).resolve().parent / "apps_host"
BUNDLE = HOST_DIR / "dist" / "host.js"
CHROMIUM = "/usr/bin/chromium"
RENDER_TIMEOUT = 30.0
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Keeps a sandboxed iframe in its page's process, where Playwright's routing (Trakt's image host to the
    # fake on loopback) can see its requests; the iframe stays sandboxed and under the card's CSP.
    "--disable-features=IsolateSandboxedIframes",
]


def missing(what: str) -> None:
    """Fail in CI (a skipped browser test proves nothing there); skip on a developer machine without the tool."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI must install it: see .ci/run)")
    pytest.skip(what)


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    build_host_bundle()


def build_host_bundle() -> None:
    """Bundle the host page with esbuild (from tests/apps_host/node_modules) when its sources are newer."""
    esbuild = HOST_DIR / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        missing("the host page's npm packages are missing (npm ci --prefix tests/apps_host)")
    source = HOST_DIR / "host.js"
    if BUNDLE.exists() and BUNDLE.stat().st_mtime >= source.stat().st_mtime:
        return
    BUNDLE.parent.mkdir(exist_ok=True)
    subprocess.run(
        [str(esbuild), str(source), "--bundle", "--format=esm", "--target=es2020", f"--outfile={BUNDLE}"],
        check=True,
        cwd=HOST_DIR,
        capture_output=True,
        timeout=120,
    )


@contextmanager
def serve_host_page() -> Iterator[str]:
    """tests/apps_host over HTTP on 127.0.0.1 (an ephemeral port)."""
    handler = functools.partial(_QuietHandler, directory=str(HOST_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def as_json(result: types.CallToolResult) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


class Host:
    """One browser page hosting cards; `calls` records every tools/call a card made through the host."""

    def __init__(self, page: Any, client: Client) -> None:
        self.page = page
        self.client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.frame = page.frame_locator("iframe")

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, arguments))
        return as_json(await self.client.call_tool(name, arguments))

    async def show(self, tool: str, arguments: dict[str, Any], theme: str = "light") -> dict[str, Any]:
        """Call `tool` as the model would, then render the card its tools/list entry names, as a host does."""
        listed = await self.client.list_tools()
        entry = next(t for t in listed.tools if t.name == tool)
        uri = (entry.meta or {})["ui"]["resourceUri"]
        page = (await self.client.read_resource(uri)).contents[0]
        assert isinstance(page, types.TextResourceContents)
        result = as_json(await self.client.call_tool(tool, arguments))
        with anyio.fail_after(RENDER_TIMEOUT):  # a card that never says it is ready fails the test, never hangs it
            await self.page.evaluate(
                "args => window.renderCard(args)",
                {
                    "html": page.text,
                    "meta": page.meta,
                    "toolName": tool,
                    "toolInput": arguments,
                    "toolResult": result,
                    "theme": theme,
                },
            )
        await self.page.evaluate("theme => document.body.classList.toggle('dark', theme === 'dark')", theme)
        return result


@asynccontextmanager
async def browser_host(client: Client, image_origin: str, theme: str = "light") -> AsyncIterator[Host]:
    """A headless chromium page on the loopback host page; Trakt's image host is routed to `image_origin`."""
    from playwright.async_api import Route, async_playwright

    async def to_loopback(route: Route) -> None:
        path = route.request.url.split(IMAGE_HOST, 1)[1]
        response = await route.fetch(url=image_origin + path)
        await route.fulfill(response=response)

    console: list[str] = []
    with serve_host_page() as origin:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            try:
                context = await browser.new_context(color_scheme=theme, viewport={"width": 700, "height": 900})
                await context.route(f"https://{IMAGE_HOST}/**", to_loopback)
                context.set_default_timeout(15_000)
                page = await context.new_page()
                page.on("console", lambda message: console.append(message.text))
                page.on("pageerror", lambda error: console.append(str(error)))
                host = Host(page, client)
                await page.expose_function("mcpCall", host.call)
                await page.goto(f"{origin}/host.html")
                await page.wait_for_function("typeof window.renderCard === 'function'")
                yield host
            except Exception:
                print("browser console:", *console, sep="\n  ")
                raise
            finally:
                await browser.close()
