"""The desktop channel for real: zenity dialogs on an Xvfb display, pressed with xdotool as the owner would.

A confirm opens a window within 2 s; Return (the default button, Deny) denies and nothing runs; Allow runs the
call exactly once; a dialog nobody answers times out to deny; a caller whose own client would say yes is asked on
the desktop instead; with no display the terminal channel asks. CI installs Xvfb, zenity and xdotool (.ci/run)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client, types

from guard.channels.desktop import DesktopChannel
from tests.conftest import text_of
from tests.desktop_support import WAIT, press, shown, virtual_display, windows
from tests.guard_server import Harness, write_policy

#: The dialogs are timed (one must show within 2 s): no other test of the run competes for the CPU meanwhile.
pytestmark = pytest.mark.alone

TITLE = "Allow this action?"
POLICY: dict[str, Any] = {
    "version": "1",
    "default": "allow",
    "rules": {"remove_*": {"action": "confirm", "reason": "removes data"}},
    "identities": {"laptop": {"token_sha256": "d" * 64}},
}


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with virtual_display() as name:
        yield name


@pytest.fixture
def h(tmp_path: Path, display: str, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("DISPLAY", display)
    return Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", POLICY))


async def call_and_answer(
    client: Client, display: str, keys: tuple[str, ...], arguments: dict[str, Any], progress: Any = None
) -> tuple[types.CallToolResult, float]:
    """Call remove_item; when its dialog shows, press `keys`. Returns the result and how long the window took."""
    results: list[types.CallToolResult] = []
    async with anyio.create_task_group() as group:

        async def call() -> None:
            results.append(await client.call_tool("remove_item", arguments, progress_callback=progress))

        started = time.monotonic()
        group.start_soon(call)
        window = await window_or_result(display, results)
        shown_after = time.monotonic() - started
        await anyio.to_thread.run_sync(lambda: press(display, window, *keys))
    return results[0], shown_after


async def window_or_result(display: str, results: list[types.CallToolResult]) -> str:
    """The dialog's window once it shows; fails at once, with the call's answer, when the call ended without one."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = await anyio.to_thread.run_sync(shown, display, TITLE)
        if found:
            return found[0]
        if results:
            raise AssertionError(f"the call ended without showing a dialog: {text_of(results[0])}")
        await anyio.sleep(0.05)
    raise AssertionError(f"no window titled {TITLE!r} within {WAIT} s")


def channel_lines(h: Harness) -> list[tuple[str, str | None, str | None]]:
    return [(line["decision"], line.get("channel"), line.get("answered_by")) for line in h.audit_lines()]


async def test_a_confirm_opens_a_dialog_within_two_seconds_and_return_denies(h: Harness, display: str) -> None:
    async with h.client() as client:  # a client without elicitation, as Claude Desktop
        result, shown_after = await call_and_answer(client, display, ("Return",), {"id": 5})
    assert shown_after < 2.0, f"the dialog took {shown_after:.2f} s"
    assert result.is_error and "The owner denied it in a desktop dialog" in text_of(result)
    assert "Permanently remove item #5" in text_of(result) and "remove_item did not run" in text_of(result)
    assert h.ran == []
    assert channel_lines(h) == [("declined", "desktop", "owner")]
    assert windows(display, TITLE) == []  # the dialog is gone


async def test_allow_runs_the_call_exactly_once(h: Harness, display: str) -> None:
    told: list[str] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        told.append(message or "")

    async with h.client() as client:
        result, _ = await call_and_answer(client, display, ("Tab", "Return"), {"id": 7}, progress)  # focus Allow
        assert told and told[0].startswith("Waiting for the owner to answer a dialog on the desktop (120 s left)")
        assert not result.is_error and "remove_item ran with id=7" in text_of(result)
        again, _ = await call_and_answer(client, display, ("Escape",), {"id": 7})  # the same call asks again
        assert again.is_error
    assert h.ran == [("remove_item", {"id": 7, "note": ""})]
    assert channel_lines(h) == [("confirmed", "desktop", "owner"), ("declined", "desktop", "owner")]


async def test_a_remote_caller_that_would_approve_itself_is_asked_on_the_desktop(h: Harness, display: str) -> None:
    h.caller = "laptop"
    async with h.client(answer="accept") as client:  # its own client says yes to anything
        result, _ = await call_and_answer(client, display, ("Return",), {"id": 2})
    assert h.questions == [] and h.ran == [] and result.is_error
    assert channel_lines(h) == [("declined", "desktop", "owner")]


async def test_a_dialog_nobody_answers_times_out_to_deny(h: Harness, display: str) -> None:
    h.guard.channels[1] = DesktopChannel(timeout=1)
    started = time.monotonic()
    async with h.client() as client:
        result = await client.call_tool("remove_item", {"id": 3})
    assert time.monotonic() - started < WAIT  # it never waits the 50 s a silent client would get
    assert result.is_error and "(or let it time out)" in text_of(result) and h.ran == []
    assert windows(display, TITLE) == []


async def test_without_a_display_the_terminal_channel_asks(
    tmp_path: Path, display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    h = Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", POLICY))
    async with h.client() as client:
        result = await client.call_tool("remove_item", {"id": 4})
    assert result.is_error and "`demo approve " in text_of(result)
    assert windows(display, TITLE) == [] and h.ran == []
    assert channel_lines(h) == [("approval_pending", "terminal", None)]
