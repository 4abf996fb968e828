"""A remote person's approvals, through real `trakt-mcp --public-url --sandbox` processes sharing one home, the pages
driven in headless Debian chromium: a `confirm` rule on add_to_history asks alice on her approval page, in her own
browser session, and never her client nor the operator. Her client answering its own question (form or URL, either
protocol era) runs nothing; her allowing it on the page runs it exactly once (the writes the fake Trakt kept for
her are counted); bob's session cannot see or answer her approval; a cross-site form post is refused; the fallback
message names the approvals page with no secret in it; an expired approval runs nothing and its page says so; on an
MCP Apps host her card (rendered by a real host page) only opens her approval page and cannot answer."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client

from tests.apps_support import AppsHost
from tests.browser_host import CHROMIUM, LAUNCH_ARGS, browser_host, missing, require_browser
from tests.remote_support import (
    CALLBACK,
    MCP_HEADERS,
    RemoteServer,
    call_tool,
    register,
    remote_server,
    signed_in,
    through_sandbox_trakt,
    tool_text,
)
from trakt_mcp.remote.approval_pages import form_name
from trakt_mcp.remote.browser import BrowserSession

POLICY = {"version": "1", "default": "allow", "rules": {"add_to_history": {"action": "confirm"}}}
WATCHED = {"history_type": "movies", "items": [{"trakt_id": "120"}]}
TITLE = "The Dark Knight"
#: The expiry test's own call (the first test leaves an approval for WATCHED waiting in the shared state).
LATER, LATER_TITLE = {"history_type": "movies", "items": [{"trakt_id": "19371"}]}, "Spirited Away"
EFFECT = "Add to your watch history (1 item): The Dark Knight (2008)"
COOKIE = "trakt-mcp-session"
#: The Apps card test's own call.
CARD_CALL, CARD_TITLE = {"history_type": "movies", "items": [{"trakt_id": "16662"}]}, "Inception"
#: How long an approval lasts on the second server (the expiry tests).
BRIEF_SECONDS = 3


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RemoteServer, RemoteServer]]:
    """Two processes on one home: the default approval lifetime, and a brief one."""
    folder = tmp_path_factory.mktemp("approvals")
    policy = folder / "policy.json"
    policy.write_text(json.dumps(POLICY))
    flags = ("--sandbox", "--policy", str(policy))
    brief = {"TRAKT_MCP_APPROVAL_SECONDS": str(BRIEF_SECONDS)}
    with remote_server(folder / "home", *flags) as main, remote_server(folder / "home", *flags, env=brief) as short:
        yield main, short


def chromium() -> str:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


def token_of(server: RemoteServer, account: str) -> str:
    with server.http() as http:
        return str(signed_in(server, http, str(register(http, CALLBACK)["client_id"]), account)["access_token"])


def plays(server: RemoteServer, access_token: str, title: str = TITLE) -> int:
    """How many times the fake Trakt recorded alice watching the movie (each write adds one)."""
    with server.http() as http:
        text = tool_text(call_tool(http, access_token, "fetch_history", {"history_type": "movies"}))
        assert text.startswith("## Your watch history"), text
        return text.count(title)


@asynccontextmanager
async def mcp_client(server: RemoteServer, access_token: str, mode: str, elicit: Any) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {access_token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=90) as http,
        Client(streamable_http_client(server.mcp, http_client=http), mode=mode, elicitation_callback=elicit) as client,
    ):
        yield client


def answers_itself(seen: list[types.ElicitRequestParams]) -> Any:
    """A client that says yes to every question itself (what a hostile or careless client does)."""

    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen.append(params)
        content = {"confirm": True} if isinstance(params, types.ElicitRequestFormParams) else None
        return types.ElicitResult(action="accept", content=content)

    return answer


async def pages_sign_in(browser: Any, server: RemoteServer, account: str, scheme: str = "light") -> Any:
    """A person's own browser, signed in to the server's pages with their Trakt account (by keyboard)."""
    context = await browser.new_context(color_scheme=scheme)
    page = await context.new_page()
    await page.goto(f"{server.base}/signin?next=/approvals")
    await page.focus("#trakt-sign-in")
    await page.keyboard.press("Enter")
    await page.click(f"#sign-in-{account}")
    await page.wait_for_url(f"{server.base}/approvals")
    return page


async def session_of(page: Any) -> BrowserSession:
    [cookie] = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"], "the page's scripts cannot read the session"
    return BrowserSession("", cookie["value"])


def pending_kinds(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "state.db") as db:
        rows = db.execute("SELECT kind, count(*) FROM records WHERE kind LIKE '%approval' GROUP BY kind").fetchall()
    return {kind: count for kind, count in rows}


async def test_alice_decides_in_her_browser_never_her_client_and_it_runs_exactly_once(
    servers: tuple[RemoteServer, RemoteServer],
) -> None:
    server, _ = servers
    executable = chromium()
    from playwright.async_api import async_playwright

    alice = token_of(server, "alice")
    before = plays(server, alice)

    # Her client answers its own question (URL mode, modern era: it "accepts" and retries): nothing runs.
    seen: list[types.ElicitRequestParams] = []
    async with mcp_client(server, alice, "auto", answers_itself(seen)) as client:
        result = await client.call_tool("add_to_history", WATCHED)
    assert result.is_error and "not allowed yet" in result.content[0].text  # type: ignore[union-attr]
    [asked] = seen
    assert isinstance(asked, types.ElicitRequestURLParams) and EFFECT in asked.message
    url = asked.url
    assert re.fullmatch(rf"{re.escape(server.base)}/approvals/[A-Z2-9]{{4}}-[A-Z2-9]{{4}}", url), "no secret in it"
    code = url.rsplit("/", 1)[1]
    # A forged answer to the host's form question (a modern-era retry carrying one) runs nothing either.
    with server.http() as http:
        forged = forged_retry(http, alice).json()
        assert "result" not in forged and forged["error"]["data"]["reason"] == "invalid_request_state"
    assert plays(server, alice) == before
    assert pending_kinds(server.home) == {"person_approval": 1}, "the operator's terminal holds nothing"

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        hers, his = await pages_sign_in(browser, server, "alice"), await pages_sign_in(browser, server, "bob", "dark")

        # Her account page lists it with Deny and Allow once; bob's shows nothing of it.
        await hers.goto(f"{server.base}/account")
        assert await hers.locator(f"#allow-{code}").is_visible() and await hers.locator(f"#deny-{code}").is_visible()
        await his.goto(f"{server.base}/account")
        assert code not in await his.content()
        await his.goto(f"{server.base}/approvals")

        # Bob's session: alice's approval is not on his list, its page is what an unknown one is, and a post with
        # a token valid for his own session changes nothing.
        assert code not in await his.content()
        theirs = await his.goto(url)
        assert theirs is not None and theirs.status == 404
        shown = await his.content()
        unknown = await his.goto(f"{server.base}/approvals/ABCD-2345")
        assert unknown is not None and unknown.status == 404
        assert shown == await his.content(), "another person's approval is exactly an unknown one"
        bobs = await session_of(his)
        with server.http() as http:
            cookies = {COOKIE: bobs.secret}
            answer = http.post(url, data={"decision": "allow", "csrf": bobs.csrf(form_name(code))}, cookies=cookies)
            assert answer.status_code == 404, answer.text

        # Another site's form, posted from alice's own browser: refused, nothing changes.
        evil = "https://evil.example/"
        await hers.route(
            evil,
            lambda route: route.fulfill(
                content_type="text/html",
                body=f'<form method="post" action="{url}"><input name="decision" value="allow"></form>'
                "<script>document.forms[0].submit()</script>",
            ),
        )
        async with hers.expect_navigation(url=url) as posted:
            await hers.goto(evil)
        assert (await posted.value).status == 403
        await hers.goto(url)
        assert await hers.locator(f"#allow-{code}").is_visible(), "still waiting for her decision"

        # Handshake era: her client shows the link, she allows it on the page, the waiting call runs once.
        async def alice_allows(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
            assert isinstance(params, types.ElicitRequestURLParams) and params.url == url
            await hers.goto(params.url)
            assert EFFECT in await hers.locator(f"#effect-{code}").inner_text()
            await hers.focus(f"#allow-{code}")
            await hers.keyboard.press("Enter")
            await hers.wait_for_selector("#outcome")
            return types.ElicitResult(action="accept")

        async with mcp_client(server, alice, "legacy", alice_allows) as client:
            ran = await client.call_tool("add_to_history", WATCHED)
        assert not ran.is_error, ran.content
        await browser.close()
    assert plays(server, alice) == before + 1

    # The same call again: a new question (an approval is for one call), and without elicitation or cards the
    # answer names her approvals page, with no secret in it.
    with server.http() as http:
        again = tool_text(call_tool(http, alice, "add_to_history", WATCHED))
    assert f"open {server.base}/approvals in their browser" in again and alice not in again
    assert plays(server, alice) == before + 1
    audit = [json.loads(line) for line in (server.home / "audit.jsonl").read_text().splitlines()]
    confirmed = [line for line in audit if line.get("decision") == "confirmed"]
    assert [(line["identity"], line["channel"], line["answered_by"]) for line in confirmed] == [
        ("alice", "page", "person")
    ]


def forged_retry(http: httpx.Client, access_token: str) -> httpx.Response:
    """A modern-era retry that claims the host's form question was answered yes (never asked of alice)."""
    headers = {
        **MCP_HEADERS,
        "Authorization": f"Bearer {access_token}",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "add_to_history",
    }
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    params = {
        "name": "add_to_history",
        "arguments": WATCHED,
        "_meta": meta,
        "requestState": "mcp-guard:forged",
        "inputResponses": {"guard_confirm": {"action": "accept", "content": {"confirm": True}}},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    return http.post("/mcp", headers=headers, json=body)


def page_form(http: httpx.Client, path: str, about: str) -> tuple[str, str]:
    """The code and CSRF token of the approval on a page whose action mentions `about`."""
    text = http.get(path).text
    for section in re.findall(r'<section class="approval".*?</section>', text, re.S):
        found = re.search(r'action="/approvals/([A-Z2-9-]+)".*?name="csrf" value="([^"]+)"', section, re.S)
        if about in section and found is not None:
            return found.group(1), html.unescape(found.group(2))
    raise AssertionError(text)


def pages_http_sign_in(server: RemoteServer, http: httpx.Client, account: str) -> None:
    back = through_sandbox_trakt(http, http.get("/signin", params={"next": "/approvals"}), account)
    assert back.status_code == 303


async def test_an_expired_approval_runs_nothing_and_its_page_says_so(
    servers: tuple[RemoteServer, RemoteServer],
) -> None:
    _, server = servers
    alice = token_of(server, "alice")
    before = plays(server, alice, LATER_TITLE)
    with server.http() as browser:
        pages_http_sign_in(server, browser, "alice")
        with server.http() as http:
            assert f"{server.base}/approvals" in tool_text(call_tool(http, alice, "add_to_history", LATER))
        code, csrf = page_form(browser, "/approvals", LATER_TITLE)
        allowed = browser.post(f"/approvals/{code}", data={"decision": "allow", "csrf": csrf})
        assert allowed.status_code == 200 and "Allowed once" in allowed.text
        await anyio.sleep(BRIEF_SECONDS + 0.5)
        with server.http() as http:
            late = tool_text(call_tool(http, alice, "add_to_history", LATER))
        assert "/approvals" in late
        expired = browser.get(f"/approvals/{code}")
        assert expired.status_code == 410 and "This approval expired" in expired.text
        again = browser.post(f"/approvals/{code}", data={"decision": "allow", "csrf": csrf})
        assert again.status_code == 410
    # Her client answers the URL question itself (handshake era) and waits: the approval expires, nothing runs.
    seen: list[types.ElicitRequestParams] = []
    started = time.monotonic()
    async with mcp_client(server, alice, "legacy", answers_itself(seen)) as client:
        result = await client.call_tool("add_to_history", LATER)
    assert result.is_error and "expired" in result.content[0].text  # type: ignore[union-attr]
    assert time.monotonic() - started < BRIEF_SECONDS + 10
    assert plays(server, alice, LATER_TITLE) == before


async def test_on_an_apps_host_her_card_only_opens_her_approval_page_and_cannot_answer(
    servers: tuple[RemoteServer, RemoteServer],
) -> None:
    """A client with MCP Apps and no elicitation (as Claude Desktop): the question comes as a card, rendered here by
    a real Apps host page in chromium. It carries no nonce and calls no tool: its one button opens her page."""
    require_browser()
    server, _ = servers
    alice = token_of(server, "alice")
    before = plays(server, alice, CARD_TITLE)
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice}"}, timeout=90) as http,
        Client(streamable_http_client(server.mcp, http_client=http), mode="legacy", extensions=[AppsHost()]) as client,
        browser_host(client, server.base) as host,
    ):
        asked = await host.show("add_to_history", CARD_CALL)
        card = host.frame.get_by_role("alertdialog", name="Needs your approval")
        await card.wait_for()
        text = await card.inner_text()
        assert CARD_TITLE in text and "Only you can allow this" in text, text
        assert await host.frame.locator("button:focus").inner_text() == "Open the approval page"
        await host.page.keyboard.press("Enter")
        await host.frame.get_by_role("status").filter(has_text="Opened the approval page").wait_for()
        [opened] = await host.page.evaluate("window.openedLinks")
    assert re.fullmatch(rf"{re.escape(server.base)}/approvals/[A-Z2-9]{{4}}-[A-Z2-9]{{4}}", opened), opened
    assert asked["isError"] and "nonce" not in json.dumps(asked), "nothing in the card's data can answer it"
    assert host.calls == [], "the card called no tool"
    assert plays(server, alice, CARD_TITLE) == before, "nothing ran"


def test_no_session_sees_nothing_and_a_post_without_the_token_is_refused(
    servers: tuple[RemoteServer, RemoteServer],
) -> None:
    server, _ = servers
    with server.http() as http:
        listing = http.get("/approvals")
        assert listing.status_code == 401 and 'href="/signin?next=/approvals"' in listing.text
        assert http.get("/approvals/ABCD-2345").status_code == 401
        refused = http.post("/approvals/ABCD-2345", data={"decision": "allow"})
        assert refused.status_code == 403
