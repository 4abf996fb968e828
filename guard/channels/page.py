"""The `page` channel: the caller approves their own call on a web page of this server, in their own browser
session, where their MCP client cannot answer for them (a remote person whose client may be hostile).

The question is a pending approval (guard.approvals, a kind of its own so the owner's terminal never sees it),
bound to the tool, its canonical arguments and the caller, expiring. The page (served by the application, which
knows its people and their browser sessions) shows it and records allow or deny; the next identical call by the
same caller consumes an allowed approval and runs once. How the caller hears of it depends on their client:

- URL-mode elicitation, when the client declared it: the approval page's address (`page_url(code)`, no secret in
  it: the page authorizes by the browser session). Handshake era: an `elicitation/create` request, then the call
  waits (bounded) for the person's decision on the page. Modern era: an `InputRequiredResult` whose retry finds
  the decision. The client's own answer to the elicitation ("accept") only means the person was shown the link:
  it approves nothing.
- An approval card, when the client negotiated MCP Apps: the action in words and a button that opens the page.
  The card carries no nonce and no answer tool, so nothing the client sends can approve.
- Otherwise the answer tells the person to open their approvals page (`list_url`) and call again.

The channel serves only callers `serves` says decide for themselves (guard.channels.base.own_channels): for
them it is the only channel, so the owner's desktop and terminal are never asked about their calls.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import types
from mcp.shared.exceptions import MCPError

from guard.approvals import ApprovalError, Approvals, Pending
from guard.channels.app import APPROVAL_KEY, offers_apps
from guard.channels.base import MAX_WAITING_PER_CALLER, PERSON, Answer, Asking, Refusal, Result, Waiting, shown

log = logging.getLogger("guard")

#: The store kind of these approvals (the owner's are "approval").
KIND = "person_approval"
MODERN_ERA = "2026-07-28"
INPUT_KEY = "guard_approval_page"
STATE_PREFIX = "guard-page:"
#: How long a call whose client opened the page waits for the decision (shorter when the client did not ask for
#: progress: it may give up on a silent call after about a minute), and how often it looks.
WAIT, WAIT_SILENT, POLL = 120.0, 50.0, 0.5
REPORT_EVERY = 10.0


def can_elicit_url(ctx: Any) -> bool:
    """The client declared URL-mode elicitation (2025-11-25 and later)."""
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities else None
    return elicitation is not None and elicitation.url is not None


class PageChannel:
    name = "page"

    def __init__(
        self,
        approvals: Approvals,
        *,
        page_url: Callable[[str], str],
        list_url: str,
        serves: Callable[[str | None], bool],
        wait: float = WAIT,
        wait_silent: float = WAIT_SILENT,
        poll: float = POLL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.approvals = approvals
        self.page_url = page_url
        self.list_url = list_url
        self._serves = serves
        self.wait, self.wait_silent, self.poll = wait, wait_silent, poll
        self._clock, self._sleep = clock, sleep

    def serves(self, identity: str | None) -> bool:
        return identity is not None and self._serves(identity)

    def unavailable(self, asking: Asking) -> str | None:
        return None  # the message always reaches the person: nothing else is needed

    async def answered(self, asking: Asking) -> Answer | None:
        """An approval the person allowed on the page for exactly this call (taken: single use)."""
        question = asking.question
        taken = self.approvals.consume(question.tool, dict(question.arguments), question.identity)
        return None if taken is None else self._approved(taken)

    def _approved(self, taken: Pending) -> Answer:
        approvals = self.approvals
        return Answer(self.name, True, PERSON, undo=lambda: approvals.restore(taken))

    def _mine(self, asking: Asking, pending: Pending | None) -> bool:
        question = asking.question
        return pending is not None and pending.digest == question.key and pending.identity == question.identity

    async def ask(self, asking: Asking) -> Result:
        question = asking.question
        retried = self._retried(asking)
        if retried is not None:
            return retried
        waiting = [p for p in self.approvals.waiting() if p.identity == question.identity and not p.approved]
        existing = next((p for p in waiting if p.digest == question.key and p.tool == question.tool), None)
        if existing is None:
            if len(waiting) >= MAX_WAITING_PER_CALLER:
                return Refusal(
                    self.name,
                    f"{len(waiting)} of your approvals already wait on {self.list_url}; no new one is issued until "
                    "they are allowed, denied or expire",
                )
            if (rationed := asking.ration()) is not None:
                return Refusal(self.name, rationed)
        effect = existing.action if existing else shown(await asking.effect())
        try:
            pending = existing or self.approvals.request(
                question.tool, dict(question.arguments), effect, question.identity
            )
        except ApprovalError as exc:
            return Refusal(self.name, f"{effect}: needs your approval, but {exc}.")
        if can_elicit_url(asking.ctx):
            if asking.ctx.protocol_version >= MODERN_ERA:
                return self._input_required(asking, pending)
            return await self._elicit(asking, pending)
        if offers_apps(asking.ctx):
            return self._card(asking, pending)
        return Waiting(self.name, self._instructions(asking, pending))

    def _retried(self, asking: Asking) -> Result | None:
        """A modern-era retry after the page was offered, not allowed (yet): say where it stands, and never ask the
        client to show the same link again."""
        state = asking.params.get("requestState")
        if not (isinstance(state, str) and state.startswith(STATE_PREFIX)):
            return None
        pending = self.approvals.lookup(state.removeprefix(STATE_PREFIX))
        if pending is None:
            return None  # declined, used, or never ours: asked afresh
        if not self._mine(asking, pending):
            return None
        return self._standing(asking, pending)

    def _standing(self, asking: Asking, pending: Pending) -> Result:
        if pending.expires <= self.approvals.clock():
            message = f"The approval expired before it was used: {pending.action}."
            return Answer(self.name, False, PERSON, message, dismissed=True)  # not a "no": nobody decided in time
        return Waiting(self.name, self._instructions(asking, pending, again=True))

    async def _elicit(self, asking: Asking, pending: Pending) -> Result:
        """Handshake era: show the page's address, then wait (bounded) for the person's decision there."""
        ctx = asking.ctx
        message = self._prompt(asking, pending)
        try:
            answer = await ctx.session.elicit_url(
                message, self.page_url(pending.code), pending.code, related_request_id=ctx.request_id
            )
        except MCPError as exc:  # the client failed to show it: the approval waits on the page all the same
            log.info("the client did not show the approval link: %s", exc)
            return Waiting(self.name, self._instructions(asking, pending))
        if answer.action != "accept":
            verb = "closed the link without opening it" if answer.action == "cancel" else "declined to open the link"
            return Answer(
                self.name,
                False,
                PERSON,
                f"The person {verb}: {pending.action}. The approval stays on {self.list_url} until it expires.",
                dismissed=answer.action == "cancel",
            )
        decided = await self._wait(asking, pending)
        if decided is not None:
            if decided.approved:
                with contextlib.suppress(Exception):  # a client that went away misses only the courtesy notice
                    await ctx.session.send_elicit_complete(pending.code, related_request_id=ctx.request_id)
            return decided
        return self._standing(asking, self.approvals.lookup(pending.code) or pending)

    async def _wait(self, asking: Asking, pending: Pending) -> Answer | None:
        """The person's decision on the page within the wait (and before the approval expires); None without one."""
        question = asking.question
        limit = self.wait if asking.can_wait else self.wait_silent
        deadline = self._clock() + min(limit, pending.expires - self.approvals.clock())
        reported = -math.inf
        while (left := deadline - self._clock()) > 0:
            if self._clock() - reported >= REPORT_EVERY:
                reported = self._clock()
                await asking.report(
                    f"Waiting for your decision on {self.page_url(pending.code)}; {math.ceil(left)} s left"
                )
            await self._sleep(min(self.poll, left))
            taken = self.approvals.consume(question.tool, dict(question.arguments), question.identity)
            if taken is not None:
                return self._approved(taken)
            if self.approvals.lookup(pending.code) is None:
                return Answer(self.name, False, PERSON, f"You denied it on the approval page: {pending.action}.")
        return None

    def _input_required(self, asking: Asking, pending: Pending) -> Result:
        params = types.ElicitRequestURLParams(message=self._prompt(asking, pending), url=self.page_url(pending.code))
        reply = types.InputRequiredResult(
            input_requests={INPUT_KEY: types.ElicitRequest(params=params)},
            request_state=STATE_PREFIX + pending.code,
        )
        return Waiting(self.name, reply=reply)

    def _card(self, asking: Asking, pending: Pending) -> Result:
        question = asking.question
        card = {
            "tool": question.tool,
            "effect": pending.action,
            "asked_by": question.who(),
            "rule": question.rule,
            "approve_url": self.page_url(pending.code),
            "expires_in": max(0.0, pending.expires - self.approvals.clock()),
        }
        text = self._instructions(asking, pending)
        content: list[types.ContentBlock] = [types.TextContent(type="text", text=text)]
        reply = types.CallToolResult(content=content, is_error=True, _meta={APPROVAL_KEY: card})  # nothing ran
        return Waiting(self.name, reply=reply)

    def _prompt(self, asking: Asking, pending: Pending) -> str:
        return (
            f"{pending.action}\n\nAllow or deny this on your approvals page, in your browser where you signed in to "
            f"this server (asked because of {asking.question.rule})."
        )

    def _instructions(self, asking: Asking, pending: Pending, *, again: bool = False) -> str:
        question = asking.question
        minutes = max(1, math.ceil((pending.expires - self.approvals.clock()) / 60))
        within = "1 minute" if minutes == 1 else f"{minutes} minutes"
        status = "It is not allowed yet" if again else "Nothing ran yet"
        return (
            f"Needs the person's own approval (asked because of {question.rule}): {pending.action}. {status}: ask "
            f"them to open {self.list_url} in their browser (where they signed in to this server) and allow it "
            f"within {within}, then call {question.tool} again with exactly the same arguments. Their MCP "
            "client cannot approve it for them."
        )

    # --- for the page ----------------------------------------------------------------------------------------------

    def of(self, identity: str) -> list[Pending]:
        """This person's live approvals, oldest first (allowed ones wait for their call)."""
        return [pending for pending in self.approvals.waiting() if pending.identity == identity]

    def find(self, code: str, identity: str) -> Pending | None:
        """This person's approval under `code`, live or expired (compare `expires` with `now()`); another person's
        is None, exactly as an unknown one."""
        pending = self.approvals.lookup(code)
        return pending if pending is not None and pending.identity == identity else None

    def now(self) -> float:
        return self.approvals.clock()

    def decide(self, code: str, identity: str, allow: bool) -> Pending | None:
        """Allow or deny this person's approval: the approval as it now stands (unchanged when expired: compare
        `expires` with `now()`), or None when there is no such approval of theirs."""
        pending = self.find(code, identity)
        if pending is None or pending.expires <= self.now():
            return pending
        try:
            return self.approvals.decide(pending.code, allow)
        except ApprovalError:  # expired or used in the meantime
            return self.find(code, identity)
