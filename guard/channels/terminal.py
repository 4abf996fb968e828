"""The `terminal` channel: the owner approves at a real terminal (`APP approve CODE`; `APP approve` lists what waits).

The question is a pending approval in the state folder, bound to the tool, its exact arguments and the caller.
When the client can wait (it sent a progress token) the call waits for the owner's answer, within a bounded time,
reporting progress; otherwise, or when the owner has not answered in time, the agent is told the code and the same
call runs once after approval. An approval is taken only by a call that runs: the guard asks this channel for an
earlier answer only after the call was found ready to run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import anyio

from guard.approvals import ApprovalError, Approvals, Pending
from guard.channels.base import MAX_WAITING_PER_CALLER, OWNER, Answer, Asking, Refusal, Result, Waiting

#: How long a call that can wait waits for the owner at the terminal, and how often it looks.
WAIT = 120.0
POLL = 0.5
#: How often a waiting call tells the client it is still waiting.
REPORT_EVERY = 10.0


class TerminalChannel:
    name = "terminal"

    def __init__(
        self,
        approvals: Approvals | None,
        command: str = "approve",
        *,
        wait: float = WAIT,
        poll: float = POLL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.approvals = approvals
        #: What the owner types, e.g. "trakt-mcp approve" (with --home when the server's state folder may differ).
        self.command = command
        self.wait = wait
        self.poll = poll
        self._clock = clock
        self._sleep = sleep

    def unavailable(self, asking: Asking) -> str | None:
        if self.approvals is None:
            return "terminal: this server keeps no approvals (no state folder)"
        return None

    async def answered(self, asking: Asking) -> Answer | None:
        if self.approvals is None:
            return None
        question = asking.question
        taken = self.approvals.consume(question.tool, dict(question.arguments), question.identity)
        if taken is None:
            return None
        return self._approved(taken)

    def _approved(self, taken: Pending) -> Answer:
        approvals = self.approvals
        assert approvals is not None
        return Answer(self.name, True, OWNER, undo=lambda: approvals.restore(taken))

    async def ask(self, asking: Asking) -> Result:
        assert self.approvals is not None
        question = asking.question
        arguments = dict(question.arguments)
        existing = next(
            (p for p in self.approvals.waiting() if p.digest == question.key and p.tool == question.tool), None
        )
        if existing is None:
            mine = sum(1 for p in self.approvals.waiting() if p.identity == question.identity and not p.approved)
            if mine >= MAX_WAITING_PER_CALLER:
                return Refusal(
                    self.name,
                    f"{mine} approvals asked by this caller already wait for the owner; no new one is issued until "
                    f"they are approved, declined or expire (`{self.command}` lists them).",
                )
            if (rationed := asking.ration()) is not None:
                return Refusal(self.name, rationed)
        effect = existing.action if existing else await asking.effect()
        try:
            pending = existing or self.approvals.request(question.tool, arguments, effect, question.identity)
        except ApprovalError as exc:
            return Refusal(self.name, f"{effect}: needs the owner's approval, but {exc}.")
        if asking.can_wait:
            answer = await self._wait(asking, pending.code)
            if answer is not None:
                return answer
        return Waiting(self.name, self._instructions(asking, pending.code, effect))

    async def _wait(self, asking: Asking, code: str) -> Answer | None:
        """Wait for the owner's answer; None when it did not come in time (the approval stays pending)."""
        assert self.approvals is not None
        question = asking.question
        deadline = self._clock() + self.wait
        reported = -math.inf
        while (left := deadline - self._clock()) > 0:
            if self._clock() - reported >= REPORT_EVERY:
                reported = self._clock()
                await asking.report(
                    f"Waiting for the owner to approve at a terminal: `{self.command} {code}` "
                    f"(or `{self.command}` to list what waits); {math.ceil(left)} s left"
                )
            await self._sleep(min(self.poll, left))
            taken = self.approvals.consume(question.tool, dict(question.arguments), question.identity)
            if taken is not None:
                return self._approved(taken)
            try:
                self.approvals.load(code)
            except ApprovalError:
                return Answer(self.name, False, OWNER, f"The owner declined at the terminal: {await asking.effect()}.")
        return None

    def _instructions(self, asking: Asking, code: str, effect: str) -> str:
        assert self.approvals is not None
        minutes = max(1, round(self.approvals.ttl / 60))
        folder = f" (state folder {asking.home})" if asking.home else ""
        return (
            f"Needs the owner's approval (asked because of {asking.question.rule}): {effect}. Nobody could be asked "
            f"here, so ask the user to run `{self.command} {code}` in a terminal within {minutes} minutes"
            f"{folder}, then call {asking.question.tool} again with exactly the same arguments. Nothing ran yet."
        )
