"""Issue 23's "done when", with real processes: PostgreSQL (an initdb cluster), three `trakt-mcp` HTTP replicas
sharing it, Debian's HAProxy running deploy/haproxy.cfg in front of them, and the fake Trakt on loopback.

One deployment serves the whole module (starting it costs a few seconds); each test starts from empty windows."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import httpx2
import psycopg
import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import text_of
from tests.postgres_support import PASSWORD, Cluster
from tests.process_support import approve_at_a_terminal
from tests.replica_support import BIG_LIMIT, LIMIT, TOKEN, Deployment, deployment, mcp_client, wait_for
from trakt_mcp.sandbox.routes.oauth import oauth_state

CODE = re.compile(r"approve (?:--home \S+ )?([A-Z2-9]{4}-[A-Z2-9]{4})")
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def deployed(postgres_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployment(tmp_path_factory.mktemp("deploy"), postgres_cluster.new_schema()) as running:
        yield running


@pytest.fixture
def fresh(deployed: Deployment) -> Deployment:
    """Every rate-limit window starts empty and the fake has seen nothing."""
    with psycopg.connect(deployed.state) as connection:
        connection.execute("DELETE FROM guard_calls")
    deployed.fake.calls.clear()
    return deployed


def searches(deployed: Deployment) -> list[str]:
    """The queries of every show search that reached the fake Trakt, in order."""
    return [call.query.get("query", "") for call in deployed.fake.calls_to("GET", "/search/show")]


async def calls_of_their_own(url: str, pages: range, in_flight: int = 10) -> list[bool]:
    """fetch_trending_shows calls, one per page, `in_flight` at a time, each from a 2026-07-28 era client of its own
    (no session: any request may land on any replica). A client whose request was cut by a dying replica fails as a
    whole in the SDK."""
    results: list[bool] = []
    gate = anyio.Semaphore(in_flight)

    async def one(page: int) -> None:
        async with gate:
            try:
                async with mcp_client(url, "auto") as client:
                    result = await client.call_tool("fetch_trending_shows", {"page": page, "limit": 1})
                results.append(not result.is_error)
            except (Exception, ExceptionGroup):  # the replica serving it died
                results.append(False)

    async with anyio.create_task_group() as group:
        for page in pages:
            group.start_soon(one, page)
    return results


def trending_pages(deployed: Deployment) -> list[str]:
    return [call.query.get("page", "") for call in deployed.fake.calls_to("GET", "/shows/trending")]


def counted(deployed: Deployment, tool: str = "search_shows") -> int:
    """How many calls of `tool` the shared window holds (the guard's refusal meta-limit has windows too)."""
    with psycopg.connect(deployed.state) as connection:
        rows = connection.execute("SELECT key FROM guard_calls").fetchall()
    return sum(1 for (key,) in rows if tool in key)


async def burst(url: str, calls: int, label: str, mode: str = "legacy") -> list[bool]:
    """`calls` concurrent search_shows calls from one client; each result: did it run (False: refused or failed)."""
    results: list[bool] = []
    async with mcp_client(url, mode) as client:

        async def one(index: int) -> None:
            try:
                result = await client.call_tool("search_shows", {"query": f"{label}-{index}", "limit": 1})
            except (MCPError, httpx2.HTTPError):  # the replica serving it died (the kill test)
                results.append(False)
                return
            results.append(not result.is_error)

        async with anyio.create_task_group() as group:
            for index in range(calls):
                group.start_soon(one, index)
    return results


async def test_three_clients_of_twenty_concurrent_calls_against_a_limit_of_five_let_exactly_five_reach_trakt(
    fresh: Deployment,
) -> None:
    outcomes: list[list[bool]] = []

    async def client(label: str) -> None:
        outcomes.append(await burst(fresh.url, 20, label))

    async with anyio.create_task_group() as group:
        for label in ("a", "b", "c"):
            group.start_soon(client, label)
    assert sum(sum(results) for results in outcomes) == LIMIT
    assert len(searches(fresh)) == LIMIT
    assert counted(fresh) == LIMIT
    served = [replica for replica in fresh.replicas if (replica.home / "audit.jsonl").exists()]
    assert len(served) >= 2, "the balancer spread the three sessions over the replicas"
    audit = fresh.run(fresh.replicas[1], "audit", "-n", "200")
    assert audit.stdout.count("rate_limited") == 60 - LIMIT, audit.stdout  # every replica's lines, one table
    verified = fresh.run(fresh.replicas[2], "audit", "verify")  # one HMAC chain, whichever replica wrote each line
    assert verified.returncode == 0 and "row(s) in table guard_audit" in verified.stdout, verified.stdout


async def test_kill_9_of_a_replica_mid_burst_runs_no_call_twice_and_counts_stay_right(fresh: Deployment) -> None:
    victim = fresh.replicas[1]
    ran_before_kill: list[int] = []
    outcomes: list[list[bool]] = []
    started = time.monotonic()

    async def client(pages: range) -> None:
        outcomes.append(await calls_of_their_own(fresh.url, pages, in_flight=2))

    async def killer() -> None:
        while len(trending_pages(fresh)) < 3 and time.monotonic() - started < 30:
            await anyio.sleep(0.005)
        await anyio.to_thread.run_sync(fresh.kill, victim)
        ran_before_kill.append(len(trending_pages(fresh)))

    async with anyio.create_task_group() as group:
        group.start_soon(killer)
        for first in (1, 11, 21):
            group.start_soon(client, range(first, first + 10))
    ran = trending_pages(fresh)
    assert ran_before_kill and ran_before_kill[0] < len(ran), "the other two replicas kept serving after the kill"
    assert len(ran) == len(set(ran)) <= BIG_LIMIT, ran  # no call ran twice, none beyond the limit
    assert sum(sum(results) for results in outcomes) <= len(ran)
    fresh.start(victim)
    fresh.wait_ready(victim)
    window = counted(fresh, "fetch_trending_shows")
    assert len(ran) <= window <= BIG_LIMIT  # a call counted by the killed replica may not have reached Trakt
    more = await calls_of_their_own(f"{victim.base}/mcp", range(31, 31 + BIG_LIMIT - window + 2))
    assert sum(more) == BIG_LIMIT - window  # the restarted replica counts on from the shared window


def initialize(url: str) -> httpx.Response:
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    return httpx.post(url, json=message, headers={**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}, timeout=10)


def ping(url: str, session: str) -> httpx.Response:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}", "mcp-session-id": session}
    headers["mcp-protocol-version"] = "2025-06-18"
    return httpx.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers, timeout=10)


async def test_a_handshake_session_sticks_to_its_replica_and_its_death_is_a_clean_404(fresh: Deployment) -> None:
    opened = initialize(fresh.url)
    assert opened.status_code == 200, opened.text
    session = opened.headers["mcp-session-id"]
    assert all(ping(fresh.url, session).status_code == 200 for _ in range(6))  # sticky: always its own replica
    answers = {replica.port: ping(f"{replica.base}/mcp", session).status_code for replica in fresh.replicas}
    [owner] = [replica for replica in fresh.replicas if answers[replica.port] == 200]
    assert sorted(answers.values()) == [200, 404, 404]
    fresh.kill(owner)
    try:
        orphaned = ping(fresh.url, session)  # the balancer sends it elsewhere: that replica never knew it
        assert orphaned.status_code == 404 and "Session not found" in orphaned.text, orphaned.text
        async with mcp_client(fresh.url) as client:  # a new session works at once
            result = await client.call_tool("search_shows", {"query": "breaking", "limit": 1})
        assert not result.is_error, text_of(result)
    finally:
        fresh.start(owner)
        fresh.wait_ready(owner)


async def test_a_sign_in_started_on_one_replica_finishes_on_another(fresh: Deployment) -> None:
    first, second = fresh.replicas[0], fresh.replicas[2]
    oauth_state(fresh.fake).interval = 1  # Trakt's polling interval, which every replica honours
    async with mcp_client(f"{first.base}/mcp") as client:
        started = await client.call_tool("start_device_auth", {})
    assert not started.is_error and "Sign in to Trakt" in text_of(started), text_of(started)
    oauth_state(fresh.fake).approve()
    async with mcp_client(f"{second.base}/mcp") as client:
        for _ in range(10):
            await anyio.sleep(1)
            checked = await client.call_tool("check_auth_status", {})
            if "Too early" not in text_of(checked):
                break
    assert "Signed in to Trakt" in text_of(checked), text_of(checked)
    assert (second.home / "token.json").exists() and not (first.home / "token.json").exists()


async def test_an_approval_given_for_one_replica_lets_the_call_run_once_on_another(fresh: Deployment) -> None:
    first, second, third = fresh.replicas
    arguments = {"query": "heat", "limit": 1}
    async with mcp_client(f"{first.base}/mcp") as client:  # it cannot ask its user: an approval code
        asked = await client.call_tool("search_movies", arguments)
    match = CODE.search(text_of(asked))
    assert asked.is_error and match, text_of(asked)

    def run(home: Path, *argv: str, stdin: object = None) -> object:
        return fresh.run(third, *argv, stdin=stdin)

    approved = approve_at_a_terminal(run, third.home, match.group(1))  # type: ignore[arg-type]
    assert approved.returncode == 0, approved.stdout + approved.stderr
    async with mcp_client(f"{second.base}/mcp") as client:
        ran = await client.call_tool("search_movies", arguments)
        again = await client.call_tool("search_movies", arguments)
    assert not ran.is_error and "Search movies" in text_of(ran), text_of(ran)
    assert again.is_error and "approve" in text_of(again)  # used once
    assert len(fresh.fake.calls_to("GET", "/search/movie")) == 1


async def test_with_the_database_stopped_calls_are_refused_naming_it_and_it_recovers_without_restarts(
    fresh: Deployment, postgres_cluster: Cluster
) -> None:
    pids = [replica.process.pid for replica in fresh.replicas if replica.process]
    masked = fresh.state.replace(PASSWORD, "***")
    postgres_cluster.stop()
    try:
        refused = []
        for index in range(4):
            # 2026-07-28 era: no session to stick to a replica, so the balancer's health checks flapping on a loaded
            # machine cannot send a request to a replica that does not know its session (404 "session not found").
            async with mcp_client(fresh.url, mode="auto") as client:
                refused.append(await client.call_tool("search_shows", {"query": f"down-{index}", "limit": 1}))
        wait_for(f"http://127.0.0.1:{fresh.port}/readyz", status=503)
    finally:
        postgres_cluster.start()
    for result in refused:
        assert result.is_error and masked in text_of(result) and "search_shows did not run" in text_of(result)
        assert PASSWORD not in text_of(result)
    assert searches(fresh) == []  # nothing reached Trakt
    wait_for(f"http://127.0.0.1:{fresh.port}/readyz")
    outcomes = []
    for index in range(3):
        async with mcp_client(fresh.url, mode="auto") as client:
            outcomes.append(await client.call_tool("search_shows", {"query": f"back-{index}", "limit": 1}))
    assert [result.is_error for result in outcomes] == [False] * 3, [text_of(result) for result in outcomes]
    assert [replica.process.pid for replica in fresh.replicas if replica.process] == pids
    assert all(replica.process and replica.process.poll() is None for replica in fresh.replicas)
