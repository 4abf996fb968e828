"""Choosing and bounding approval channels, through in-process MCP sessions: nobody to ask is never "declined",
waiting questions are capped per caller, effect sentences are looked up once and within a bound, the terminal
channel waits for the owner when the client can wait, and a call that cannot act asks nobody."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import types

from guard import middleware
from guard.channels.base import MAX_WAITING_PER_CALLER
from tests.conftest import Session, text_of
from tests.guard_server import Harness, write_policy
from tests.test_guard_trakt import served
from trakt_mcp.cli.main import main
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.server.guarded import approve_command
from trakt_mcp.settings import Settings, default_home
from trakt_mcp.terminal import program

CODE = re.compile(r"`demo approve ([A-Z2-9]{4}-[A-Z2-9]{4})`")
POLICY: dict[str, Any] = {
    "version": "1",
    "default": "allow",
    "rules": {"remove_*": {"action": "confirm"}, "add_item": {"action": "confirm", "confirm_via": ["desktop"]}},
    "identities": {"ann": {"token_sha256": "a" * 64}, "ben": {"token_sha256": "b" * 64}},
}


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", POLICY))


async def test_with_no_channel_that_can_ask_the_answer_says_so_and_never_that_the_user_declined(h: Harness) -> None:
    async with h.client(answer="accept") as client:
        result = await client.call_tool("add_item", {"id": 1})
    text = text_of(result)
    assert result.is_error and text.startswith("Nobody could be asked to confirm this call")
    assert "Nobody declined it" in text and "declined:" not in text
    assert "desktop: no display here" in text and "Fix:" in text and "confirm_via" in text
    assert h.ran == [] and h.questions == []
    [line] = h.audit_lines()
    assert line["decision"] == "denied" and "channel" not in line


async def test_waiting_questions_are_capped_per_caller_not_for_everyone(h: Harness) -> None:
    h.caller = "ann"
    async with h.client() as client:
        asked = [await client.call_tool("remove_item", {"id": index}) for index in range(MAX_WAITING_PER_CALLER + 1)]
        assert all(CODE.search(text_of(result)) for result in asked[:-1])
        assert "already wait for the owner" in text_of(asked[-1]) and not CODE.search(text_of(asked[-1]))
        again = await client.call_tool("remove_item", {"id": 0})  # a call already waiting keeps its code
        assert CODE.search(text_of(again)).group(1) == CODE.search(text_of(asked[0])).group(1)  # type: ignore[union-attr]
        h.caller = "ben"
        assert CODE.search(text_of(await client.call_tool("remove_item", {"id": 99})))
    assert h.ran == []


async def test_the_effect_sentence_is_looked_up_once_per_waiting_question_and_within_a_bound(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[dict[str, Any]] = []

    async def slow(tool: str, arguments: dict[str, Any]) -> str:
        looked_up.append(arguments)
        if arguments.get("id") == 2:
            await anyio.sleep(30)
        return f"Permanently remove item #{arguments['id']}"

    monkeypatch.setattr(middleware, "DESCRIBE_TIMEOUT", 0.2)
    h.watcher.engine.catalog.__dict__["describe"] = slow  # frozen dataclass: patch for this test only
    async with h.client() as client:
        first = await client.call_tool("remove_item", {"id": 1})
        second = await client.call_tool("remove_item", {"id": 1})
        with anyio.fail_after(5):
            stuck = await client.call_tool("remove_item", {"id": 2})
    assert "Permanently remove item #1" in text_of(first) and "Permanently remove item #1" in text_of(second)
    assert 'Run remove_item with {"id": 2' in text_of(stuck) and CODE.search(text_of(stuck))
    assert [arguments["id"] for arguments in looked_up] == [1, 2]  # the identical retry reused the first sentence


@pytest.mark.parametrize("approve", [True, False])
async def test_a_client_that_can_wait_gets_the_owners_terminal_answer_in_the_same_call(
    h: Harness, approve: bool
) -> None:
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    results: list[types.CallToolResult] = []
    async with h.client() as client, anyio.create_task_group() as group:

        async def call() -> None:
            results.append(await client.call_tool("remove_item", {"id": 3}, progress_callback=on_progress))

        group.start_soon(call)
        with anyio.fail_after(10):
            while not (waiting := [p for p in h.approvals.waiting() if not p.approved]):
                await anyio.sleep(0.05)
        assert not results
        h.approvals.decide(waiting[0].code, approve)
    [result] = results
    assert progress and f"`demo approve {waiting[0].code}`" in progress[0]
    if approve:
        assert not result.is_error and h.ran == [("remove_item", {"id": 3, "note": ""})]
    else:
        assert "The owner declined at the terminal: Permanently remove item #3" in text_of(result) and h.ran == []
    [line] = h.audit_lines()
    assert (line["decision"], line["channel"], line["answered_by"]) == (
        ("confirmed" if approve else "declined"),
        "terminal",
        "owner",
    )


# --- the Trakt side: ask only about calls that can act ------------------------------------------------------------


class Asked:
    def __init__(self) -> None:
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})


async def test_signed_out_a_destructive_call_says_so_and_asks_nobody(session: Session, settings: Settings) -> None:
    asked = Asked()
    arguments = {"watchlist_type": "movies", "items": [{"trakt_id": "120"}]}
    async with session(elicitation_callback=asked) as client:
        removed = await client.call_tool("remove_user_watchlist", arguments)
        cleared = await client.call_tool("clear_auth", {})
    assert removed.is_error and "needs your Trakt account" in text_of(removed)
    assert "nobody was asked to approve it" in text_of(removed)
    assert not cleared.is_error and text_of(cleared).startswith("Nothing to clear")
    assert asked.questions == []
    lines = (settings.home / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["decision"] for line in lines] == ["not_ready", "not_ready"]


def test_the_approve_command_names_the_state_folder_when_it_is_not_the_default(tmp_path: Path) -> None:
    # program(): `trakt-mcp` when that name on PATH is this installation, else its absolute path (issue #25)
    assert approve_command(Settings(home=default_home())) == f"{program()} approve"
    assert approve_command(Settings(home=tmp_path / "my home")) == f"{program()} approve --home '{tmp_path}/my home'"


def test_approve_lists_what_waits_and_an_unknown_code_names_the_folder_it_looked_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "elsewhere"
    assert main(["approve", "--home", str(home)]) == 0
    assert f"Nothing waits for approval (looked in the state folder {home}" in capsys.readouterr().out
    assert main(["approve", "ABCD-2345", "--home", str(home)]) == 1
    error = capsys.readouterr().err
    assert "no pending approval ABCD-2345" in error and str(home) in error and "--home" in error


async def test_a_check_in_whose_title_names_no_single_show_asks_nobody(
    settings: Settings, fake: FakeTrakt, signed_in: Any, tmp_path: Path
) -> None:
    asked = Asked()
    policy = {"version": "1", "default": "allow", "rules": {"checkin_to_show": {"action": "confirm"}}}
    async with served(settings, fake, policy, tmp_path, elicitation_callback=asked) as client:
        several = await client.call_tool("checkin_to_show", {"show_title": "the", "season": 1, "episode": 1})
        none = await client.call_tool("checkin_to_show", {"show_title": "No Such Show", "season": 1, "episode": 1})
        one = await client.call_tool(
            "checkin_to_show", {"show_title": "Breaking Bad", "show_year": 2008, "season": 1, "episode": 4}
        )
    assert "Several shows match" in text_of(several) and "Nobody was asked to approve it" in text_of(several)
    assert "No show on Trakt matches" in text_of(none) and "Nobody was asked" in text_of(none)
    assert len(asked.questions) == 1 and "Breaking Bad (2008) S01E04" in asked.questions[0]
    assert not one.is_error, text_of(one)
