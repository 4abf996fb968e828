"""Attack figures for issues #17 and #24: how many attempts of each kind were made against real `trakt-mcp`
processes, and how many the guard (or the server) held. Prints one table; every row must read held == attempts.

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


async def issue_24(home: Path) -> list[Row]:
    """Issue 24's categories, each through the real-process tests that prove it: the side-doors suite counts every
    method it tries; every other row counts one attack per test case, held when all of the test's checks hold."""
    import pytest

    from tests import test_callers as callers
    from tests import test_gaps as gaps
    from tests import test_gate_processes as gated
    from tests import test_owner_files as files
    from tests import test_owner_reads as reads
    from tests import test_side_doors as doors

    rows: list[Row] = []
    for policy in doors.POLICIES:
        tally, _ = await doors.knock_everywhere(home / f"doors-{policy}", policy)
        rows.append((f"24 side doors: every method, 2 eras, stdio + HTTP ({policy})", tally["tried"], tally["held"]))
    bent = ("file 0666", "folder 0777", "file of another user", "link into a 0777 folder")
    refused_at_start = files.test_a_policy_others_could_change_is_refused_at_start_with_the_fix
    cases: list[tuple[str, list[Callable[[Path], Any]]]] = [
        ("24.1 an identity gets, completes or redirects the owner's sign-in",
         [callers.test_an_identity_never_gets_completes_or_redirects_the_owners_sign_in]),
        ("24.2 a policy others could change (file, folder, owner, symlink; an edit at reload)",
         [*(lambda t, b=b: refused_at_start(t, b) for b in bent),
          files.test_an_edit_by_another_account_is_refused_at_reload_and_the_owners_policy_stays]),
        ("24.3 an identity holds the owner's sessions", [callers.test_an_identity_cannot_hold_the_owners_sessions]),
        ("24.4 completions: hidden, denied, over the limit, unaudited",
         [gated.test_completions_are_judged_counted_and_audited_as_the_search_they_make,
          gated.test_a_hidden_or_denied_tool_completes_nothing]),
        ("24.5 card data of a hidden tool",
         [gated.test_the_watchlist_card_leaves_out_progress_a_hidden_tool_would_show]),
        ("24.6 blank-rendering text against require", [reads.test_require_treats_blank_rendering_text_as_blank]),
        ("24.7 a padded 60-item batch and a long note in the owner's dialog",
         [reads.test_a_padded_sixty_item_batch_reaches_the_owner_as_a_count_in_a_dialog_that_fits]),
        ("24.8 an identity floods the owner with dialogs",
         [callers.test_questions_to_the_owner_count_against_the_caller]),
        ("24.9 --no-auth callers approve their own calls",
         [lambda t: callers.test_no_auth_callers_cannot_approve_their_own_calls_unless_the_owner_says_so(t, False)]),
        ("24.10 a client config nested 100,000 deep",
         [lambda t, c=c: files.test_install_into_a_config_nested_100000_deep_says_so_and_changes_nothing(t, c)
          for c in ("vscode", "claude-desktop")]),
        ("24 smaller: full disk, symlinked guard.key",
         [files.test_a_full_disk_is_named_as_such_not_as_permissions,
          files.test_a_symlinked_approval_key_tells_the_agent_what_is_wrong]),
        ("24 gaps: a lost approval, racing first starts, a replay that burns a question",
         [lambda t: _patched(gaps.test_an_approval_outlives_a_slot_another_process_took_between_approval_and_run, t),
          lambda t: _patched(gaps.test_two_first_starts_agree_on_one_loopback_token, t),
          gaps.test_a_failed_replay_of_another_callers_question_burns_nothing]),
    ]  # fmt: skip
    for name, checks in cases:
        held = 0
        for index, check in enumerate(checks):
            folder = home / f"{len(rows)}-{index}"
            folder.mkdir(parents=True)
            try:
                outcome = check(folder)
                if hasattr(outcome, "__await__"):
                    await outcome
                held += 1
            except (AssertionError, pytest.skip.Exception, pytest.fail.Exception) as exc:
                print(f"{name}: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
        rows.append((name, len(checks), held))
    return rows


def _patched(check: Callable[..., Any], folder: Path) -> Any:
    """A test that takes pytest's monkeypatch, run with one of its own."""
    import pytest

    patch = pytest.MonkeyPatch()
    outcome = check(folder, patch)
    if not hasattr(outcome, "__await__"):
        patch.undo()
        return outcome

    async def awaited() -> Any:
        try:
            return await outcome
        finally:
            patch.undo()

    return awaited()


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
        rows += anyio.run(issue_24, base / "h")
    width = max(len(name) for name, _, _ in rows)
    print(f"{'finding / category':<{width}}  attempts  held")
    for name, attempts, held in rows:
        print(f"{name:<{width}}  {attempts:>8}  {held:>4}")
    total, held = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total':<{width}}  {total:>8}  {held:>4}   ({time.monotonic() - started:.0f} s)")
    return 0 if held == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
