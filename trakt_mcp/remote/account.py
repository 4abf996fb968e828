"""`/account`: a person's own page, in their browser session (`trakt_mcp.remote.browser`). Without a session it
offers a sign-in link and shows nothing of anyone."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from trakt_mcp.remote import pages
from trakt_mcp.remote.browser import BrowserSession, csrf_input
from trakt_mcp.remote.routes import NO_STORE, SIGN_IN_PATH, Remote

ACCOUNT_PATH = "/account"
#: The form that ends this browser session (not the person's tokens).
SIGN_OUT_FORM = "sign-out"


class AccountRoutes:
    def __init__(self, remote: Remote) -> None:
        self.remote = remote
        self.sessions = remote.sessions

    def routes(self) -> list[Route]:
        return [
            Route(ACCOUNT_PATH, self.account, methods=["GET"]),
            Route(f"{ACCOUNT_PATH}/sign-out", self.sign_out, methods=["POST"]),
        ]

    async def account(self, request: Request) -> Response:
        session = self.sessions.session(request)
        if session is None:
            return signed_out_page()
        return account_page(session)

    async def sign_out(self, request: Request) -> Response:
        posted = await self.sessions.posted(request, SIGN_OUT_FORM)
        if isinstance(posted, Response):
            return posted
        response = RedirectResponse(ACCOUNT_PATH, status_code=303, headers=NO_STORE)
        self.sessions.end(request, response)
        return response


def signed_out_page() -> HTMLResponse:
    return pages.page(
        "Your account",
        "<h1>Your account on this server</h1><p>You are not signed in on this browser.</p>"
        f'<p><a class="button" id="sign-in" href="{SIGN_IN_PATH}?next={ACCOUNT_PATH}">Sign in with Trakt</a></p>',
    )


def account_page(session: BrowserSession) -> HTMLResponse:
    return pages.page(
        "Your account",
        f'<h1>Your account on this server</h1><p>Signed in as <strong id="person">{pages.escape(session.username)}'
        "</strong>.</p>"
        f'<form method="post" action="{ACCOUNT_PATH}/sign-out">{csrf_input(session, SIGN_OUT_FORM)}'
        '<button id="sign-out">Sign out of this browser</button></form>',
    )
