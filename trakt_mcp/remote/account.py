"""`/account`: a person's own page, in their browser session (trakt_mcp.remote.browser). Without a session it offers
a sign-in link and shows nothing of anyone.

- Connected apps: each app the person granted, with its capabilities (change them; disconnect one app: its grant,
  access and refresh tokens are revoked at once, in every process and replica; the person's other apps keep working).
- Pending approvals: `pending_approvals_section`, the approval pages' own list (allow, deny).
- Recent activity: the audit lines whose identity is this person, and no one else's.
- Log out: the person's Trakt token is revoked at Trakt, every token this server issued them and every grant is
  revoked, and every browser session of theirs ends. "Sign out of this browser" ends only this session.

Every form carries its CSRF token (`csrf_input`); a post without it, or from another site, is refused (403).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from guard.audit import AuditTrail
from guard.store import StoreError
from trakt_mcp.remote import pages
from trakt_mcp.remote.browser import BrowserSession, csrf_input
from trakt_mcp.remote.routes import NO_STORE, SIGN_IN_PATH, Remote
from trakt_mcp.trakt.gate import signing_in

log = logging.getLogger("trakt_mcp.remote")

ACCOUNT_PATH = "/account"
#: The forms of the page (each CSRF token is bound to its form's name).
SIGN_OUT_FORM, LOG_OUT_FORM, APPS_FORM = "sign-out", "log-out", "apps"
#: How many of the person's latest audit lines the page shows, and how far back it looks for them.
ACTIVITY_LINES, ACTIVITY_SCAN = 50, 5000


class AccountRoutes:
    def __init__(
        self,
        remote: Remote,
        pending: Callable[[BrowserSession], str] | None = None,
        changed: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """`pending`: the HTML of a person's pending approvals, with their allow / deny forms
        (trakt_mcp.remote.approval_pages.approvals_html). `changed(username)`: tells that person's MCP sessions in
        this process that their tool lists changed (guard.middleware.Guard.grant_changed); sessions elsewhere are
        told on their next request."""
        self.remote, self.pending, self.changed = remote, pending, changed
        self.sessions, self.store = remote.sessions, remote.server.store

    def routes(self) -> list[Route]:
        return [
            Route(ACCOUNT_PATH, self.account, methods=["GET"]),
            Route(f"{ACCOUNT_PATH}/apps", self.change_app, methods=["POST"]),
            Route(f"{ACCOUNT_PATH}/log-out", self.log_out, methods=["POST"]),
            Route(f"{ACCOUNT_PATH}/sign-out", self.sign_out, methods=["POST"]),
        ]

    async def account(self, request: Request) -> Response:
        session = self.sessions.session(request)
        if session is None:
            return signed_out_page()
        notice = {"saved": "Saved.", "disconnected": "Disconnected."}.get(request.query_params.get("done", ""), "")
        body = (
            f'<h1>Your account on this server</h1><p>Signed in as <strong id="person">'
            f"{pages.escape(session.username)}</strong>.</p>"
            + (f'<p role="status" id="notice">{notice}</p>' if notice else "")
            + self.apps_section(session)
            + self.pending_approvals_section(session)
            + self.activity_section(session)
            + leave_section(session)
        )
        return pages.page("Your account", body)

    # --- connected apps ----------------------------------------------------------------------------------------

    def apps_section(self, session: BrowserSession) -> str:
        capabilities = self.remote.capabilities()
        offered = capabilities.offered() if capabilities is not None else []
        rows = []
        for grant in self.store.grants(session.username):
            client = self.store.client(grant.client_id)
            name = pages.escape(client.name if client is not None else grant.client_id)
            key = pages.escape(grant.client_id)
            boxes = "".join(
                f'<label class="choice"><input type="checkbox" name="capability" value="{pages.escape(c.name)}"'
                f"{' checked' if c.name in grant.capabilities else ''}> {pages.escape(c.title)}</label>"
                for c in offered
            )
            rows.append(
                f'<form method="post" action="{ACCOUNT_PATH}/apps" class="app" data-client="{key}">'
                f'{csrf_input(session, APPS_FORM)}<input type="hidden" name="client_id" value="{key}">'
                f"<fieldset><legend>{name}</legend>{boxes}"
                '<p class="actions"><button name="action" value="save">Save</button> '
                '<button class="secondary" name="action" value="disconnect">Disconnect this app</button></p>'
                "</fieldset></form>"
            )
        listed = "".join(rows) or '<p class="muted" id="no-apps">No app is connected.</p>'
        return f'<section aria-labelledby="apps-heading"><h2 id="apps-heading">Connected apps</h2>{listed}</section>'

    async def change_app(self, request: Request) -> Response:
        posted = await self.sessions.posted(request, APPS_FORM)
        if isinstance(posted, Response):
            return posted
        username, client_id = posted.session.username, posted.get("client_id")
        if not any(grant.client_id == client_id for grant in self.store.grants(username)):
            return pages.error("Not connected", "That app is not connected to your account. Nothing changed.", 404)
        if posted.get("action") == "disconnect":
            revoked = self.store.revoke_grant(username, client_id)
            log.info("%s disconnected client %s (%d tokens revoked)", username, client_id, revoked)
            return RedirectResponse(f"{ACCOUNT_PATH}?done=disconnected", status_code=303, headers=NO_STORE)
        capabilities = self.remote.capabilities()
        ticked = posted.all("capability")
        refused = capabilities.refused(ticked) if capabilities is not None else ticked
        if capabilities is None or refused:
            names = ", ".join(refused) or "anything"
            return pages.error("Not granted", f"This server does not let anyone grant {names}. Nothing changed.")
        self.store.put_grant(username, client_id, capabilities.grantable(ticked), self.remote.server.now())
        if self.changed is not None:
            await self.changed(username)
        return RedirectResponse(f"{ACCOUNT_PATH}?done=saved", status_code=303, headers=NO_STORE)

    # --- pending approvals -------------------------------------------------------------------------------------

    def pending_approvals_section(self, session: BrowserSession) -> str:
        """This person's pending approvals (only `session.username`'s), each with its Allow and Deny form, posted to
        the approval pages' own routes (/approvals/<code>, each form with its CSRF token)."""
        if self.pending is None:
            return ""
        return (
            '<section aria-labelledby="approvals-heading"><h2 id="approvals-heading">Pending approvals</h2>'
            f"{self.pending(session)}</section>"
        )

    # --- recent activity ---------------------------------------------------------------------------------------

    def activity_section(self, session: BrowserSession) -> str:
        try:
            lines = own_lines(self.remote.audit, session.username)
        except StoreError as exc:
            log.error("audit unreadable for the account page: %s", exc)
            lines = None
        heading = '<h2 id="activity-heading">Recent activity</h2>'
        if lines is None:
            return f'<section aria-labelledby="activity-heading">{heading}<p>Not readable right now.</p></section>'
        if not lines:
            return f'<section aria-labelledby="activity-heading">{heading}<p class="muted">Nothing yet.</p></section>'
        rows = "".join(
            f"<tr><td>{pages.escape(shown_time(line.get('time')))}</td><td>{pages.escape(str(line.get('tool')))}</td>"
            f"<td>{pages.escape(str(line.get('decision')))}</td><td>{pages.escape(str(line.get('outcome')))}</td></tr>"
            for line in reversed(lines)
        )
        table = (
            '<table id="activity"><thead><tr><th scope="col">When (UTC)</th><th scope="col">Tool</th>'
            f'<th scope="col">Decision</th><th scope="col">Outcome</th></tr></thead><tbody>{rows}</tbody></table>'
        )
        return f'<section aria-labelledby="activity-heading">{heading}{table}</section>'

    # --- leaving -----------------------------------------------------------------------------------------------

    async def log_out(self, request: Request) -> Response:
        """Revoke at Trakt and every token of this person; end every browser session of theirs."""
        posted = await self.sessions.posted(request, LOG_OUT_FORM)
        if isinstance(posted, Response):
            return posted
        username = posted.session.username
        with signing_in():  # the one gate: the person's own page revokes their Trakt token (trakt.gate)
            done = await self.remote.people.manager(username).sign_out()
        revoked = self.store.revoke_person(username)
        log.info("%s logged out on the account page (%d tokens revoked)", username, revoked)
        trakt = "Your Trakt token was revoked at Trakt." if done.revoke_error is None else done.revoke_error
        response = pages.page(
            "Logged out",
            f'<h1 id="logged-out">You are logged out</h1><p>{pages.escape(trakt)} Every app you connected must sign in '
            "again.</p>",
        )
        self.sessions.end_person(username, response)
        return response

    async def sign_out(self, request: Request) -> Response:
        posted = await self.sessions.posted(request, SIGN_OUT_FORM)
        if isinstance(posted, Response):
            return posted
        response = RedirectResponse(ACCOUNT_PATH, status_code=303, headers=NO_STORE)
        self.sessions.end(request, response)
        return response


def own_lines(audit: AuditTrail | None, username: str) -> list[dict[str, Any]]:
    """The person's latest audit lines (oldest first): those whose identity is theirs, never anyone else's."""
    if audit is None:
        return []
    mine = [line for line in audit.tail(ACTIVITY_SCAN) if line.get("identity") == username]
    return mine[-ACTIVITY_LINES:]


def shown_time(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(value)


def leave_section(session: BrowserSession) -> str:
    return (
        '<section aria-labelledby="leave-heading"><h2 id="leave-heading">Log out</h2>'
        "<p>Logging out revokes this server's access to your Trakt account and disconnects every app.</p>"
        f'<form method="post" action="{ACCOUNT_PATH}/log-out" class="inline">{csrf_input(session, LOG_OUT_FORM)}'
        '<button id="log-out">Log out</button></form> '
        f'<form method="post" action="{ACCOUNT_PATH}/sign-out" class="inline">{csrf_input(session, SIGN_OUT_FORM)}'
        '<button id="sign-out" class="secondary">Sign out of this browser only</button></form></section>'
    )


def signed_out_page() -> HTMLResponse:
    return pages.sign_in_needed("Your account", "Your account on this server", SIGN_IN_PATH, ACCOUNT_PATH)
