"""Every other endpoint through find_trakt_endpoints and call_trakt_api, judged by the endpoint it reaches: through
real `trakt-mcp` processes (stdio) against the sandbox or a fake Trakt on loopback, and the policy commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters, types

from guard.policy import PolicyError
from guard.routing import judge_routed
from scripts.generate_endpoints import parse
from tests.conftest import text_of
from tests.process_support import audit_lines
from trakt_mcp.cli.main import main
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.server.guarded import build_catalog, load_engine
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from trakt_mcp.tools import endpoints
from trakt_mcp.trakt.tokens import FileStore, Token

REMOVE = {"method": "POST", "path": "/sync/history/remove", "body": {"movies": [{"ids": {"trakt": 120}}]}}


class Answers:
    """An elicitation callback that answers every question the same way and keeps them."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": True} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "TRAKT_MCP_POLICY")}
    return {**env, "TRAKT_MCP_HOME": str(home), **extra}


@pytest.fixture(scope="module")
def signed_in_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sandbox home, signed in once, shared by this module's sandbox processes (each process costs seconds)."""
    home = tmp_path_factory.mktemp("sandbox") / "home"
    login = [sys.executable, "-m", "trakt_mcp", "login", "--sandbox"]
    assert subprocess.run(login, env=environment(home), capture_output=True, timeout=120).returncode == 0
    return home


def sandbox(home: Path, *flags: str) -> StdioServerParameters:
    args = ["-m", "trakt_mcp", "--sandbox", *flags]
    return StdioServerParameters(command=sys.executable, args=args, env=environment(home))


@contextmanager
def signed_in_to_a_fake_trakt(home: Path) -> Iterator[tuple[FakeTrakt, dict[str, str]]]:
    fake = FakeTrakt()
    with serve_on_loopback(fake) as url:
        issued = fake.issue_token()
        FileStore(home / "token.json").save(
            Token(issued.access_token, issued.refresh_token, issued.expires_at, issued.created_at)
        )
        yield (
            fake,
            environment(
                home,
                TRAKT_CLIENT_ID=SANDBOX_CLIENT_ID,
                TRAKT_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
                TRAKT_API_URL=url,
                PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",  # no keyring: the token is a 0600 file
            ),
        )


class DeclineThenAccept(Answers):
    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.action = "decline" if not self.questions else "accept"
        return await super().__call__(context, params)


async def test_find_call_and_confirm_then_read_only_in_the_next_process(signed_in_sandbox: Path) -> None:
    asked = DeclineThenAccept("decline")
    async with Client(sandbox(signed_in_sandbox), mode="legacy", elicitation_callback=asked) as client:
        found = text_of(await client.call_tool("find_trakt_endpoints", {"query": "history remove"}))
        stats = await client.call_tool("call_trakt_api", {"method": "GET", "path": "/users/me/stats"})
        outside = await client.call_tool("call_trakt_api", {"path": "/users/me/statz"})
        bad_query = await client.call_tool("call_trakt_api", {"path": "/users/me/stats", "query": {"limit": 3}})
        trending = await client.call_tool("call_trakt_api", {"path": "/shows/trending", "query": {"limit": 2}})
        missing = await client.call_tool("call_trakt_api", {"path": "/users/me/followers"})
        declined = await client.call_tool("call_trakt_api", REMOVE)
        kept = text_of(await client.call_tool("fetch_history", {"history_type": "movies"}))
        accepted = await client.call_tool("call_trakt_api", REMOVE)
        gone = text_of(await client.call_tool("fetch_history", {"history_type": "movies"}))
        oauth = await client.call_tool("call_trakt_api", {"method": "POST", "path": "/oauth/revoke", "body": {}})
        created = text_of(await client.call_tool("create_user_list", {"name": "Made in process one"}))
    # The next process, --read-only: GET endpoints pass, nothing else; the list made above persisted.
    async with Client(sandbox(signed_in_sandbox, "--read-only"), mode="legacy") as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        lists = text_of(await client.call_tool("fetch_user_lists", {}))
        read = await client.call_tool("call_trakt_api", {"path": "/users/me/lists"})
        write = await client.call_tool("call_trakt_api", {"method": "PUT", "path": "/users/me/lists/4001", "body": {}})
    first = next(line for line in found.splitlines() if line.startswith("- "))
    assert first.startswith("- `POST /sync/history/remove` Remove items from history.")
    assert not stats.is_error and '"movies":{"plays":2,"watched":2' in text_of(stats), text_of(stats)
    assert outside.is_error and "GET /users/me/statz is not in the Trakt endpoint catalogue" in text_of(outside)
    assert "Nearest entries: `GET /users/{id}/stats`" in text_of(outside)
    assert bad_query.is_error and "GET /users/{id}/stats has no parameter limit" in text_of(bad_query)
    assert "— 2 items (first 2 of 12" in text_of(trending) and '"title":"Breaking Bad"' in text_of(trending)
    assert missing.is_error and "The sandbox does not implement this endpoint (GET /users/{id}/followers" in (
        text_of(missing)
    )
    # A generic write under the built-in policy asks, in words; declined, nothing changes; accepted, it runs.
    assert len(asked.questions) == 2
    assert "Remove items from history on your Trakt account: POST /sync/history/remove" in asked.questions[0]
    assert (
        '{"movies":[{"ids":{"trakt":120}}]}' in asked.questions[0]
        and 'the built-in rule "api:POST *"' in asked.questions[0]
    )
    assert declined.is_error and "call_trakt_api did not run" in text_of(declined) and "The Dark Knight" in kept
    assert not accepted.is_error and '"deleted":{"movies":1' in text_of(accepted), text_of(accepted)
    assert "The Dark Knight" not in gone
    assert (
        oauth.is_error
        and '"api:POST /oauth/revoke"' in text_of(oauth)
        and "sign-in and sign-out have their own tools" in text_of(oauth)
    )
    assert "Made in process one `made-in-process-one`" in created and "Made in process one" in lists
    assert {"call_trakt_api", "find_trakt_endpoints", "fetch_user_lists"} <= listed and "delete_user_list" not in listed
    assert not read.is_error and "Weekend favourites" in text_of(read)
    assert write.is_error and text_of(write) == (
        "Blocked by policy rule --read-only: PUT /users/{id}/lists/{list_id} is hidden by it. "
        "call_trakt_api did not run."
    )


async def test_a_rule_on_the_endpoint_refuses_the_generic_call_and_nothing_reaches_trakt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    policy = {
        "version": "1",
        "default": "allow",
        "rules": {
            "api:POST /sync/history/remove": {"action": "deny", "reason": "no removals through the generic tool"},
            "remove_from_history": {"action": "allow"},
            "api:POST /sync/history": {"action": "allow", "deny_if": [{"arg": "body.movies", "count": {"gt": 1}}]},
            "api:GET /users/*/lists/*": {"action": "allow", "require": [{"arg": "id", "equals": "me"}]},
        },
    }
    (home / "policy.json").parent.mkdir(parents=True)
    (home / "policy.json").write_text(json.dumps(policy))
    with signed_in_to_a_fake_trakt(home) as (fake, env):
        env["TRAKT_MCP_POLICY"] = str(home / "policy.json")
        server = StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp"], env=env)
        async with Client(server, mode="legacy") as client:
            refused = await client.call_tool("call_trakt_api", REMOVE)
            typed = await client.call_tool(
                "remove_from_history", {"history_type": "movies", "items": [{"trakt_id": "120"}]}
            )
            two = {"movies": [{"ids": {"trakt": 120}}, {"ids": {"trakt": 16662}}]}
            too_many = await client.call_tool(
                "call_trakt_api", {"method": "POST", "path": "/sync/history", "body": two}
            )
            others = await client.call_tool("call_trakt_api", {"path": "/users/sean/lists/1"})
            mine = await client.call_tool("call_trakt_api", {"path": "/users/me/lists/4001"})
        calls = [(call.method, call.path) for call in fake.calls]
    assert refused.is_error and text_of(refused) == (
        'Blocked by policy rule rules."api:POST /sync/history/remove": no removals through the generic tool. '
        "call_trakt_api did not run."
    )
    assert not typed.is_error and "Deleted: " in text_of(typed), text_of(typed)
    assert calls.count(("POST", "/sync/history/remove")) == 1  # the typed tool's call only
    assert too_many.is_error and "count(body.movies) > 1" in text_of(too_many)
    assert ("POST", "/sync/history") not in calls
    assert others.is_error and "requires id == " in text_of(others) and ("GET", "/users/sean/lists/1") not in calls
    assert not mine.is_error and '"name":"Weekend favourites"' in text_of(mine), text_of(mine)
    lines = [(line["tool"], line.get("endpoint"), line["decision"]) for line in audit_lines(home)]
    assert lines[:2] == [
        ("call_trakt_api", "POST /sync/history/remove", "denied"),
        ("remove_from_history", None, "allowed"),
    ]
    assert ("call_trakt_api", "GET /users/{id}/lists/{list_id}", "allowed") in lines
    table = subprocess.run(
        [sys.executable, "-m", "trakt_mcp", "audit"], env=env, capture_output=True, text=True, timeout=60
    ).stdout
    assert "call_trakt_api POST /sync/history/remove" in table


def test_read_only_hides_every_endpoint_but_get_ones_and_hide_hides_the_tool(tmp_path: Path) -> None:
    engine = load_engine(Settings(home=tmp_path, read_only=True), build_catalog(None))
    for entry in endpoints.catalogue():
        hidden = engine.decisions[f"api:{entry.key}"].action == "hide"
        assert hidden == (entry.method != "GET" or entry.path.startswith("/oauth/")), entry.key
    assert "call_trakt_api" in engine.visible_tools
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"version": "1", "default": "allow", "hide": ["call_trakt_api"]}))
    hidden = load_engine(Settings(home=tmp_path, policy=policy), build_catalog(None))
    assert "call_trakt_api" not in hidden.visible_tools and "find_trakt_endpoints" in hidden.visible_tools
    assert not any(name.startswith("api:") for name in hidden.visible_tools)  # entries are never listed


def test_policy_commands_show_the_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({"version": "1", "default": "allow", "rules": {"api:DELETE /sync/*": {"action": "deny"}}})
    )
    assert main(["policy", "check", str(policy)]) == 0
    table = capsys.readouterr().out
    assert any(
        line.split()[:2] == ["api:DELETE", "/sync/playback/{id}"] and " deny " in line for line in table.splitlines()
    )
    args = json.dumps({"method": "DELETE", "path": "/sync/playback/3001"})
    assert main(["policy", "explain", "call_trakt_api", "--policy", str(policy), "--args", args]) == 0
    assert 'reaches endpoint DELETE /sync/playback/{id}: deny, decided by rules."api:DELETE /sync/*"' in (
        capsys.readouterr().out
    )
    assert main(["policy", "explain", "api:POST /sync/history/remove"]) == 0
    assert 'rules."api:POST *": confirm (glob match)' in capsys.readouterr().out
    policy.write_text(json.dumps({"version": "1", "rules": {"api:POST /sync/histroy/remove": {"action": "deny"}}}))
    with pytest.raises(PolicyError, match='did you mean "api:POST /sync/history/remove"'):
        load_engine(Settings(home=tmp_path, policy=policy), build_catalog(None))


BLUEPRINT = """
# Group Sync
## Remove from history [/sync/history/remove]
### Remove items from history [POST]
#### &#128274; OAuth Required
Remove items from a user's watch history. More text.

+ Request (application/json)

    + Body

            {
                "movies": [{"ids": {"trakt": 1}}],
                "ids": [3]
            }

+ Response 200 (application/json)

    + Body

            {"deleted": {"movies": 1}}

## Group Lists
## Popular [/lists/popular/{type}{?extended}]
+ Parameters
    + type (optional, string, `personal`) ... Filter for a specific list type.

### Get popular lists [GET]
#### &#128275; OAuth Optional &#128196; Pagination
Returns the most popular lists.
"""


def test_the_generator_reads_the_blueprint() -> None:
    removal, popular = parse(BLUEPRINT)
    assert removal == {
        "method": "POST",
        "path": "/sync/history/remove",
        "title": "Remove items from history",
        "group": "Sync",
        "params": [],
        "about": "Remove items from a user's watch history.",
        "body": {"movies": "array", "ids": "array"},
        "auth": "required",
        "pages": "none",
        "extended": False,
        "filters": False,
        "vip": False,
    }
    assert (popular["group"], popular["auth"], popular["pages"]) == ("Lists", "optional", "paginated")
    assert popular["params"] == [
        {
            "name": "type",
            "type": "string",
            "required": False,
            "example": "personal",
            "about": "Filter for a specific list type.",
            "in": "path",
        },
        {"name": "extended", "type": "string", "required": False, "in": "query"},
    ]
    keys = [entry.key for entry in endpoints.catalogue()]
    assert len(keys) == len(set(keys)) == 209 and "POST /sync/history/remove" in keys


def test_a_generic_call_counts_once_against_shared_quotas_and_against_both_rules(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    rules = {
        "call_trakt_api": {"action": "allow", "rate_limit": {"max": 9, "window": 60}},
        "api:GET *": {"action": "allow", "rate_limit": {"max": 5, "window": 60}},
    }
    policy.write_text(
        json.dumps(
            {"version": "1", "default": "allow", "all_tools": {"limits": [{"max": 50, "window": 60}]}, "rules": rules}
        )
    )
    catalog = build_catalog(None)
    engine = load_engine(Settings(home=tmp_path, policy=policy), catalog)
    assert catalog.normalize is not None
    arguments = catalog.normalize("call_trakt_api", {"path": "/shows/trending"})
    judged = judge_routed(engine.view(None), engine.decisions["call_trakt_api"], arguments)
    assert judged.endpoint == "GET /shows/trending" and judged.outcome.action == "allow"
    assert sorted(quota.limit.max for quota in judged.limits) == [5, 9, 50]
