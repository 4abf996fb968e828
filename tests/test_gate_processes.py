"""Completions and card data go through the gate (issue 24, breaks 4 and 5), through real `trakt-mcp` processes and
a fake Trakt on loopback that counts every request: a completion is judged as the search it makes (hidden: no
values; its rate limit counts it; audited with "via"); the watchlist card shows no progress when
fetch_show_progress is hidden, says so, and fetches none."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters, types

from tests.apps_support import AppsHost
from tests.process_support import audit_lines, fake_trakt, signed_in, trakt_environment, write_json
from trakt_mcp.apps.cards import CARD_KEY

TITLE_PROMPT = types.PromptReference(type="ref/prompt", name="search_entertainment")
SHOW_TEMPLATE = types.ResourceTemplateReference(type="ref/resource", uri="trakt://shows/{show_id}")


def stdio(env: dict[str, str], policy: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp", "--policy", str(policy)], env=env)


async def test_completions_are_judged_counted_and_audited_as_the_search_they_make(tmp_path: Path) -> None:
    once = {"action": "allow", "rate_limit": {"max": 1, "window": "day"}}
    policy = {"version": "1", "default": "allow", "rules": {"search_shows": once, "search_movies": once}}
    home = tmp_path / "home"
    with fake_trakt() as (fake, api):
        env = trakt_environment(home, api)
        async with Client(stdio(env, write_json(tmp_path / "policy.json", policy))) as client:
            answers = [
                (await client.complete(TITLE_PROMPT, {"name": "query", "value": "breaking"})).completion.values
                for _ in range(20)
            ]
    assert "breaking-bad" in answers[0]
    assert all(values == [] for values in answers[1:])
    assert [call.path for call in fake.calls] == ["/search/show", "/search/movie"]  # one of each, the limit's 1
    used = [(line["tool"], line["decision"], line["via"]) for line in audit_lines(home) if line.get("via")]
    assert used[:2] == [("search_shows", "allowed", "completion"), ("search_movies", "allowed", "completion")]
    assert {decision for _, decision, _ in used[2:]} == {"rate_limited"} and len(used) == 40


async def test_a_hidden_or_denied_tool_completes_nothing(tmp_path: Path) -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "hide": ["search_*"],
        "rules": {"fetch_show_summary": {"action": "deny"}},
    }
    with fake_trakt() as (fake, api):
        env = trakt_environment(tmp_path / "home", api)
        async with Client(stdio(env, write_json(tmp_path / "policy.json", policy))) as client:
            by_title = await client.complete(TITLE_PROMPT, {"name": "query", "value": "breaking"})
            by_template = await client.complete(SHOW_TEMPLATE, {"name": "show_id", "value": "breaking"})
    assert by_title.completion.values == [] and by_template.completion.values == []
    assert fake.calls == []


async def test_the_watchlist_card_leaves_out_progress_a_hidden_tool_would_show(tmp_path: Path) -> None:
    policy = {"version": "1", "default": "allow", "hide": ["fetch_show_progress"]}
    home = tmp_path / "home"
    with fake_trakt() as (fake, api):
        signed_in(fake, home)
        env = trakt_environment(home, api)
        async with Client(stdio(env, write_json(tmp_path / "policy.json", policy)), extensions=[AppsHost()]) as client:
            result = await client.call_tool("fetch_user_watchlist", {"watchlist_type": "all"})
    card: dict[str, Any] = (result.meta or {})[CARD_KEY]
    shows = [item for item in card["items"] if item["kind"] == "show"]
    assert shows and all(item["progress"] is None for item in shows)
    assert card["notice"].startswith("Progress not shown: not available here")
    assert not [call for call in fake.calls if call.path.endswith("/progress/watched")]
    assert [line["tool"] for line in audit_lines(home) if line.get("via") == "card"] == ["fetch_show_progress"]
