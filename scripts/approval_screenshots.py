"""Screenshots of a person's approval page for the README: docs/approval-page-light.png and -dark.png.

Starts a real `trakt-mcp --sandbox --public-url` process with a policy that confirms add_to_history, signs alice in
(her MCP token over HTTP, her browser session in Debian chromium through Playwright), makes the call that needs her
approval, and photographs the page her client sends her to, in both colour schemes.

    .venv/bin/python scripts/approval_screenshots.py        # needs apt's chromium and the dev extras
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_host import CHROMIUM, LAUNCH_ARGS  # noqa: E402
from tests.remote_support import CALLBACK, call_tool, register, remote_server, signed_in, tool_text  # noqa: E402

CALL = {"history_type": "movies", "items": [{"trakt_id": "120"}, {"trakt_id": "16662"}]}


async def shoot(out: Path) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "policy.json"
        policy.write_text(
            json.dumps({"version": "1", "default": "allow", "rules": {"add_to_history": {"action": "confirm"}}})
        )
        with remote_server(Path(folder) / "home", "--sandbox", "--policy", str(policy)) as server:
            with server.http() as http:
                alice = signed_in(server, http, str(register(http, CALLBACK)["client_id"]), "alice")
                tool_text(call_tool(http, alice["access_token"], "add_to_history", CALL))
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                for scheme in ("light", "dark"):
                    context = await browser.new_context(color_scheme=scheme, viewport={"width": 720, "height": 640})
                    page = await context.new_page()
                    await page.goto(f"{server.base}/signin?next=/approvals")
                    await page.click("#trakt-sign-in")
                    await page.click("#sign-in-alice")
                    await page.wait_for_url(f"{server.base}/approvals")
                    await page.click("section.approval a")
                    await page.screenshot(path=str(out / f"approval-page-{scheme}.png"), full_page=True)
                    await context.close()
                await browser.close()


if __name__ == "__main__":
    target = ROOT / "docs"
    asyncio.run(shoot(target))
    print(f"wrote {target}/approval-page-light.png and approval-page-dark.png")
