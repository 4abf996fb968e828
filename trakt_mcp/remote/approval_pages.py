"""A person's approval pages, in their own browser session (`trakt_mcp.remote.browser`), never their MCP client:

- `/approvals`: the session person's pending approvals, each with allow and deny;
- `/approvals/<code>`: one of them, the action in words (the guard's effect sentence, with its counts), the tool
  and arguments, when it expires; allow or deny. Another person's approval answers exactly as an unknown one
  (404), and cannot be answered; an expired one says so (410) and can no longer be allowed;
- every form carries its own CSRF token (bound to the session and the approval), and a post without it, or from
  another site, is refused (403) and changes nothing.
The addresses carry no secret: the code only names the approval, the session authorizes.
"""

from __future__ import annotations

import json
import time
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from guard.approvals import Pending
from guard.channels.page import PageChannel
from trakt_mcp.remote import pages
from trakt_mcp.remote.approvals import APPROVALS_PATH
from trakt_mcp.remote.browser import BrowserSession, BrowserSessions, csrf_input

STYLE = """<style>
.approval { border: 1px solid var(--muted); border-radius: .5rem; padding: .25rem 1rem 1rem; margin: 1rem 0; }
.effect { font-size: 1.15rem; font-weight: 600; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; }
dt { color: var(--muted); } dd { margin: 0; } pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; }
button.secondary { background: transparent; color: var(--fg); border-color: var(--muted); }
</style>"""


def form_name(code: str) -> str:
    """Each approval's form has a CSRF token of its own."""
    return f"approval {code}"


def _expires(pending: Pending, now: float) -> str:
    at = time.strftime("%H:%M UTC", time.gmtime(pending.expires))
    if pending.expires <= now:
        return f"expired at {at}"
    minutes = max(1, round((pending.expires - now) / 60))
    return f"in about {minutes} minute{'s' if minutes != 1 else ''} ({at})"


def _given(value: Any) -> Any:
    """The arguments as the person would write them: without the fields left empty."""
    if isinstance(value, dict):
        return {key: _given(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_given(item) for item in value]
    return value


def approval_html(
    session: BrowserSession, pending: Pending, now: float, *, heading: str = "h2", link: bool = True
) -> str:
    """One approval: what it does, and (while it can be) allow / deny. Reused by the account page."""
    code = escape(pending.code)
    arguments = json.dumps(_given(pending.arguments), ensure_ascii=False, separators=(", ", ": "), sort_keys=True)
    address = f'<dt>Link</dt><dd><a href="{APPROVALS_PATH}/{code}">{code}</a></dd>' if link else ""
    expired = pending.expires <= now
    if expired:
        state = '<p id="state"><strong>This approval expired.</strong> Nothing ran; ask your app to try again.</p>'
    elif pending.approved:
        state = '<p id="state"><strong>Allowed.</strong> It runs once, when your app calls it (again).</p>'
    else:
        state = (
            f'<form method="post" action="{APPROVALS_PATH}/{code}" class="actions">'
            f"{csrf_input(session, form_name(pending.code))}"
            f'<button name="decision" value="deny" class="secondary" id="deny-{code}">Deny</button>'
            f'<button name="decision" value="allow" id="allow-{code}">Allow once</button></form>'
        )
    return (
        f'<section class="approval" aria-labelledby="effect-{code}">'
        f'<{heading} class="effect" id="effect-{code}">{escape(pending.action)}</{heading}>'
        f"<dl><dt>Tool</dt><dd><code>{escape(pending.tool)}</code></dd>"
        f"<dt>Arguments</dt><dd><pre>{escape(arguments)}</pre></dd>"
        f"<dt>Expires</dt><dd>{escape(_expires(pending, now))}</dd>"
        f"{address}</dl>{state}</section>"
    )


def approvals_html(session: BrowserSession, channel: PageChannel) -> str:
    """The person's pending approvals (for /approvals and the account page)."""
    mine = channel.of(session.username)
    if not mine:
        return '<p class="muted" id="no-approvals">Nothing waits for your approval.</p>'
    now = channel.now()
    return "".join(approval_html(session, pending, now, heading="h3") for pending in mine)


class ApprovalRoutes:
    def __init__(self, channel: PageChannel, sessions: BrowserSessions, sign_in: str) -> None:
        self.channel, self.sessions, self.sign_in = channel, sessions, sign_in

    def routes(self) -> list[Route]:
        return [
            Route(APPROVALS_PATH, self.list, methods=["GET"]),
            Route(f"{APPROVALS_PATH}/{{code}}", self.show, methods=["GET"]),
            Route(f"{APPROVALS_PATH}/{{code}}", self.answer, methods=["POST"]),
        ]

    def _signed_out(self, back: str) -> HTMLResponse:
        return pages.sign_in_needed("Your approvals", "Your approvals", self.sign_in, back, 401)

    async def list(self, request: Request) -> Response:
        session = self.sessions.session(request)
        if session is None:
            return self._signed_out(APPROVALS_PATH)
        return pages.page(
            "Your approvals",
            f'{STYLE}<h1>Your approvals</h1><p>Signed in as <strong id="person">{escape(session.username)}</strong>. '
            "Actions your apps asked to take for you, waiting for your decision. Your apps cannot decide for you.</p>"
            f"{approvals_html(session, self.channel)}",
        )

    async def show(self, request: Request) -> Response:
        code = request.path_params["code"]
        session = self.sessions.session(request)
        if session is None:
            return self._signed_out(f"{APPROVALS_PATH}/{code}")
        pending = self.channel.find(code, session.username)
        if pending is None:
            return not_found()
        return self._one(session, pending)

    async def answer(self, request: Request) -> Response:
        code = request.path_params["code"]
        posted = await self.sessions.posted(request, form_name(code))
        if isinstance(posted, Response):
            return posted
        decision = posted.get("decision")
        if decision not in ("allow", "deny"):
            return pages.error("Not a decision", 'Expected "allow" or "deny". Nothing was changed.')
        pending = self.channel.decide(code, posted.session.username, decision == "allow")
        if pending is None:
            return not_found()
        if pending.expires <= self.channel.now():
            return self._one(posted.session, pending)
        if decision == "deny":
            return pages.page(
                "Denied",
                f'{STYLE}<h1 id="outcome">Denied</h1><p class="effect">{escape(pending.action)}</p>'
                f'<p>Nothing ran, and it will not run for this request. <a href="{APPROVALS_PATH}">Your approvals</a>'
                "</p>",
            )
        return pages.page(
            "Allowed",
            f'{STYLE}<h1 id="outcome">Allowed once</h1><p class="effect">{escape(pending.action)}</p>'
            "<p>It runs once: now, if your app is waiting, or when it calls again with exactly the same request. "
            f'You can close this page. <a href="{APPROVALS_PATH}">Your approvals</a></p>',
        )

    def _one(self, session: BrowserSession, pending: Pending) -> HTMLResponse:
        expired = pending.expires <= self.channel.now()
        return pages.page(
            "Approval expired" if expired else "Allow this action?",
            f"{STYLE}<h1>{'This approval expired' if expired else 'Allow this action?'}</h1>"
            f'<p>Signed in as <strong id="person">{escape(session.username)}</strong>. Your app asked to do this '
            "for you; only you can decide, here.</p>"
            f"{approval_html(session, pending, self.channel.now(), link=False)}",
            410 if expired else 200,
        )


def not_found() -> HTMLResponse:
    """The same answer for an unknown approval, a used or denied one, and another person's."""
    return pages.page(
        "No such approval",
        '<h1>No such approval</h1><p id="detail">There is no approval of yours under this address: it was never '
        "issued to you, or it was already used or denied.</p>"
        f'<p><a href="{APPROVALS_PATH}">Your approvals</a></p>',
        404,
    )
