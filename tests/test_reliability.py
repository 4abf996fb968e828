"""Reliability through the MCP protocol: Trakt faults on reads and writes, and many concurrent calls.

For each fault: the retries that must happen happen, the person gets a clear message, and nothing is written
twice. Under 200 concurrent calls: every write applied once, one audit line per call, one token refresh.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import FakeTime, Session, text_of
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt, Fault
from trakt_mcp.sandbox.wire import IssuedToken
from trakt_mcp.server.guarded import audit_path


def watched(fake_time: FakeTime, minutes_ago: int) -> str:
    moment = datetime.fromtimestamp(fake_time.now, UTC) - timedelta(minutes=minutes_ago)
    return moment.isoformat().replace("+00:00", "Z")


def mark_watched(fake_time: FakeTime, minutes_ago: int = 5) -> dict[str, Any]:
    return {"history_type": "movies", "items": [{"trakt_id": "120", "watched_at": watched(fake_time, minutes_ago)}]}


def plays_of_120(fake: FakeTrakt) -> int:
    return sum(1 for play in fake.state.history if play.kind == "movie" and play.trakt == 120)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(status=503, method="POST"), "Trakt answered 503"),
        (Fault(status=520, method="POST"), "Cloudflare"),
        (Fault(exception=httpx.ReadTimeout, method="POST"), "may or may not have been applied"),
        (Fault(exception=httpx.RemoteProtocolError, method="POST"), "Could not reach Trakt"),
        (Fault(status=200, body=b"<html>", method="POST"), "not valid JSON"),
    ],
)
async def test_a_failed_write_is_reported_and_never_sent_twice(
    fault: Fault, message: str, session: Session, fake: FakeTrakt, fake_time: FakeTime, signed_in: IssuedToken
) -> None:
    before = plays_of_120(fake)
    fake.inject(fault)
    async with session() as client:
        result = await client.call_tool("add_to_history", mark_watched(fake_time))
    assert result.is_error
    assert message in text_of(result)
    assert len(fake.calls_to("POST", "/sync/history")) == 1
    assert plays_of_120(fake) == before


async def test_a_rate_limited_write_is_retried_and_applied_once(
    session: Session, fake: FakeTrakt, fake_time: FakeTime, signed_in: IssuedToken
) -> None:
    before = plays_of_120(fake)
    fake.inject(Fault(status=429, headers={"Retry-After": "3"}, method="POST", times=2))
    async with session() as client:
        result = await client.call_tool("add_to_history", mark_watched(fake_time))
    assert not result.is_error, text_of(result)
    assert len(fake.calls_to("POST", "/sync/history")) == 3
    assert fake_time.sleeps.count(3.0) == 2
    assert plays_of_120(fake) == before + 1


async def test_a_429_burst_longer_than_the_cap_fails_saying_when(session: Session, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=429, headers={"Retry-After": "600"}, times=50))
    async with session() as client:
        result = await client.call_tool("fetch_trending_shows", {})
    assert result.is_error
    assert "retry in 600 seconds" in text_of(result)
    assert len(fake.calls) == 1


@pytest.mark.parametrize("status", [500, 503, 520])
async def test_a_run_of_server_errors_on_a_read_is_ridden_out(status: int, session: Session, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=status, times=3))
    async with session() as client:
        result = await client.call_tool("fetch_popular_movies", {"limit": 3})
    assert not result.is_error, text_of(result)
    assert len(fake.calls) == 4


async def test_connection_resets_on_a_read_are_retried(session: Session, fake: FakeTrakt) -> None:
    fake.inject(Fault(exception=httpx.ReadError, times=2))
    async with session() as client:
        result = await client.call_tool("search_movies", {"query": "inception"})
    assert not result.is_error, text_of(result)
    assert "Inception" in text_of(result)


async def test_a_token_revoked_mid_session_is_refreshed_once_and_the_write_applied_once(
    session: Session, fake: FakeTrakt, fake_time: FakeTime, signed_in: IssuedToken
) -> None:
    before = plays_of_120(fake)
    async with session() as client:
        first = await client.call_tool("add_to_history", mark_watched(fake_time, 30))
        fake.tokens.pop(signed_in.access_token)  # Trakt forgets the access token (the refresh token still works)
        second = await client.call_tool("add_to_history", mark_watched(fake_time, 10))
    assert not first.is_error and not second.is_error, text_of(second)
    assert len(fake.calls_to("POST", "/oauth/token")) == 1
    assert plays_of_120(fake) == before + 2
    rejected = [
        c for c in fake.calls_to("POST", "/sync/history") if c.headers["authorization"].endswith(signed_in.access_token)
    ]
    assert len(rejected) == 2  # the accepted first write and the refused attempt of the second


async def test_200_concurrent_calls_apply_each_write_once_audit_each_call_once_and_refresh_once(
    app: App, session: Session, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    token = fake.issue_token(expires_in=60)  # inside the refresh-ahead window: the first calls must refresh
    await app.auth.accept_token(fake.token_json(token))
    before = plays_of_120(fake)
    reads = [("fetch_trending_shows", {"limit": 3}), ("search_shows", {"query": "the"})]
    calls: list[tuple[str, dict[str, Any]]] = []
    for index in range(200):
        calls.append(("add_to_history", mark_watched(fake_time, 1000 + index)) if index % 2 else reads[index % 4 // 2])
    failures: list[str] = []
    async with session() as client:

        async def one(name: str, arguments: dict[str, Any]) -> None:
            result = await client.call_tool(name, arguments)
            if result.is_error:
                failures.append(f"{name}: {text_of(result)}")

        async with anyio.create_task_group() as group:
            for name, arguments in calls:
                group.start_soon(one, name, arguments)
    assert failures == []
    assert plays_of_120(fake) == before + 100
    assert len(fake.calls_to("POST", "/sync/history")) == 100
    assert len(fake.calls_to("POST", "/oauth/token")) == 1
    lines = [json.loads(line) for line in audit_path(app.settings).read_text().splitlines()]
    assert len(lines) == 200
    assert sum(1 for line in lines if line["tool"] == "add_to_history") == 100
