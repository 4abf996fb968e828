"""The `page` channel (guard.channels.page) through in-process MCP sessions of the generic demo server: a caller who
decides for themselves is asked on the server's approval page only (URL-mode elicitation in both eras, an Apps card
that only opens the page, else a message naming the approvals page), never the owner's terminal or desktop and
never their own client; an approval is for one call by that caller, and an expired one runs nothing. The real
processes, pages and browsers are tests/test_remote_approvals.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import types

from guard.approvals import Approvals, Pending
from guard.channels.app import APPROVAL_KEY
from guard.channels.page import KIND, PageChannel
from tests.apps_support import AppsHost
from tests.conftest import text_of
from tests.guard_server import Harness, write_policy

BASE = "https://trakt.example"
POLICY: dict[str, Any] = {
    "version": "1",
    "default": "allow",
    "rules": {"remove_*": {"action": "confirm", "confirm_via": ["terminal", "desktop"]}},
    "identities": {"ann": {"token_sha256": "a" * 64}, "ben": {"token_sha256": "b" * 64}},
}


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", POLICY))
    harness.caller = "ann"
    approvals = Approvals(harness.store, key=b"k" * 32, clock=harness.clock, kind=KIND, kept=3600)
    page = PageChannel(
        approvals,
        page_url=lambda code: f"{BASE}/approvals/{code}",
        list_url=f"{BASE}/approvals",
        serves=lambda identity: identity in ("ann", "ben"),
        wait=1.0,
        wait_silent=1.0,
        poll=0.05,
    )
    harness.guard.channels.insert(0, page)
    return harness


def page_of(h: Harness) -> PageChannel:
    channel = h.guard.channels[0]
    assert isinstance(channel, PageChannel)
    return channel


def waiting_of(h: Harness, person: str) -> Pending:
    [pending] = [p for p in page_of(h).of(person) if not p.approved]
    return pending


def own_client(seen: list[types.ElicitRequestParams]) -> Any:
    """A client that answers every question itself, yes (form or URL)."""

    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen.append(params)
        content = {"confirm": True} if isinstance(params, types.ElicitRequestFormParams) else None
        return types.ElicitResult(action="accept", content=content)

    return answer


async def test_without_elicitation_or_apps_the_answer_names_the_approvals_page_and_nobody_else_is_asked(
    h: Harness,
) -> None:
    async with h.client() as client:
        result = await client.call_tool("remove_item", {"id": 1})
    text = text_of(result)
    assert result.is_error and f"open {BASE}/approvals in their browser" in text
    assert "Permanently remove item #1" in text and "call remove_item again" in text
    assert h.ran == [] and h.questions == []
    assert h.approvals.waiting() == [], "the owner's terminal holds nothing: the person decides"
    assert waiting_of(h, "ann").tool == "remove_item"
    [line] = h.audit_lines()
    assert (line["decision"], line["channel"]) == ("approval_pending", "page")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_answering_its_own_question_runs_nothing(h: Harness, mode: str) -> None:
    seen: list[types.ElicitRequestParams] = []
    async with h.client(mode, elicitation_callback=own_client(seen)) as client:
        result = await client.call_tool("remove_item", {"id": 2})
    assert h.ran == [], text_of(result)
    pending = waiting_of(h, "ann")
    assert [type(params) for params in seen] == [types.ElicitRequestURLParams]
    assert isinstance(seen[0], types.ElicitRequestURLParams) and seen[0].url == f"{BASE}/approvals/{pending.code}"
    assert "not allowed yet" in text_of(result) or "It is not allowed yet" in text_of(result)


async def test_allowed_on_the_page_while_the_call_waits_it_runs_exactly_once(h: Harness) -> None:
    seen: list[types.ElicitRequestParams] = []
    page = page_of(h)

    async def person_allows(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen.append(params)
        assert isinstance(params, types.ElicitRequestURLParams)
        code = params.url.rsplit("/", 1)[1]
        assert page.decide(code, "ben", True) is None, "another person cannot answer it"
        if len(seen) == 1:  # the person allows the first call only
            decided = page.decide(code, "ann", True)
            assert decided is not None and decided.approved
        return types.ElicitResult(action="accept")

    async with h.client(elicitation_callback=person_allows) as client:
        first = await client.call_tool("remove_item", {"id": 3})
        assert not first.is_error and h.ran == [("remove_item", {"id": 3, "note": ""})]
        page.wait = page.wait_silent = 0.2
        again = await client.call_tool("remove_item", {"id": 3})
    assert len(seen) == 2, "the second identical call asked again: an approval is for one call"
    assert h.ran == [("remove_item", {"id": 3, "note": ""})], text_of(again)
    lines = [line for line in h.audit_lines() if line["decision"] == "confirmed"]
    assert [(line["channel"], line["answered_by"], line["identity"]) for line in lines] == [("page", "person", "ann")]


async def test_the_modern_era_retry_runs_once_the_person_allowed(h: Harness) -> None:
    seen: list[types.ElicitRequestParams] = []
    async with h.client("auto", elicitation_callback=own_client(seen)) as client:
        await client.call_tool("remove_item", {"id": 4})
        assert h.ran == []
        pending = waiting_of(h, "ann")
        assert page_of(h).decide(pending.code, "ann", True) is not None
        result = await client.call_tool("remove_item", {"id": 4})
        assert not result.is_error and h.ran == [("remove_item", {"id": 4, "note": ""})]
        await client.call_tool("remove_item", {"id": 4})
    assert len(h.ran) == 1


async def test_another_persons_approval_is_invisible_and_cannot_be_answered(h: Harness) -> None:
    async with h.client() as client:
        await client.call_tool("remove_item", {"id": 5})
        pending = waiting_of(h, "ann")
        page = page_of(h)
        assert page.of("ben") == [] and page.find(pending.code, "ben") is None
        assert page.find("ABCD-2345", "ben") is None, "unknown and another's look the same"
        assert page.decide(pending.code, "ben", True) is None
        h.caller = "ben"
        await client.call_tool("remove_item", {"id": 5})  # the same call by ben is ben's own question
        assert h.ran == [] and not waiting_of(h, "ann").approved
        assert waiting_of(h, "ben").code != pending.code


async def test_an_expired_approval_runs_nothing_and_says_so(h: Harness) -> None:
    page = page_of(h)
    async with h.client() as client:
        await client.call_tool("remove_item", {"id": 6})
        pending = waiting_of(h, "ann")
        assert page.decide(pending.code, "ann", True) is not None
        h.clock.now += page.approvals.ttl + 1
        result = await client.call_tool("remove_item", {"id": 6})
    assert h.ran == [] and f"{BASE}/approvals" in text_of(result)
    expired = page.find(pending.code, "ann")
    assert expired is not None and expired.expires <= page.now(), "kept, so the page can say it expired"
    late = page.decide(pending.code, "ann", True)
    assert late is not None and late.expires <= page.now()


async def test_an_apps_host_gets_a_card_that_only_opens_the_page(h: Harness) -> None:
    async with h.client(extensions=[AppsHost()]) as client:
        result = await client.call_tool("remove_item", {"id": 7})
        card = (result.meta or {})[APPROVAL_KEY]
        pending = waiting_of(h, "ann")
        assert card["approve_url"] == f"{BASE}/approvals/{pending.code}"
        assert card["effect"] == "Permanently remove item #7"
        assert "nonce" not in card and "answer_tool" not in card, "nothing the client sends can approve"
        answer = await client.call_tool("answer_approval", {"nonce": pending.code, "allow": True})
    assert answer.is_error and h.ran == []


async def test_the_owner_is_still_asked_about_the_local_users_calls(h: Harness) -> None:
    h.caller = None
    async with h.client() as client:
        result = await client.call_tool("remove_item", {"id": 8})
    assert "approve" in text_of(result) and h.approvals.waiting(), "the owner's terminal, as before"
    assert page_of(h).of("ann") == []
    with anyio.fail_after(1):
        assert h.ran == []


async def test_a_client_that_fails_to_show_the_link_is_told_where_the_approvals_page_is(h: Harness) -> None:
    async def broken(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        raise RuntimeError("no browser here")

    async with h.client(elicitation_callback=broken) as client:
        result = await client.call_tool("remove_item", {"id": 9})
    assert f"open {BASE}/approvals in their browser" in text_of(result) and h.ran == []
