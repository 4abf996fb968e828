"""Attack figures for issue #17: how many attempts of each kind were made against real `trakt-mcp` processes, and
how many the guard (or the server) held. Prints one table; every row must read held == attempts.

    .venv/bin/python bench/attacks.py

Reuses the reliability suite's real-process helpers (tests/test_hardening.py): sandbox Trakt, loopback only.
"""

from __future__ import annotations

import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.shared.exceptions import MCPError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import test_hardening as h
from tests.conftest import text_of

Row = tuple[str, int, int]


def spellings_of_120() -> list[str]:
    zeros = ["0" * k + "120" for k in range(1, 11)]
    spaces = [" ", "\t", "\n", "\r", "\u00a0", "\u2003", "\u3000", "\u200b", "\ufeff", "\u2060"]
    padded = [f"{s}120" for s in spaces] + [f"120{s}" for s in spaces]
    families = [
        "".join(chr(ord(zero) + int(d)) for d in "120")
        for zero in map(chr, range(0x110000))
        if unicodedata.category(zero) == "Nd" and unicodedata.decimal(zero) == 0 and zero != "0"
    ]
    numbers = ["+120", "120.0", "1.2e2", "0x78", "1_20", "0120 ", "000120\t"]
    return zeros + padded + families + numbers


SHOW_SPELLINGS = [" breaking-bad", "breaking-bad ", "Breaking-Bad", "BREAKING-BAD", "\tbreaking-bad", "breaking-bad\n"]
BLANKS = [" ", "\t", "\n", "\r\n", "\u200b", "\u00a0", "\u3000", "\ufeff", "\u2060", "  \u200b ", "\u202e", ""]


async def conditions(home: Path) -> list[Row]:
    async with h.real_server(home, h.CONDITIONS_POLICY) as client:
        await h.sign_in(client)
        ids = [
            (await client.call_tool("add_user_watchlist", {"watchlist_type": "movies", "items": [{"trakt_id": s}]}))
            for s in spellings_of_120()
        ]
        watchlist = text_of(await client.call_tool("fetch_user_watchlist", {"watchlist_type": "movies"}))
        shows = [
            await client.call_tool("checkin_to_show", {"show_id": s, "season": 1, "episode": 1, "message": "hi"})
            for s in SHOW_SPELLINGS
        ]
        blanks = [
            await client.call_tool("checkin_to_show", {"show_id": "severance", "season": 1, "episode": 1, "message": m})
            for m in BLANKS
        ]
    refused = ("not that one", "no spoilers", "requires message is present", "Invalid arguments, nothing was sent")

    def held(results: list[Any]) -> int:
        """Refused by the guard (the rule, or as invalid), not failed for another reason after running."""
        return sum(1 for r in results if r.is_error and any(reason in text_of(r) for reason in refused))

    id_held = held(ids) if "Dark Knight" not in watchlist else 0
    return [
        ("1 argument spellings of a denied ID (zeros, spaces, 60+ digit scripts, number forms)", len(ids), id_held),
        ("1 spellings of a denied show slug (case, padding)", len(shows), held(shows)),
        ("1 blank messages against require: [message]", len(blanks), held(blanks)),
    ]


def loopback_token(home: Path) -> list[Row]:
    attempts: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer x"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer null"},
        {"Authorization": "Bearer " + "A" * 43},
        {"Authorization": "Bearer " + "-" * 43},
        {"X-Forwarded-For": "127.0.0.1"},
        {"Cookie": "token=x"},
    ]
    with h.http_server(home) as (base, _):
        import httpx

        held = 0
        for headers in attempts:
            response = httpx.post(f"{base}/mcp", json=h.INITIALIZE, headers={**h.MCP_HEADERS, **headers}, timeout=5)
            held += response.status_code == 401
    return [("2 loopback HTTP without the owner's token", len(attempts), held)]


def slowloris(home: Path) -> list[Row]:
    return [
        (
            "4 slowloris: 1,100 unfinished requests, legit client answered < 1 s",
            1,
            _holds(h.test_a_slowloris_flood_leaves_a_legitimate_client_answered_within_a_second, home),
        )
    ]


def redirects(home: Path) -> list[Row]:
    held = attempts = 0
    for status in (301, 302, 303, 307, 308):
        for tool, argument in (("fetch_trending_shows", "limit=1"), ("search_shows", "query=x")):
            attempts += 1
            with h.redirecting_api(status) as (url, seen):
                done = h.run_cli(home, "-v", "call", tool, argument, TRAKT_API_URL=url, TRAKT_CLIENT_ID="test-id")
            leaked = h.SECRET in done.stdout + done.stderr or "collector.example" in done.stdout + done.stderr
            held += done.returncode == 1 and not leaked and len(seen) == 1
    urls = ["http://api.trakt.tv", "http://10.0.0.1", "http://example.com:80", "https://u:p@api.trakt.tv", "ftp://x"]
    refused = sum(
        1
        for url in urls
        if h.run_cli(home, "call", "fetch_trending_shows", TRAKT_API_URL=url, TRAKT_CLIENT_ID="x").returncode == 2
    )
    return [
        ("6 API redirects (5 codes x 2 tools) with a token in Location / Set-Cookie", attempts, held),
        ("6 API URLs in clear or with credentials", len(urls), refused),
    ]


async def errors(home: Path) -> list[Row]:
    values = ["9x" * n for n in (100, 10_000, 1_000_000)] + ["\x1b[2J" * 1000, "\u202e" * 5000, "\n" * 100_000]
    held = 0
    async with h.real_server(home) as client:
        for value in values:
            for name, arguments in (("fetch_trending_shows", {"limit": value}), (value, {})):
                try:
                    said = text_of(await client.call_tool(name, arguments))
                except MCPError as exc:  # an unknown tool is a JSON-RPC error (-32602) naming it in message and data
                    named = exc.error.data.get("name", "") if isinstance(exc.error.data, dict) else ""
                    said = exc.error.message if len(named) < 600 and named.isprintable() else named
                held += len(said) < 600 and said.isprintable()
    return [("8 huge or escape-laden values in errors (arguments, tool names)", 2 * len(values), held)]


def answer_ids(home: Path) -> list[Row]:
    policy = {"version": "1", "default": "allow", "rules": {"fetch_trending_shows": {"action": "confirm"}}}
    peer = h.StdioPeer(home, policy)
    held = 0
    forms: list[Callable[[int], Any]] = [
        str,
        lambda i: f"0{i}",
        lambda i: f" {i}",
        lambda i: f"{i} ",
        lambda i: f"+{i}",
    ]
    try:
        params = {
            "protocolVersion": "2025-06-18",
            "capabilities": {"elicitation": {"form": {}}},
            "clientInfo": {"name": "r", "version": "0"},
        }
        peer.send({"id": 1, "method": "initialize", "params": params})
        peer.next(30)
        peer.send({"method": "notifications/initialized"})
        peer.send({"id": 2, "method": "tools/call", "params": {"name": "fetch_trending_shows", "arguments": {}}})
        question = peer.next(30) or {}
        for form in forms:
            peer.send({"id": form(question["id"]), "result": {"action": "accept", "content": {"confirm": True}}})
            held += peer.next(1.0) is None
    finally:
        peer.close()
    return [("8 answers to a question under look-alike string ids", len(forms), held)]


async def replays(home: Path) -> list[Row]:
    from tests.guard_server import Harness, write_policy
    from tests.test_bypass import POLICY, YES, modern_call

    held = attempts = 0
    for thief_answer in (YES, {"guard_confirm": {"action": "decline"}}, {}):
        attempts += 1
        harness = Harness(home / f"h{attempts}", write_policy(home / f"p{attempts}.json", POLICY))
        ran: list[Any] = []
        harness.caller = "ann"
        asked = await modern_call(harness, {"id": 1}, ran)
        harness.caller = "ben"
        await modern_call(harness, {"id": 1}, ran, inputResponses=thief_answer, requestState=asked.request_state)
        harness.caller = "ann"
        answered = await modern_call(harness, {"id": 1}, ran, inputResponses=YES, requestState=asked.request_state)
        held += not answered.is_error and len(ran) == 1
    return [("8 another identity replays a pending question's state", attempts, held)]


def _holds(check: Callable[[Path], None], home: Path) -> int:
    try:
        check(home)
    except AssertionError:
        return 0
    return 1


def main() -> int:
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        rows += anyio.run(conditions, base / "a")
        rows += loopback_token(base / "b")
        rows += slowloris(base / "c")
        rows += redirects(base / "d")
        rows += anyio.run(errors, base / "e")
        rows += answer_ids(base / "f")
        rows += anyio.run(replays, base / "g")
    width = max(len(name) for name, _, _ in rows)
    print(f"{'finding / category':<{width}}  attempts  held")
    for name, attempts, held in rows:
        print(f"{name:<{width}}  {attempts:>8}  {held:>4}")
    total, held = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total':<{width}}  {total:>8}  {held:>4}   ({time.monotonic() - started:.0f} s)")
    return 0 if held == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
