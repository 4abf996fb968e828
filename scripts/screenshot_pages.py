"""The README's screenshots of the pages a remote person sees: the consent page and the account page, light and dark
(docs/people/*.png). A sandbox `trakt-mcp --public-url` on loopback plays the server, Debian's chromium (driven by
Playwright by its executable path, as the tests do) plays alice's browser; nothing leaves the machine (every request
that is not for loopback is aborted, the app's callback included).

Regenerate: `.venv/bin/python scripts/screenshot_pages.py` (needs `apt-get install chromium`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_host import CHROMIUM, LAUNCH_ARGS  # noqa: E402
from tests.remote_support import (  # noqa: E402
    CALLBACK,
    RemoteServer,
    authorize_query,
    call_tool,
    pkce,
    remote_server,
    signed_in,
    token,
)

OUT = ROOT / "docs" / "people"
APP_CALLBACK = "https://claude.ai/api/mcp/auth_callback"


async def shoot(server: RemoteServer) -> None:
    from playwright.async_api import async_playwright

    with server.http() as http:
        claude = http.post("/register", json={"client_name": "Claude", "redirect_uris": [APP_CALLBACK]}).json()
        verifier, challenge = pkce()
        query = authorize_query(server, claude["client_id"], APP_CALLBACK, challenge)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            context = await browser.new_context(viewport={"width": 760, "height": 900})
            codes: list[str] = []

            async def loopback_only(route: Any) -> None:
                url = urlsplit(route.request.url)
                if url.hostname == "127.0.0.1":
                    await route.continue_()
                    return
                codes.extend(parse_qs(url.query).get("code", []))
                await route.abort()

            await context.route("**/*", loopback_only)
            page = await context.new_page()
            await page.goto(f"{server.base}/authorize?{'&'.join(f'{k}={v}' for k, v in query.items())}")
            await page.click("#trakt-sign-in")
            await page.click("#sign-in-alice")
            await page.wait_for_selector("#allow")
            await page.check("#capability-rate")
            for scheme in ("light", "dark"):
                await page.emulate_media(color_scheme=scheme)
                await page.screenshot(path=str(OUT / f"consent-{scheme}.png"), full_page=True)
            await page.click("#allow")
            while not codes:
                await anyio.sleep(0.1)
            answer = token(
                http,
                grant_type="authorization_code",
                code=codes[0],
                redirect_uri=APP_CALLBACK,
                client_id=claude["client_id"],
                client_secret=claude["client_secret"],
                code_verifier=verifier,
                resource=server.mcp,
            ).json()
            public = {"client_name": "Phone", "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none"}
            phone = http.post("/register", json=public).json()
            signed_in(server, http, phone["client_id"], "alice", ["read"])
            rating = {"rating_type": "movies", "items": [{"slug": "inception-2010", "rating": 9}]}
            for name, arguments in [("fetch_user_watchlist", {}), ("add_user_ratings", rating), ("add_to_history", {})]:
                call_tool(http, answer["access_token"], name, arguments)
            await page.goto(f"{server.base}/account")
            for scheme in ("light", "dark"):
                await page.emulate_media(color_scheme=scheme)
                await page.screenshot(path=str(OUT / f"account-{scheme}.png"), full_page=True)
            await browser.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, remote_server(Path(folder) / "home", "--sandbox") as server:
        anyio.run(shoot, server)
    print(f"wrote {', '.join(sorted(path.name for path in OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
