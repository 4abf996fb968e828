"""What the guard costs: one decision (the middleware's gate on a fake request, no transport), and a whole
in-process MCP tools/call with and without the guard, on the Trakt sandbox server.

Run from a fresh clone: `python bench/guard_overhead.py`. Target: under 50 microseconds per decision (median).
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp import Client, types  # noqa: E402
from mcp.server.context import ServerRequestContext  # noqa: E402

from guard.gate import owner  # noqa: E402
from guard.middleware import Guard  # noqa: E402
from guard.ratelimit import RateLimiter  # noqa: E402
from guard.store.memory import MemoryStore  # noqa: E402
from trakt_mcp.server.build import build_server, create_app  # noqa: E402
from trakt_mcp.settings import Settings  # noqa: E402

TARGET_US = 50.0
DECISIONS = 20_000
CALLS = 200
ROUNDS = 5
ARGUMENTS = {"query": "breaking bad", "limit": 3}
#: A policy whose decision must evaluate argument conditions (a list path, a glob over names) and two quotas.
CONDITIONS_POLICY = {
    "version": "1",
    "default": "allow",
    "all_tools": {"limits": [{"window": "hour", "max": 1_000_000}]},
    "tools": {
        "add_user_ratings": {
            "deny_if": [{"arg": "items[*].rating", "lt": 3}, {"arg": "items", "count": {"gt": 50}}],
            "confirm_if": [{"arg": "rating_type", "in": ["seasons", "episodes"]}],
            "limits": [{"window": "minute", "max": 1_000_000}],
        }
    },
}
RATINGS = {"rating_type": "movies", "items": [{"trakt_id": str(n), "rating": 5 + n} for n in range(5)]}


class _Session:
    client_params = None
    client_capabilities = None


async def per_decision(guard: Guard, tool: str, audited: bool, arguments: dict[str, Any] = ARGUMENTS) -> float:
    """Microseconds for the middleware to decide on one tools/call (allowed; the handler is a no-op): the median
    of DECISIONS decisions each timed alone, so that a moment the process spends descheduled on a busy machine
    does not count as the guard's."""
    session: Any = _Session()
    request: ServerRequestContext[Any, Any] = ServerRequestContext(
        session=session,
        lifespan_context={},
        protocol_version="2025-11-25",
        method="tools/call",
        params={"name": tool, "arguments": arguments},
        request_id=1,
    )
    done = types.CallToolResult(content=[])

    async def handler(ctx: Any) -> Any:
        return done

    audit, guard.audit = guard.audit, (guard.audit if audited else None)
    clock = time.perf_counter
    timings = []
    for _ in range(DECISIONS):
        started = clock()
        await guard(request, handler)
        timings.append(clock() - started)
    guard.audit = audit
    return statistics.median(timings) * 1e6


async def per_call(client: Client) -> float:
    await client.call_tool("search_shows", ARGUMENTS)  # warm up
    started = time.perf_counter()
    for _ in range(CALLS):
        await client.call_tool("search_shows", ARGUMENTS)
    return (time.perf_counter() - started) / CALLS * 1e6


async def main() -> int:
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as home:
        app = create_app(Settings.load({"sandbox": True, "home": home}, environ={}))
        try:
            server = build_server(app)
            guard = app.guard
            assert guard is not None
            decision = await per_decision(guard, "search_shows", audited=False)
            audited = await per_decision(guard, "search_shows", audited=True)
            guarded, bare = [], []
            for _ in range(ROUNDS):  # alternate, so drift and warm-up do not favour either side
                async with Client(server, mode="legacy") as client:
                    guarded.append(await per_call(client))
                server.middleware.remove(guard)
                # Without the guard nothing admits the handler's Trakt requests (the gate refuses them: guard.gate);
                # the owner's admission lets them through, so that both sides make the same request.
                with owner("bench without the guard"):
                    async with Client(server, mode="legacy") as client:
                        bare.append(await per_call(client))
                server.middleware.append(guard)
        finally:
            await app.aclose()
        policy = Path(home) / "conditions.json"
        policy.write_text(json.dumps(CONDITIONS_POLICY))
        app = create_app(Settings.load({"sandbox": True, "home": home, "policy": str(policy)}, environ={}))
        try:
            build_server(app)
            assert app.guard is not None  # windows in memory here: bench/store_overhead.py measures the store
            app.guard.limiter = RateLimiter(time.time, MemoryStore())
            conditional = await per_decision(app.guard, "add_user_ratings", False, RATINGS)
        finally:
            await app.aclose()
    print(f"guard decision (allowed call, no audit):      {decision:8.1f} µs   target < {TARGET_US:.0f} µs")
    print(f"guard decision + audit line written:          {audited:8.1f} µs")
    print(
        f"guard decision with argument conditions:      {conditional:8.1f} µs   target < {TARGET_US:.0f} µs"
        " (2 windows kept in memory; the SQLite store: bench/store_overhead.py)"
    )
    with_guard, without = statistics.median(guarded), statistics.median(bare)
    print(f"whole in-process tools/call without guard:    {without:8.1f} µs   (median of {ROUNDS} rounds)")
    print(f"whole in-process tools/call with guard:       {with_guard:8.1f} µs   ratio {with_guard / without:.3f}")
    return 0 if max(decision, conditional) < TARGET_US else 1


if __name__ == "__main__":
    raise SystemExit(anyio.run(main))
