"""The `app` channel: an approval card in the conversation, for hosts that render MCP Apps but cannot elicit
(Claude Desktop, claude.ai).

Asking answers the call at once with the effect sentence, who asked and the rule, for the model as text and for
the card in the result's `_meta`, which alone carries a single-use nonce. The nonce is kept in the shared state
store, bound to the tool, its canonical arguments and the caller. The card's Allow or Deny is a call of the
answer tool, which only the card sees (`_meta.ui.visibility: ["app"]`, listed only to Apps hosts); the guard runs
the confirmed call once, through the rest of its checks. A wrong, used, expired or another caller's nonce is
refused and audited, and a foreign nonce stays usable by its owner.

Trust: the card runs inside the caller's own host, like elicitation, so the answer is the host's. It is trusted
for the local user only, or for an identity the policy marks `trust_host` (guard.channels.base.untrusted).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.server.apps import client_supports_apps

from guard.approvals import digest
from guard.channels.base import MAX_WAITING_PER_CALLER, Asking, Refusal, Result, Waiting, shown
from guard.store import Store, StoreFull

#: The `_meta` key of a pending approval in a tool result (read by the card, never shown to the model).
APPROVAL_KEY = "guard/approval"
ANSWER_TOOL = "answer_approval"
PENDING = "app_approval"
#: At most this many approval cards wait at once (a flood evicts the oldest).
MAX_PENDING = 200


def offers_apps(ctx: Any) -> bool:
    """The caller's client negotiated MCP Apps (io.modelcontextprotocol/ui with the card MIME type)."""
    try:
        return client_supports_apps(ctx)
    except AttributeError:
        return False


@dataclass(frozen=True)
class Decided:
    """What an answer-tool call carries, once checked: the call it approves, or why it is refused."""

    tool: str | None
    arguments: dict[str, Any]
    allow: bool
    effect: str = ""
    refused: str | None = None


class AppChannel:
    name = "app"
    #: The app-only tool an approval card calls with the person's answer (the same for every AppChannel).
    answer_tool = ANSWER_TOOL

    def __init__(self, store: Store, *, ttl: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock

    def unavailable(self, asking: Asking) -> str | None:
        if offers_apps(asking.ctx):
            return None
        return "app: the MCP client did not negotiate MCP Apps, so it cannot show an approval card"

    async def answered(self, asking: Asking) -> None:
        return None  # the card's answer is a call of its own (the answer tool), never a retry of this one

    async def ask(self, asking: Asking) -> Result:
        question = asking.question
        now = self.clock()
        mine = [r for _, r in self.store.items(PENDING, now) if r.get("identity") == question.identity]
        if len(mine) >= MAX_WAITING_PER_CALLER:
            return Refusal(self.name, f"{len(mine)} approval cards of this caller already wait for an answer")
        effect = shown(await asking.effect())
        nonce = secrets.token_urlsafe(24)
        record = {
            "tool": question.tool,
            "arguments": dict(question.arguments),
            "digest": question.key,
            "identity": question.identity,
            "effect": effect,
        }
        try:
            self.store.put(PENDING, nonce, record, now + self.ttl, now, cap=MAX_PENDING, evict=True)
        except StoreFull as exc:
            return Refusal(self.name, f"app: {exc}")
        minutes = max(1, round(self.ttl / 60))
        text = (
            f"Needs the user's approval (asked because of {question.rule}): {effect}. An approval card in the "
            f"conversation asks them now; nothing ran yet. If they allow it within {minutes} minutes it runs once from "
            f"the card, so do not call {question.tool} again for it."
        )
        card = {
            "nonce": nonce,
            "tool": question.tool,
            "effect": effect,
            "asked_by": question.who(),
            "rule": question.rule,
            "answer_tool": self.answer_tool,
            "expires_in": self.ttl,
        }
        reply = types.CallToolResult(content=[types.TextContent(type="text", text=text)], _meta={APPROVAL_KEY: card})
        return Waiting(self.name, reply=reply)

    def decide(self, arguments: Mapping[str, Any], identity: str | None) -> Decided:
        """The call an answer approves (consumed: single use), or why the answer is refused."""
        nonce, allow = arguments.get("nonce"), arguments.get("allow")
        if not isinstance(nonce, str) or not isinstance(allow, bool) or set(arguments) - {"nonce", "allow"}:
            return Decided(None, {}, False, refused="expected {nonce: string, allow: boolean}")
        now = self.clock()
        record = self.store.get(PENDING, nonce, now)
        if record is None:
            return Decided(None, {}, allow, refused="this approval is not pending (never issued, used or expired)")
        tool, args = str(record["tool"]), dict(record["arguments"])
        if digest(tool, args, identity) != record["digest"]:
            # Another caller's approval: refused, and left for its owner to answer.
            return Decided(tool, args, allow, refused="this approval was issued to another caller")
        if self.store.pop(PENDING, nonce, now) != record:
            return Decided(tool, args, allow, refused="this approval was already answered")
        return Decided(tool, args, allow, effect=str(record.get("effect") or tool))

    def tool(self) -> dict[str, Any]:
        """The answer tool as an Apps host lists it: for the card only, never shown to the model. As small as it can
        be (no description, no card of its own): every Apps host pays for it in tools/list. `decide` checks the
        arguments exactly."""
        schema = {"type": "object", "properties": {"nonce": {"type": "string"}, "allow": {"type": "boolean"}}}
        return {"name": self.answer_tool, "inputSchema": schema, "_meta": {"ui": {"visibility": ["app"]}}}
