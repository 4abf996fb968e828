"""The three gaps the last closing note left (issue 24): an owner's terminal approval survives another process
taking the last rate-limit slot between the approval and the run; two first starts agree on one loopback token; a
failed replay of another caller's question state burns no question (through a real `trakt-mcp` process)."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from mcp import types

from guard.ratelimit import RateLimiter, window_key
from guard.rules import RateLimit
from tests.conftest import text_of
from tests.guard_server import Harness, write_policy
from tests.process_support import (
    audit_lines,
    fake_trakt,
    http_client,
    http_server,
    signed_in,
    trakt_environment,
    write_json,
)
from trakt_mcp.http import owner_token

CODE = re.compile(r"`demo approve ([A-Z2-9]{4}-[A-Z2-9]{4})`")


async def test_an_approval_outlives_a_slot_another_process_took_between_approval_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = RateLimit(max=1, window=60)
    rules = {"add_item": {"action": "confirm", "rate_limit": {"max": 1, "window": 60}}}
    h = Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", {"version": "1", "rules": rules}))
    other_process = RateLimiter(h.clock, h.store)  # a second trakt-mcp on the same state folder
    key = window_key('rules."add_item".rate_limit', limit, None)
    async with h.client() as client:  # declares no elicitation: the owner approves at a terminal
        asked = await client.call_tool("add_item", {"id": 1})
        code = CODE.search(text_of(asked))
        assert code, text_of(asked)
        h.approvals.decide(code.group(1), approve=True)
        take = h.guard.limiter.acquire_all

        def race(keys: Any) -> Any:  # the other process wins the last slot after this one checked it
            other_process.acquire_all([(key, limit)])
            return take(keys)

        monkeypatch.setattr(h.guard.limiter, "acquire_all", race)
        lost_race = await client.call_tool("add_item", {"id": 1})
        monkeypatch.setattr(h.guard.limiter, "acquire_all", take)
        h.clock.now += 61
        retried = await client.call_tool("add_item", {"id": 1})
    assert lost_race.is_error and "approval is kept" in text_of(lost_race), text_of(lost_race)
    assert not retried.is_error, text_of(retried)
    assert h.ran == [("add_item", {"id": 1, "note": ""})]


def test_two_first_starts_agree_on_one_loopback_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both servers looked for a token before either wrote one; the second to finish must adopt the first's."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    looked = owner_token.read_token
    first = owner_token.ensure_token(home)
    (home / owner_token.FILE_NAME).unlink()
    owner_token.write_private(home / owner_token.FILE_NAME, first[0] + "\n")  # the first server's, written late
    calls = iter([None])
    monkeypatch.setattr(owner_token, "read_token", lambda where: next(calls, None) or looked(where))
    second = owner_token.ensure_token(home)
    assert second == (first[0], False)
    assert looked(home) == first[0]


async def never_called(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    """Declares elicitation; the test answers the questions itself (session.call_tool drives the rounds)."""
    raise AssertionError("the test answers questions itself")


async def test_a_failed_replay_of_another_callers_question_burns_nothing(tmp_path: Path) -> None:
    tokens = {name: secrets.token_urlsafe(24) for name in ("ann", "ben")}
    identities = {
        name: {"token_sha256": hashlib.sha256(token.encode()).hexdigest(), "trust_host": True}
        for name, token in tokens.items()
    }
    confirm = {"add_user_watchlist": {"action": "confirm", "reason": "changes the watchlist"}}
    policy = {"version": "1", "default": "allow", "rules": confirm, "identities": identities}
    arguments = {"watchlist_type": "movies", "items": [{"trakt_id": "120"}]}
    home = tmp_path / "home"
    with fake_trakt() as (fake, api):
        signed_in(fake, home)
        env = trakt_environment(home, api)
        path = write_json(tmp_path / "policy.json", policy)
        async with (
            http_server(env, "--policy", str(path), log=tmp_path / "server.log") as url,
            http_client(url, tokens["ann"], mode="auto", elicitation_callback=never_called) as ann,
            http_client(url, tokens["ben"], mode="auto", elicitation_callback=never_called) as ben,
        ):
            asked = await ann.session.call_tool("add_user_watchlist", arguments, allow_input_required=True)
            assert isinstance(asked, types.InputRequiredResult) and asked.request_state, asked
            yes = {key: types.ElicitResult(action="accept", content={"confirm": True}) for key in asked.input_requests}
            stolen = await ben.session.call_tool(
                "add_user_watchlist", arguments, input_responses=yes, request_state=asked.request_state
            )
            assert not fake.calls_to("POST", "/sync/watchlist")
            answered = await ann.session.call_tool(
                "add_user_watchlist", arguments, input_responses=yes, request_state=asked.request_state
            )
    assert getattr(stolen, "is_error", False), stolen
    assert not getattr(answered, "is_error", True), answered
    assert len(fake.calls_to("POST", "/sync/watchlist")) == 1
    lines = [(line["identity"], line["decision"]) for line in audit_lines(home) if line["tool"] == "add_user_watchlist"]
    assert ("ann", "confirmed") in lines and ("ben", "confirmed") not in lines
