"""The HTTP side of multi-user mode: authorization-server metadata, /authorize (-> sign-in page -> Trakt),
/oauth/trakt/callback (-> the consent page, trakt_mcp.remote.consent -> our code for the client), /signin (the
server's own pages), /token, /register (rate-limited), /revoke, and the bearer
check's `TokenVerifier` (the SDK's resource-server piece; the SDK serves the protected-resource metadata and the
401 challenge)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from mcp.server.auth.provider import AccessToken
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from guard.audit import AuditTrail
from guard.capabilities import Capabilities
from guard.store import StoreError
from trakt_mcp.remote import pages, trakt_signin
from trakt_mcp.remote.browser import BrowserSessions
from trakt_mcp.remote.client_documents import ClientDocuments, DocumentRefused, is_document_url
from trakt_mcp.remote.oauth import Answer, BodyJsonRequest, FormRequest, MultiUserServer
from trakt_mcp.remote.people import PERSON_CLAIM, People
from trakt_mcp.remote.store import PendingRecord, digest
from trakt_mcp.trakt.errors import TraktError
from trakt_mcp.trakt.tokens import Token

log = logging.getLogger("trakt_mcp.remote")

#: How long a person has to finish the Trakt sign-in once the authorization started.
PENDING_SECONDS = 600.0
#: Dynamic client registration: at most this many per hour from one address, and from everyone.
REGISTRATIONS_PER_ADDRESS, REGISTRATIONS_TOTAL = 10, 200
MAX_FORM_BYTES = 16 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
EXPIRED = "It was used already or is older than 10 minutes."


MCP_PATH = "/mcp"
#: Signing in to this server's own pages (account, approvals) without an MCP client: `?next=/a/local/path`.
SIGN_IN_PATH = "/signin"
#: A pending sign-in for the pages (not for a client) keeps the local path to return to after this prefix.
PAGE_PENDING = "page:"
#: After the Trakt sign-in, the person chooses what the app may do (trakt_mcp.remote.consent).
CONSENT_PATH = "/consent"


def consent_key(consent_id: str) -> str:
    """Where an authorization waiting for the person's consent is kept (a pending record, by digest)."""
    return digest(f"consent:{consent_id}")


def local_path(next_path: str | None, default: str = "/account") -> str:
    """Where a page sign-in may return: a path on this server only (never another site: `//host`, `/\\host`)."""
    if not next_path or not next_path.startswith("/") or next_path.startswith(("//", "/\\")) or len(next_path) > 512:
        return default
    return next_path


@dataclass
class Remote:
    """Multi-user mode's parts, kept on the App (`app.remote`)."""

    base: str
    server: MultiUserServer
    people: People
    documents: ClientDocuments
    sessions: BrowserSessions
    #: The capabilities in force (the policy's, hot reload included); set once the guard is installed.
    capabilities: Callable[[], Capabilities | None] = lambda: None
    #: The guard's audit trail (the account page shows a person their own lines); set with `capabilities`.
    audit: AuditTrail | None = None

    @property
    def resource(self) -> str:
        return f"{self.base}{MCP_PATH}"


class PeopleTokenVerifier:
    """The SDK's TokenVerifier: an access token this server issued, live and not revoked, names its person."""

    def __init__(self, server: MultiUserServer) -> None:
        self.server = server

    async def verify_token(self, token: str) -> AccessToken | None:
        record = self.server.store.token(digest(token), self.server.now())
        if record is None or record.kind != "access" or record.revoked:
            return None
        return AccessToken(
            token="[redacted]",
            client_id=record.client_id,
            scopes=record.scope.split(),  # the capabilities the person granted this app (guard.capabilities)
            expires_at=int(record.expires_at),
            resource=record.resource,
            subject=record.username,
            claims={"iss": self.server.issuer, PERSON_CLAIM: record.username},
        )


def to_response(answer: Answer) -> Response:
    headers = {name: value for name, value in answer.headers}
    if answer.location is not None and answer.status in (301, 302, 303, 307):
        return RedirectResponse(answer.location, status_code=302, headers={**NO_STORE})
    body = answer.body if isinstance(answer.body, dict) else json.loads(answer.body or "{}")
    headers.pop("Content-Type", None)
    return JSONResponse(body, status_code=answer.status, headers={**headers, **NO_STORE})


class RemoteRoutes:
    def __init__(self, remote: Remote) -> None:
        self.server, self.people, self.documents, self.base = (
            remote.server,
            remote.people,
            remote.documents,
            remote.base,
        )
        self.sessions = remote.sessions
        self.settings = self.people.settings

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/authorize", self.authorize, methods=["GET"]),
            Route(trakt_signin.CALLBACK_PATH, self.trakt_callback, methods=["GET"]),
            Route(trakt_signin.DEVICE_PATH, self.trakt_device, methods=["POST"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/register", self.register, methods=["POST"]),
            Route("/revoke", self.revoke, methods=["POST"]),
            Route(SIGN_IN_PATH, self.page_sign_in, methods=["GET"]),
        ]

    async def metadata(self, request: Request) -> Response:
        return JSONResponse(self.server.metadata(), headers={"Access-Control-Allow-Origin": "*"})

    def _request(self, request: Request, values: dict[str, str], path: str) -> FormRequest:
        return FormRequest(request.method, f"{self.base}{path}", request.headers, values)

    async def _known_client(self, client_id: str | None) -> None:
        """A client ID metadata document is fetched (or taken from the cache) before authlib looks the client up."""
        if client_id and is_document_url(client_id):
            await self.documents.ensure(client_id, self.server.now())

    async def authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        try:
            await self._known_client(query.get("client_id"))
            grant = self.server.get_consent_grant(self._request(request, query, "/authorize"))
        except DocumentRefused as exc:
            return pages.error("This app cannot connect", str(exc))
        except OAuth2Error as exc:
            return self._authorize_error(request, exc)
        except StoreError as exc:
            return pages.error("The server cannot sign anyone in right now", str(exc), 503)
        state = secrets.token_urlsafe(32)
        expires = self.server.now() + PENDING_SECONDS
        self.server.store.put_pending(PendingRecord(digest(state), urlencode(query), expires))
        client = grant.request.client.record
        redirect_host = urlsplit(grant.request.payload.redirect_uri or client.redirect_uris[0]).netloc
        if self.settings.trakt_signin == "device":
            return pages.sign_in_with_code(client.name, redirect_host, state)
        return pages.sign_in(client.name, redirect_host, trakt_signin.authorize_url(self.settings, self.base, state))

    async def page_sign_in(self, request: Request) -> Response:
        """Sign in to this server's pages with Trakt (no app involved): back to `next` with a browser session."""
        state = secrets.token_urlsafe(32)
        target = local_path(request.query_params.get("next"))
        expires = self.server.now() + PENDING_SECONDS
        self.server.store.put_pending(PendingRecord(digest(state), PAGE_PENDING + target, expires))
        if self.settings.trakt_signin == "device":
            return pages.sign_in_with_code("your account page", urlsplit(self.base).netloc, state)
        return pages.sign_in(
            "your account page", urlsplit(self.base).netloc, trakt_signin.authorize_url(self.settings, self.base, state)
        )

    def _authorize_error(self, request: Request, exc: OAuth2Error) -> Response:
        """An error goes back to the client only once its redirect URI is known to be its own; else a page."""
        if exc.redirect_uri:
            answer = self.server.handle_error_response(self._request(request, {}, "/authorize"), exc)
            self.server.issuer_parameter.add_issuer_parameter(self.server, answer)  # RFC 9207: on errors too
            return to_response(answer)
        return pages.error("This app cannot connect", exc.description or exc.error or "invalid request")

    async def trakt_callback(self, request: Request) -> Response:
        params = request.query_params
        pending = self.server.store.take_pending(digest(params.get("state", "")), self.server.now())
        if pending is None:
            return pages.error("This sign-in link has expired", EXPIRED)
        if "code" not in params:  # the person said no at Trakt
            return await self._finish(request, pending, None)
        try:
            token = await trakt_signin.exchange(self.people.http, self.settings, params["code"], self.base)
        except TraktError as exc:
            return pages.error("Trakt sign-in did not finish", str(exc), 502)
        return await self._finish(request, pending, token)

    async def trakt_device(self, request: Request) -> Response:
        """The device flow (an app with only the out-of-band redirect): a code for the person to enter at Trakt,
        then each "continue" asks Trakt once. The code waits beside the pending authorization, taken and put back
        so that two tabs never poll with it at once."""
        form = await self._form(request)
        state = form.get("state", "") if isinstance(form, dict) else ""
        store, now, device_key = self.server.store, self.server.now(), digest(f"device:{state}")
        waiting = store.take_pending(device_key, now)
        try:
            if waiting is None:
                pending = store.take_pending(digest(state), now)
                if pending is None:
                    return pages.error("This sign-in link has expired", EXPIRED)
                store.put_pending(pending)
                device = await trakt_signin.start_device(self.people.http, self.settings)
                store.put_pending(PendingRecord(device_key, device.to_json(), pending.expires_at))
                return pages.enter_code(device.user_code, device.verification_url, state, waiting=False)
            device = trakt_signin.DeviceCode.from_json(waiting.request)
            token = await trakt_signin.poll_device(self.people.http, self.settings, device)
        except TraktError as exc:
            return pages.error("Trakt sign-in did not finish", str(exc), 502)
        if token is None:
            store.put_pending(waiting)
            return pages.enter_code(device.user_code, device.verification_url, state, waiting=True)
        pending = store.take_pending(digest(state), now)
        if pending is None:
            return pages.error("This sign-in link has expired", EXPIRED)
        return await self._finish(request, pending, token)

    async def _finish(self, request: Request, pending: PendingRecord, token: Token | None) -> Response:
        """The person's Trakt token (None: they said no at Trakt) answers the client's waiting authorization, or
        (a page sign-in) starts their browser session."""
        if pending.request.startswith(PAGE_PENDING):
            return await self._finish_page(request, pending.request.removeprefix(PAGE_PENDING), token)
        oauth_request = FormRequest("GET", f"{self.base}/authorize", request.headers, dict(parse_qsl(pending.request)))
        try:
            grant = self.server.get_consent_grant(oauth_request)
        except OAuth2Error as exc:
            return self._authorize_error(request, exc)
        if token is None:
            return to_response(self.server.create_authorization_response(oauth_request, None, grant))
        try:
            username = await self._person_signed_in(token)
        except TraktError as exc:
            return pages.error("Trakt sign-in did not finish", str(exc), 502)
        log.info("%s signed in with Trakt for client %s", username, grant.request.client.get_client_id())
        consent = secrets.token_urlsafe(24)
        waiting = json.dumps({"query": pending.request, "username": username})
        self.server.store.put_pending(PendingRecord(consent_key(consent), waiting, self.server.now() + PENDING_SECONDS))
        response = RedirectResponse(f"{CONSENT_PATH}?{urlencode({'id': consent})}", status_code=303, headers=NO_STORE)
        self.sessions.set_cookie(request, response, self.sessions.start(username))
        return response

    async def _person_signed_in(self, token: Token) -> str:
        """Who signed in at Trakt; their new Trakt token is kept (sealed) and the one it replaces revoked at Trakt."""
        username = await trakt_signin.username(self.people.http, token)
        previous = self.people.signed_in(username, token)
        if previous is not None and previous.access_token != token.access_token:
            await trakt_signin.revoke(self.people.http, self.settings, previous)
        return username

    async def _finish_page(self, request: Request, target: str, token: Token | None) -> Response:
        if token is None:
            return pages.error("You did not sign in", "Trakt did not sign you in, so no page of yours is open.")
        try:
            username = await self._person_signed_in(token)
        except TraktError as exc:
            return pages.error("Trakt sign-in did not finish", str(exc), 502)
        response = RedirectResponse(local_path(target), status_code=303, headers=NO_STORE)
        self.sessions.set_cookie(request, response, self.sessions.start(username))
        return response

    async def _form(self, request: Request) -> dict[str, str] | Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return JSONResponse({"error": "invalid_request", "error_description": "body too large"}, 413)
        return dict(parse_qsl(body.decode(errors="replace")))

    async def token(self, request: Request) -> Response:
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        try:
            await self._known_client(form.get("client_id"))
        except DocumentRefused as exc:
            return JSONResponse({"error": "invalid_client", "error_description": str(exc)}, 401)
        return to_response(self.server.create_token_response(self._request(request, form, "/token")))

    async def revoke(self, request: Request) -> Response:
        form = await self._form(request)
        if isinstance(form, Response):
            return form
        return to_response(self.server.create_endpoint_response("revocation", self._request(request, form, "/revoke")))

    async def register(self, request: Request) -> Response:
        address = request.client.host if request.client else ""
        since = self.server.now() - 3600
        store = self.server.store
        if (
            store.registrations_since(since, address) >= REGISTRATIONS_PER_ADDRESS
            or store.registrations_since(since) >= REGISTRATIONS_TOTAL
        ):
            return JSONResponse(
                {"error": "too_many_requests", "error_description": "too many registrations; try again later"},
                429,
                headers={"Retry-After": "3600"},
            )
        body = await request.body()
        try:
            data: Any = json.loads(body) if len(body) <= MAX_FORM_BYTES else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return JSONResponse({"error": "invalid_client_metadata", "error_description": "a JSON object"}, 400)
        oauth_request = BodyJsonRequest(f"{self.base}/register", request.headers, data)
        oauth_request.registered_from = address
        return to_response(self.server.create_endpoint_response("client_registration", oauth_request))
