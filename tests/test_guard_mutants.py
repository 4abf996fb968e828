"""Deliberate bugs the rest of the suite once let through (issue 24): each test here fails when its bug is put
back into the guard. The bug each one catches is named in its docstring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from guard.ratelimit import window_key
from guard.rules import RateLimit
from tests.conftest import text_of
from tests.guard_server import Harness, write_policy

ALLOW: dict[str, Any] = {"version": "1", "default": "allow"}


def harness(tmp_path: Path, policy: dict[str, Any]) -> Harness:
    return Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", policy))


def edit(h: Harness, policy: dict[str, Any]) -> None:
    """Change the policy file and let the watcher's interval pass, as a hot reload does."""
    write_policy(h.policy_path, policy)
    h.clock.now += 2


async def test_a_call_whose_handler_raises_or_is_cancelled_is_still_audited(tmp_path: Path) -> None:
    """Bug: the audit line written only after a handler returns, so a raise or a cancellation leaves no trace."""
    h = harness(tmp_path, ALLOW)
    h.failing = {"boom": RuntimeError("the handler broke"), "hang": None}
    async with h.client() as client:
        broke = await client.call_tool("fetch_item", {"id": 1, "note": "boom"})
        with anyio.move_on_after(1):
            await client.call_tool("fetch_item", {"id": 2, "note": "hang"})
        await anyio.sleep(0.2)  # the server sees the cancellation
    assert broke.is_error
    outcomes = [(line["arguments"]["note"], line["outcome"]) for line in h.audit_lines()]
    assert ("boom", "error") in outcomes
    assert ("hang", "exception") in outcomes


async def test_resources_are_listed_as_the_caller_sees_them(tmp_path: Path) -> None:
    """Bug: resources/list filtered by the top-level view, so an identity sees a resource whose tool it may not."""
    h = harness(tmp_path, {**ALLOW, "identities": {"kid": {"token_sha256": "a" * 64, "hide": ["fetch_item"]}}})
    async with h.client() as client:
        h.caller = None
        owner = [str(resource.uri) for resource in (await client.list_resources()).resources]
        h.caller = "kid"
        kid = [str(resource.uri) for resource in (await client.list_resources()).resources]
    assert "demo://items/1" in owner
    assert "demo://items/1" not in kid


async def test_every_refusal_line_carries_the_rules_reason(tmp_path: Path) -> None:
    """Bug: audit lines written without the deciding rule's reason."""
    rules = {"remove_item": {"action": "deny", "reason": "items are kept forever"}}
    h = harness(tmp_path, {**ALLOW, "rules": rules})
    async with h.client() as client:
        await client.call_tool("remove_item", {"id": 1})
    [line] = h.audit_lines()
    assert (line["decision"], line["rule"], line["reason"]) == (
        "denied",
        'rules."remove_item"',
        "items are kept forever",
    )


async def test_a_call_over_its_limit_is_refused_before_anyone_is_asked(tmp_path: Path) -> None:
    """Bug: the limit checked only after the owner approved, so a spent limit still asks (and only then refuses)."""
    rules = {"add_item": {"action": "confirm", "rate_limit": {"max": 1, "window": 60}}}
    h = harness(tmp_path, {**ALLOW, "rules": rules})
    async with h.client(answer="accept") as client:
        first = await client.call_tool("add_item", {"id": 1})
        second = await client.call_tool("add_item", {"id": 2})
    assert not first.is_error and second.is_error and "Rate limited" in text_of(second)
    assert len(h.questions) == 1
    assert [line["decision"] for line in h.audit_lines()] == ["confirmed", "rate_limited"]


async def test_the_first_confirm_if_that_holds_names_the_rule(tmp_path: Path) -> None:
    """Bug: the last matching confirm_if wins, so the question and the audit line name the wrong rule path."""
    conditions = [{"arg": "id", "gt": 10}, {"arg": "id", "gt": 100}]
    rules = {"add_item": {"action": "allow", "confirm_if": conditions, "reason": "big ids"}}
    h = harness(tmp_path, {**ALLOW, "rules": rules})
    async with h.client(answer="accept") as client:
        await client.call_tool("add_item", {"id": 500})
    [line] = h.audit_lines()
    assert line["rule"] == 'rules."add_item".confirm_if[0]'
    assert 'rules."add_item".confirm_if[0]' in h.questions[0]


async def test_changing_a_limits_window_starts_it_afresh(tmp_path: Path) -> None:
    """Bug: the window length left out of the limit's key, so a changed window keeps counting the old calls."""
    limited = {"fetch_item": {"action": "allow", "rate_limit": {"max": 1, "window": 60}}}
    h = harness(tmp_path, {**ALLOW, "rules": limited})
    async with h.client() as client:
        assert not (await client.call_tool("fetch_item", {"id": 1})).is_error
        assert (await client.call_tool("fetch_item", {"id": 2})).is_error
        edit(h, {**ALLOW, "rules": {"fetch_item": {"action": "allow", "rate_limit": {"max": 1, "window": 120}}}})
        assert not (await client.call_tool("fetch_item", {"id": 3})).is_error
    sixty, hundred_twenty = (RateLimit(max=1, window=seconds) for seconds in (60, 120))
    assert window_key("p", sixty, None) != window_key("p", hundred_twenty, None)


@pytest.mark.parametrize(("after", "allowed"), [(59.999, False), (60.0, True)])
async def test_a_window_frees_a_call_exactly_when_it_is_over(tmp_path: Path, after: float, allowed: bool) -> None:
    """Bug: an off-by-one at the window's edge (a call counted one instant too long, or dropped one too soon)."""
    limited = {"fetch_item": {"action": "allow", "rate_limit": {"max": 2, "window": 60}}}
    h = harness(tmp_path, {**ALLOW, "rules": limited})
    async with h.client() as client:
        start = h.clock.now
        for n in (1, 2):
            assert not (await client.call_tool("fetch_item", {"id": n})).is_error
        assert (await client.call_tool("fetch_item", {"id": 3})).is_error
        h.clock.now = start + after
        result = await client.call_tool("fetch_item", {"id": 4})
    assert result.is_error is not allowed, text_of(result)
