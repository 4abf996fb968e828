"""The guard wired into the Trakt server: built-in policy, policy files, resources, and the guard's commands."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, types
from mcp.shared.exceptions import MCPError

from guard.engine import Engine
from guard.policy import policy_schema, read_policy
from tests.conftest import Session, text_of
from trakt_mcp.app import App
from trakt_mcp.cli.main import main
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.server.capabilities import CAPABILITIES
from trakt_mcp.server.guarded import build_catalog
from trakt_mcp.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def answer(action: str) -> Any:
    async def reply(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert "Log out of Trakt and revoke this server's token" in params.message
        return types.ElicitResult(action=action, content={"confirm": True} if action == "accept" else None)  # type: ignore[arg-type]

    return reply


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_clear_auth_under_the_built_in_policy_runs_only_when_confirmed(
    session: Session, app: App, fake: FakeTrakt, signed_in: Any, mode: str
) -> None:
    async with session(mode, elicitation_callback=answer("decline")) as client:
        declined = await client.call_tool("clear_auth", {})
    assert declined.is_error and "The user declined" in text_of(declined)
    assert fake.token_valid(signed_in.access_token) and app.auth.token() is not None

    async with session(mode, elicitation_callback=answer("accept")) as client:
        confirmed = await client.call_tool("clear_auth", {})
    assert not confirmed.is_error, text_of(confirmed)
    assert not fake.token_valid(signed_in.access_token) and app.auth.token() is None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_out_of_band_approval_from_the_terminal_then_the_same_call_runs_once(
    session: Session,
    app: App,
    fake: FakeTrakt,
    signed_in: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with session() as client:  # declares no elicitation
        pending = await client.call_tool("clear_auth", {})
        assert pending.is_error and fake.token_valid(signed_in.access_token)
        code = re.search(r"`(?:\S*/)?trakt-mcp approve --home \S+ (\S+)`", text_of(pending)).group(1)  # type: ignore[union-attr]

        monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
        assert main(["approve", code]) == 2  # not a terminal: refused, whatever it says
        assert "real terminal" in capsys.readouterr().err
        monkeypatch.setattr("sys.stdin", Terminal("y\n"))
        assert main(["approve", code]) == 0
        shown = capsys.readouterr().out
        assert "clear_auth" in shown and "Log out of Trakt and revoke this server's token" in shown

        done = await client.call_tool("clear_auth", {})
        assert not done.is_error, text_of(done)
        assert main(["approve", code]) == 1  # used up
    assert not fake.token_valid(signed_in.access_token)
    assert main(["audit"]) == 0
    log = capsys.readouterr().out
    assert "approval_pending" in log and "confirmed" in log and "clear_auth" in log


@asynccontextmanager
async def served(
    settings: Settings, fake: FakeTrakt, policy: dict[str, Any], tmp_path: Path, **options: Any
) -> AsyncIterator[Client]:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    app = create_app(settings.model_copy(update={"policy": path}), fake=fake)
    try:
        async with Client(build_server(app), mode="legacy", **options) as client:
            yield client
    finally:
        await app.aclose()


async def test_hiding_a_tool_hides_the_resource_that_shows_the_same_data(
    settings: Settings, fake: FakeTrakt, tmp_path: Path
) -> None:
    policy = {"version": "1", "default": "allow", "hide": ["fetch_trending_shows"]}
    async with served(settings, fake, policy, tmp_path) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert "trakt://shows/trending" not in uris and "trakt://movies/trending" in uris
        with pytest.raises(MCPError, match="Unknown resource: trakt://shows/trending"):
            await client.read_resource("trakt://shows/trending")
        assert "fetch_trending_shows" not in {t.name for t in (await client.list_tools()).tools}
        assert (await client.read_resource("trakt://movies/trending")).contents
    assert [call.path for call in fake.calls] == ["/movies/trending"]


def test_the_example_policy_loads_cleanly_against_every_registered_tool() -> None:
    example = read_policy(ROOT / "policy.example.json")
    loaded = Engine(example, build_catalog(None), capabilities=CAPABILITIES)
    assert example.schema_ == "./policy.schema.json"
    assert loaded.decide("clear_auth").action == "hide"  # type: ignore[union-attr]
    assert not example.identities, "a placeholder identity would turn on HTTP tokens for whoever copies the example"
    assert Engine(read_policy(ROOT / "policy.http.example.json"), build_catalog(None)).policy.identities
    assert loaded.capabilities is not None and loaded.capabilities.named["community"].offer == "off"
    assert json.loads((ROOT / "policy.schema.json").read_text()) == policy_schema(), "run: trakt-mcp policy schema"


def test_the_built_in_policy_confirms_every_destructive_tool_and_allows_the_rest() -> None:
    from trakt_mcp.server.guarded import builtin_policy

    catalog = build_catalog(None)
    loaded = Engine(builtin_policy(catalog), catalog)
    for name, tool in catalog.tools.items():
        if tool.endpoint:  # what call_trakt_api reaches: every write confirmed, the OAuth endpoints denied
            expected = "deny" if tool.risk == "auth" else "allow" if tool.risk == "read" else "confirm"
            assert loaded.decisions[name].action == expected, name
            continue
        destructive = (tool.risk == "destructive" and not tool.routed) or name.startswith("remove_")
        assert loaded.decisions[name].action == ("confirm" if destructive or name == "clear_auth" else "allow"), name


def test_policy_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["policy", "check", str(ROOT / "policy.example.json")]) == 0
    table = capsys.readouterr().out
    assert re.search(
        r"remove_from_history\s+sync\s+destructive\s+confirm\s+5 per 600s\s+deny if count\(items\) > 5\s+"
        r"rules.\"remove_from_history\"",
        table,
    )
    assert main(["policy", "explain", "Remove_From_History", "--policy", str(ROOT / "policy.example.json")]) == 0
    explained = capsys.readouterr().out
    assert '-> decides  rules."remove_from_history": confirm (exact name match)' in explained
    assert 'overridden  rules."@destructive"' in explained
    assert main(["policy", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "MCP guard policy"


def test_an_invalid_policy_stops_the_server_from_starting_with_exit_code_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": "1", "rules": {"remove_form_history": {"action": "deny"}}}))
    assert main(["--policy", str(bad), "--sandbox"]) == 2
    error = capsys.readouterr().err
    assert 'rules."remove_form_history": no tool is named "remove_form_history"' in error
    assert 'did you mean "remove_from_history"' in error
    assert main(["policy", "check", str(bad)]) == 2
