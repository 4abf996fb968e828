"""The approval card (the guard's `app` channel) through MCP: for a host that renders Apps but cannot elicit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import types
from mcp.shared.exceptions import MCPError

from guard.channels.app import APPROVAL_KEY, AppChannel
from guard.channels.base import Asking, Question, Waiting
from guard.store.memory import MemoryStore
from tests.apps_support import apps_client
from tests.conftest import text_of
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.settings import Settings

REMOVE = {"watchlist_type": "shows", "items": [{"slug": "severance"}]}


def audit(settings: Settings) -> list[dict[str, Any]]:
    path = settings.home / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def everything_said(result: types.CallToolResult) -> str:
    return text_of(result) + json.dumps(result.structured_content or {})


async def test_allow_on_the_card_signs_out_once_and_a_replayed_nonce_is_refused(
    settings: Settings, fake: FakeTrakt
) -> None:
    async with apps_client(settings, fake) as (client, app):
        token = fake.issue_token()
        await app.auth.accept_token(fake.token_json(token))
        asked = await client.call_tool("clear_auth", {})
        ask = (asked.meta or {})[APPROVAL_KEY]
        assert not asked.is_error and fake.token_valid(token.access_token)
        assert "approval card" in text_of(asked) and ask["nonce"] not in everything_said(asked)
        assert ask["tool"] == "clear_auth" and "the local user" in ask["asked_by"] and "clear_auth" in ask["rule"]
        assert ask["effect"] in text_of(asked) and ask["answer_tool"] == "answer_approval"

        allowed = await client.call_tool("answer_approval", {"nonce": ask["nonce"], "allow": True})
        replayed = await client.call_tool("answer_approval", {"nonce": ask["nonce"], "allow": True})
    assert not allowed.is_error and not fake.token_valid(token.access_token)
    assert len(fake.calls_to("POST", "/oauth/revoke")) == 1
    assert replayed.is_error and "not pending" in text_of(replayed)
    lines = audit(settings)
    confirmed = [line for line in lines if line["tool"] == "clear_auth" and line["decision"] == "confirmed"]
    assert len(confirmed) == 1 and confirmed[0]["channel"] == "app" and confirmed[0]["answered_by"] == "host"
    assert lines[-1]["tool"] == "answer_approval" and lines[-1]["decision"] == "denied"
    assert ask["nonce"] not in (settings.home / "audit.jsonl").read_text()


async def test_deny_runs_nothing_and_a_wrong_nonce_is_refused_and_audited(settings: Settings, fake: FakeTrakt) -> None:
    async with apps_client(settings, fake) as (client, app):
        await app.auth.accept_token(fake.token_json(fake.issue_token()))
        asked = await client.call_tool("remove_user_watchlist", REMOVE)
        nonce = (asked.meta or {})[APPROVAL_KEY]["nonce"]
        # Not the nonce whatever it is (one nonce in 4,096 ends in "xx" already: then "yy").
        wrong_nonce = nonce[:-2] + ("yy" if nonce.endswith("xx") else "xx")
        wrong = await client.call_tool("answer_approval", {"nonce": wrong_nonce, "allow": True})
        denied = await client.call_tool("answer_approval", {"nonce": nonce, "allow": False})
        after = await client.call_tool("answer_approval", {"nonce": nonce, "allow": True})
    assert wrong.is_error and "Nothing ran" in text_of(wrong)
    assert "The user denied: Remove from your watchlist (1 item): Severance" in text_of(denied)
    assert after.is_error  # a denied approval is used up too
    assert fake.calls_to("POST", "/sync/watchlist/remove") == []
    decisions = [(line["tool"], line["decision"]) for line in audit(settings)]
    assert decisions.count(("answer_approval", "denied")) == 2
    assert ("remove_user_watchlist", "declined") in decisions


async def test_a_host_that_can_elicit_is_asked_there_and_a_plain_client_never_hears_of_the_card(
    settings: Settings, fake: FakeTrakt
) -> None:
    async def accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"confirm": True})

    async with apps_client(settings, fake, elicitation_callback=accept) as (client, app):
        await app.auth.accept_token(fake.token_json(fake.issue_token()))
        elicited = await client.call_tool("remove_user_watchlist", REMOVE)
    async with apps_client(settings, fake, apps=False) as (client, _):
        plain = await client.call_tool("remove_user_watchlist", REMOVE)
        tools = {tool.name for tool in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as unknown:  # an unknown tool is a JSON-RPC error (-32602)
            await client.call_tool("answer_approval", {"nonce": "x", "allow": True})
    assert APPROVAL_KEY not in (elicited.meta or {}) and "Deleted" in text_of(elicited)
    assert APPROVAL_KEY not in (plain.meta or {}) and "trakt-mcp approve" in text_of(plain)
    assert "answer_approval" not in tools and unknown.value.error.message == "Unknown tool: answer_approval"


async def test_another_callers_nonce_is_refused_and_stays_usable_by_its_owner() -> None:
    channel = AppChannel(MemoryStore(), ttl=60, clock=lambda: 1000.0)
    question = Question("clear_auth", {}, "alice", "claude-ai", "policy rule tools.clear_auth")

    async def effect() -> str:
        return "Sign out of Trakt"

    waiting = await channel.ask(Asking(question, None, {}, trusted_host=True, can_wait=False, describe=effect))
    assert isinstance(waiting, Waiting) and isinstance(waiting.reply, types.CallToolResult)
    nonce = (waiting.reply.meta or {})[APPROVAL_KEY]["nonce"]
    foreign = channel.decide({"nonce": nonce, "allow": True}, "bob")
    local = channel.decide({"nonce": nonce, "allow": True}, None)
    owner = channel.decide({"nonce": nonce, "allow": True}, "alice")
    again = channel.decide({"nonce": nonce, "allow": True}, "alice")
    assert foreign.refused == local.refused == "this approval was issued to another caller"
    assert owner.refused is None and owner.tool == "clear_auth" and owner.allow
    assert again.refused is not None and "not pending" in again.refused
    assert channel.decide({"nonce": nonce}, "alice").refused == "expected {nonce: string, allow: boolean}"
