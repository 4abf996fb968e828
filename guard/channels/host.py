"""The `host` channel: MCP form elicitation, answered in the client's own UI (Claude Code, Cursor, VS Code).

Both protocol eras: in the handshake era the question goes over the session's back-channel and the call waits for
the answer; in the modern era the call answers `InputRequiredResult` and the client's retry carries the answer,
checked against a single-use record in the state store (guard.approvals.Questions) bound to the tool, its
arguments and the caller.

The answer comes from the caller's own client, so this channel is trusted only for the local user or an identity
the policy marks `trust_host` (guard.channels.base.untrusted); a remote caller could otherwise approve itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp import types

from guard.approvals import Questions
from guard.channels.base import HOST, Answer, AnsweredBy, Asking, Result, Waiting

MODERN_ERA = "2026-07-28"
INPUT_KEY = "guard_confirm"
STATE_PREFIX = "mcp-guard:"
CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Allow", "description": "Run this action once"}},
    "required": ["confirm"],
}


def can_elicit_form(ctx: Any) -> bool:
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities else None
    if elicitation is None:
        return False
    return elicitation.form is not None or elicitation.url is None


def _accepted(response: Any) -> bool:
    if not isinstance(response, Mapping):
        return False
    content = response.get("content")
    return response.get("action") == "accept" and isinstance(content, Mapping) and content.get("confirm") is True


class HostChannel:
    name = "host"

    def __init__(self, questions: Questions, *, label: str = "host", by: AnsweredBy = HOST) -> None:
        #: Modern-era questions asked and not yet answered, shared by every process on the same state store.
        self.questions = questions
        #: What the audit records as the channel and who answered: the host's UI by default; a client that runs
        #: in this very process for the owner (`trakt-mcp call` at a terminal) is the owner's terminal.
        self.label = label
        self.by = by

    def unavailable(self, asking: Asking) -> str | None:
        if can_elicit_form(asking.ctx):
            return None
        return "host: the MCP client did not declare form elicitation, so it cannot show a question"

    async def answered(self, asking: Asking) -> Answer | None:
        """The modern-era retry: the state must be one we issued, unused, unexpired, for this very call and caller."""
        state = asking.params.get("requestState")
        if not (isinstance(state, str) and state.startswith(STATE_PREFIX)):
            return None
        question = asking.question
        if not self.questions.answer(state.removeprefix(STATE_PREFIX), question.tool, question.key):
            return Answer(
                self.label,
                False,
                self.by,
                "This confirmation does not match a pending question (used, expired, or for other arguments).",
            )
        responses = asking.params.get("inputResponses")
        response = responses.get(INPUT_KEY) if isinstance(responses, Mapping) else None
        params = {k: v for k, v in asking.params.items() if k not in ("inputResponses", "requestState")}
        return await self._answer(asking, _accepted(response), response, params)

    async def ask(self, asking: Asking) -> Result:
        if asking.ctx.protocol_version >= MODERN_ERA:
            return await self._ask_modern(asking)
        answer = await asking.ctx.session.elicit_form(
            await self._question(asking), requested_schema=CONFIRM_SCHEMA, related_request_id=asking.ctx.request_id
        )
        response = answer.model_dump()
        return await self._answer(asking, _accepted(response), response, None)

    async def _question(self, asking: Asking) -> str:
        return f"{await asking.effect()}\n\nAllow this once? (asked because of {asking.question.rule})"

    async def _answer(self, asking: Asking, accepted: bool, response: Any, params: Mapping[str, Any] | None) -> Answer:
        if accepted:
            return Answer(self.label, True, self.by, params=params)
        action = response.get("action") if isinstance(response, Mapping) else None
        verb = "dismissed the question without answering" if action == "cancel" else "declined"
        message = f"The user {verb}: {await asking.effect()}."
        return Answer(self.label, False, self.by, message, dismissed=action == "cancel")

    async def _ask_modern(self, asking: Asking) -> Result:
        question = asking.question
        message = await self._question(asking)
        nonce = self.questions.ask(question.tool, question.key)
        ask = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=message, requested_schema=CONFIRM_SCHEMA)
        )
        reply = types.InputRequiredResult(input_requests={INPUT_KEY: ask}, request_state=STATE_PREFIX + nonce)
        return Waiting(self.name, reply=reply)
