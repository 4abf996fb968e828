"""Multi-user mode end to end, as claude.ai does it: the official TypeScript SDK's OAuth client discovers, registers
(alice by dynamic registration, bob by a client ID metadata document served over https on loopback), sends each
person's browser (headless Debian chromium) through our sign-in page, the sandbox's Trakt sign-in and the consent
page (alice ticks only "read", bob everything), exchanges the code and calls fetch_user_watchlist: each gets their
own list, at the same time, from one real process; alice's write tools are not listed and refused by name, bob's
write runs. Then alice's account page, in her browser: she disconnects another app of hers (its token answers 401,
the first keeps working) and sees her own calls only."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio

from tests.browser_host import CHROMIUM, LAUNCH_ARGS, missing
from tests.remote_support import (
    CALLBACK,
    RemoteServer,
    call_tool,
    free_port,
    https_documents,
    register,
    remote_server,
    signed_in,
    tool_text,
)

EXTERNAL = Path(__file__).resolve().parent / "external"
ALICE_ONLY, BOB_ONLY = ("Spirited Away", "Game of Thrones"), ("The Dark Knight",)


def _tools() -> str:
    node = shutil.which("node")
    if node is None or not (EXTERNAL / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        missing("needs Node.js and `npm ci --prefix tests/external`")
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return str(node)


def _client(node: str, mcp_url: str, port: int, mode: str, *extra: str) -> subprocess.Popen[str]:
    command = [node, str(EXTERNAL / "remote_client.mjs"), mcp_url, str(port), mode, *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def _first_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    with anyio.fail_after(60):
        line = await anyio.to_thread.run_sync(process.stdout.readline)
    assert line, process.stderr.read() if process.stderr else "no output"
    return dict(json.loads(line))


async def _report(process: subprocess.Popen[str]) -> dict[str, Any]:
    with anyio.fail_after(60):
        out, err = await anyio.to_thread.run_sync(process.communicate)
    assert process.returncode == 0, out + err
    return dict(json.loads(out.strip().splitlines()[-1]))


async def _sign_in(
    browser: Any, authorize: str, account: str, callback_port: int, scheme: str, ticks: list[str] | None
) -> tuple[str, Any]:
    """What the person does: open the link their app gave, sign in with Trakt (by keyboard), pick their account,
    tick what the app may do (`ticks`; None: every box) and allow it by keyboard. Returns the sign-in page's
    background colour in the person's colour scheme, and their browser (its session cookie)."""
    context = await browser.new_context(color_scheme=scheme)
    page = await context.new_page()
    await page.goto(authorize)
    background = str(await page.evaluate("getComputedStyle(document.body).backgroundColor"))
    await page.focus("#trakt-sign-in")
    await page.keyboard.press("Enter")
    await page.click(f"#sign-in-{account}")
    await page.wait_for_selector("#allow")
    for box in await page.query_selector_all('input[name="capability"]'):
        value = await box.get_attribute("value")
        await box.set_checked(ticks is None or value in ticks)
    await page.focus("#allow")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"http://127.0.0.1:{callback_port}/callback?*", timeout=30_000)
    await page.close()
    return background, context


async def _account_page(context: Any, server: RemoteServer, other_app: str) -> list[list[str]]:
    """alice's account page in her browser: disconnect `other_app`; returns her activity table's rows."""
    page = await context.new_page()
    await page.goto(f"{server.base}/account")
    assert await page.text_content("#person") == "alice"
    await page.focus(f'form[data-client="{other_app}"] button[value="disconnect"]')
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/account?done=disconnected")
    assert await page.locator(f'form[data-client="{other_app}"]').count() == 0
    script = "rows => rows.map(row => [...row.cells].map(cell => cell.textContent))"
    return list(await page.eval_on_selector_all("#activity tbody tr", script))


async def test_alice_by_registration_and_bob_by_metadata_document_each_get_their_own_watchlist(tmp_path: Path) -> None:
    node = _tools()
    from playwright.async_api import async_playwright

    alice_port, bob_port = free_port(), free_port()
    documents: dict[str, Any] = {}
    with https_documents(tmp_path, documents) as docs:
        document_url = f"{docs.url}/clients/bobs-phone.json"
        documents["/clients/bobs-phone.json"] = {
            "client_id": document_url,
            "client_name": "Bob's phone",
            "redirect_uris": [f"http://127.0.0.1:{bob_port}/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        home = tmp_path / "home"
        with remote_server(home, "--sandbox", env={"SSL_CERT_FILE": str(docs.ca_file)}) as server:
            alice = _client(node, server.mcp, alice_port, "dcr")
            bob = _client(node, server.mcp, bob_port, "cimd", document_url)
            try:
                alice_url, bob_url = (await _first_line(alice))["authorize"], (await _first_line(bob))["authorize"]
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                    backgrounds: dict[str, str] = {}
                    contexts: dict[str, Any] = {}

                    async def person(url: str, name: str, port: int, scheme: str, ticks: list[str] | None) -> None:
                        backgrounds[scheme], contexts[name] = await _sign_in(browser, url, name, port, scheme, ticks)

                    async with anyio.create_task_group() as people:
                        people.start_soon(person, alice_url, "alice", alice_port, "light", ["read"])
                        people.start_soon(person, bob_url, "bob", bob_port, "dark", None)
                    alice_report, bob_report = await _report(alice), await _report(bob)
                    with server.http() as http:
                        phone_id = str(register(http, CALLBACK)["client_id"])
                        phone = signed_in(server, http, phone_id, "alice", ["read"])
                        activity = await _account_page(contexts["alice"], server, phone_id)
                        gone = call_tool(http, phone["access_token"], "fetch_user_watchlist")
                        kept = call_tool(http, alice_report["tokens"]["access_token"], "fetch_user_watchlist")
                    await browser.close()
            finally:
                for process in (alice, bob):
                    if process.poll() is None:
                        process.kill()
    for report in (alice_report, bob_report):
        assert (report["first"], report["second"]) == ("REDIRECT", "AUTHORIZED")
        assert report["iss"] == server.base, "RFC 9207: the authorization response names its issuer"
        assert not report["isError"], report["watchlist"]
    assert all(title in alice_report["watchlist"] for title in ALICE_ONLY)
    assert not any(title in alice_report["watchlist"] for title in BOB_ONLY)
    assert all(title in bob_report["watchlist"] for title in BOB_ONLY)
    assert not any(title in bob_report["watchlist"] for title in ALICE_ONLY)
    assert alice_report["hasSecret"] and alice_report["authMethod"] == "client_secret_basic"
    assert bob_report["clientId"] == document_url and not bob_report["hasSecret"]
    assert docs.hits == ["/clients/bobs-phone.json"], "fetched once, then taken from the cache"
    assert backgrounds == {"light": "rgb(250, 250, 250)", "dark": "rgb(23, 23, 26)"}, "the pages follow the scheme"
    assert alice_report["tokens"]["scope"] == "read" and "add_user_ratings" not in alice_report["tools"]
    assert (
        "fetch_user_watchlist" in alice_report["tools"]
        and "Unknown tool: add_user_ratings" in alice_report["write"]["text"]
    )
    assert "add_user_ratings" in bob_report["tools"] and not bob_report["write"]["isError"], bob_report["write"]
    assert gone.status_code == 401, "the app alice disconnected on her account page"
    assert "Spirited Away" in tool_text(kept), "her other app keeps working"
    decided = {(row[1], row[2]) for row in activity}
    assert ("fetch_user_watchlist", "allowed") in decided and ("add_user_ratings", "hidden") in decided, activity
    assert ("add_user_ratings", "allowed") not in decided, "bob's write is his, not on alice's page"
