"""The consent page, after the Trakt sign-in: the app's name and where it returns, and the capabilities the person
ticks (guard.capabilities; Trakt's in trakt_mcp.server.capabilities, changed by the operator's policy).

What is ticked becomes the grant of that person and app (`PeopleStore.put_grant`) and the `scope` of the code, so
of every token that descends from it: the guard hides every tool outside it (`Engine.view(identity, grant)`). A
capability the policy does not offer (off for everyone, or unknown) is refused even when an edited form sends it:
nothing is granted and no code is issued. The form is the person's own: their browser session and the form's CSRF
token (trakt_mcp.remote.browser)."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2 import OAuth2Error
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from guard.capabilities import Capabilities
from trakt_mcp.remote import pages
from trakt_mcp.remote.browser import BrowserSession, csrf_input
from trakt_mcp.remote.oauth import CodeGrant, FormRequest
from trakt_mcp.remote.routes import CONSENT_PATH, EXPIRED, Remote, consent_key, to_response
from trakt_mcp.remote.store import PendingRecord, scope_of

log = logging.getLogger("trakt_mcp.remote")

#: The consent form's name (its CSRF token is bound to it).
CONSENT_FORM = "consent"
#: Ticked when the person has not granted this app anything before.
DEFAULT_TICKS = ("read",)


class ConsentRoutes:
    def __init__(self, remote: Remote) -> None:
        self.remote = remote
        self.server, self.sessions = remote.server, remote.sessions

    def routes(self) -> list[Route]:
        return [Route(CONSENT_PATH, self.show, methods=["GET"]), Route(CONSENT_PATH, self.decide, methods=["POST"])]

    def _waiting(self, consent_id: str, username: str) -> tuple[PendingRecord, str] | None:
        """The authorization waiting for this person's consent (taken: put it back to keep it), and its query."""
        pending = self.server.store.take_pending(consent_key(consent_id), self.server.now())
        if pending is None:
            return None
        waiting = json.loads(pending.request)
        if waiting.get("username") != username:  # another person's consent: theirs, untouched
            self.server.store.put_pending(pending)
            return None
        return pending, str(waiting["query"])

    def _grant(self, request: Request, query: str, scope: str | None = None) -> CodeGrant:
        values = dict(parse_qsl(query)) | ({} if scope is None else {"scope": scope})
        oauth_request = FormRequest("GET", f"{self.remote.base}/authorize", request.headers, values)
        grant: CodeGrant = self.server.get_consent_grant(oauth_request)
        return grant

    async def show(self, request: Request) -> Response:
        session = self.sessions.session(request)
        if session is None:
            return pages.error("Sign in again", "This browser is not signed in (or the session expired).", 403)
        consent_id = request.query_params.get("id", "")
        waiting = self._waiting(consent_id, session.username)
        if waiting is None:
            return pages.error("This sign-in link has expired", EXPIRED)
        pending, query = waiting
        self.server.store.put_pending(pending)
        capabilities = self.remote.capabilities()
        if capabilities is None:
            return pages.error("Nothing can be granted", "The server's policy names no capabilities.", 503)
        try:
            grant = self._grant(request, query)
        except OAuth2Error as exc:
            return pages.error("This app cannot connect", exc.description or exc.error or "invalid request")
        client = grant.request.client.record
        redirect = grant.request.payload.redirect_uri or client.redirect_uris[0]
        before = next((g for g in self.server.store.grants(session.username) if g.client_id == client.client_id), None)
        ticked = before.capabilities if before is not None else DEFAULT_TICKS
        page = consent_page(session, consent_id, client.name, redirect, capabilities, ticked)
        return page

    async def decide(self, request: Request) -> Response:
        posted = await self.sessions.posted(request, CONSENT_FORM)
        if isinstance(posted, Response):
            return posted
        username = posted.session.username
        waiting = self._waiting(posted.get("id"), username)
        if waiting is None:
            return pages.error("This sign-in link has expired", EXPIRED)
        pending, query = waiting
        capabilities = self.remote.capabilities()
        ticked = posted.all("capability")
        not_offered = capabilities.refused(ticked) if capabilities is not None else ticked
        if capabilities is None or not_offered:
            self.server.store.put_pending(pending)  # nothing was granted; the person may choose again
            names = ", ".join(json.dumps(name) for name in not_offered) or "anything"
            return pages.error(
                "Not granted",
                f"This server does not let anyone grant {names} (turned off by its operator, or unknown). "
                "Nothing was granted; go back and choose again.",
                400,
            )
        granted = capabilities.grantable(ticked)
        allow = posted.get("decision") == "allow"
        try:
            grant = self._grant(request, query, scope_of(granted))
        except OAuth2Error as exc:
            return pages.error("This app cannot connect", exc.description or exc.error or "invalid request")
        client_id = grant.request.client.get_client_id()
        if allow:
            self.server.store.put_grant(username, client_id, granted, self.server.now())
            log.info("%s granted %s to client %s", username, scope_of(granted) or "(nothing)", client_id)
        answer = self.server.create_authorization_response(grant.request, username if allow else None, grant)
        return to_response(answer)


def consent_page(
    session: BrowserSession,
    consent_id: str,
    client_name: str,
    redirect_uri: str,
    capabilities: Capabilities,
    ticked: tuple[str, ...],
) -> HTMLResponse:
    boxes = "".join(
        f'<label class="choice"><input type="checkbox" name="capability" value="{pages.escape(c.name)}" '
        f'id="capability-{pages.escape(c.name)}"{" checked" if c.name in ticked else ""}> '
        f"{pages.escape(c.title)}</label>"
        for c in capabilities.offered()
    )
    off = [c.title for c in capabilities.named.values() if c.offer == "off"]
    off_note = (
        f'<p class="muted" id="off">Turned off on this server for everyone: {pages.escape("; ".join(off))}.</p>'
        if off
        else ""
    )
    name, redirect_host = pages.escape(client_name), urlsplit(redirect_uri).netloc or redirect_uri
    return pages.page(
        "Allow this app?",
        f"<h1>What may {name} do with your Trakt account?</h1>"
        f'<p>Signed in as <strong id="person">{pages.escape(session.username)}</strong>. {name} returns to '
        f'<code id="redirect-host">{pages.escape(redirect_host)}</code>. You can change this later on '
        '<a href="/account">your account page</a>.</p>'
        f'<form method="post" action="{CONSENT_PATH}">{csrf_input(session, CONSENT_FORM)}'
        f'<input type="hidden" name="id" value="{pages.escape(consent_id)}">'
        f"<fieldset><legend>{name} may:</legend>{boxes}</fieldset>{off_note}"
        '<p class="actions"><button id="allow" name="decision" value="allow">Allow</button> '
        '<button id="deny" class="secondary" name="decision" value="deny">Deny</button></p></form>',
        form_to=pages.csp_source(redirect_uri),
    )
