"""What the owner reads, and what `require` means (issue 24, breaks 6 and 7), through real `trakt-mcp` processes:
blank-rendering text is blank to `require`; a 60-item batch padded with blank-rendering characters and a long
unbroken note reach the owner's desktop dialog as a count, plain names and wrapped lines, in a window that fits the
screen with both buttons on it (Xvfb, zenity). `TRAKT_MCP_SCREENSHOT=docs/dialog.png` also saves the dialog."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from guard.channels.desktop import DIALOG_COLUMNS, TITLE
from guard.text import renders_blank
from tests.conftest import text_of
from tests.desktop_support import press, save_window, virtual_display, wait_for_window, window_geometry, xdotool
from tests.process_support import audit_lines, fake_trakt, signed_in, trakt_environment, write_json

BLANKS = ["\u3164\u3164", "\u2800", "\u115f", "\u3164 \u2800\u200b\u115f\u1160\uffa0"]
SCREEN = (1024, 768)


def checkin(message: str) -> dict[str, Any]:
    return {"show_id": "breaking-bad", "season": 1, "episode": 1, "message": message}


async def test_require_treats_blank_rendering_text_as_blank(tmp_path: Path) -> None:
    required = {"checkin_to_show": {"action": "allow", "require": ["message"]}}
    policy = {"version": "1", "default": "allow", "rules": required}
    home = tmp_path / "home"
    with fake_trakt() as (fake, api):
        signed_in(fake, home)
        env = trakt_environment(home, api)
        path = write_json(tmp_path / "policy.json", policy)
        server = StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp", "--policy", str(path)], env=env)
        async with Client(server, mode="legacy") as client:
            refused = [await client.call_tool("checkin_to_show", checkin(blank)) for blank in BLANKS]
            allowed = await client.call_tool("checkin_to_show", checkin("Rewatching with friends"))
    assert all(result.is_error and "did not run" in text_of(result) for result in refused), [
        text_of(result) for result in refused
    ]
    assert not allowed.is_error, text_of(allowed)
    assert len(fake.calls_to("POST", "/checkin")) == 1
    decisions = [line["decision"] for line in audit_lines(home) if line["tool"] == "checkin_to_show"]
    assert decisions == ["denied"] * len(BLANKS) + ["allowed"]


async def test_a_padded_sixty_item_batch_reaches_the_owner_as_a_count_in_a_dialog_that_fits(tmp_path: Path) -> None:
    filler = "\u3164" * 40 + "\u2800" * 40
    items = [{"trakt_id": str(1000 + n), "notes": filler} for n in range(60)]
    items[0]["notes"] = "x" * 500  # one long unbroken word, as long as a note may be
    confirm = {"add_user_watchlist": {"action": "confirm", "confirm_via": ["desktop"]}}
    home = tmp_path / "home"
    with virtual_display() as display, fake_trakt() as (fake, api):
        signed_in(fake, home)
        env = trakt_environment(home, api, DISPLAY=display)
        path = write_json(tmp_path / "policy.json", {"version": "1", "default": "allow", "rules": confirm})
        server = StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp", "--policy", str(path)], env=env)
        async with Client(server, mode="legacy") as client:
            results = []
            async with anyio.create_task_group() as group:

                async def call() -> None:
                    arguments = {"watchlist_type": "movies", "items": items}
                    results.append(await client.call_tool("add_user_watchlist", arguments))

                group.start_soon(call)
                window, _ = await anyio.to_thread.run_sync(wait_for_window, display, TITLE)
                text = dialog_text(display, window)
                x, y, width, height = window_geometry(display, window)
                if target := os.environ.get("TRAKT_MCP_SCREENSHOT"):
                    save_window(display, window, Path(target))
                await anyio.to_thread.run_sync(lambda: press(display, window, "Escape"))
    [result] = results
    assert result.is_error and "denied" in text_of(result)
    assert not fake.calls_to("POST", "/sync/watchlist")
    assert "(60 items)" in text and "and 55 more" in text, text
    assert not any(renders_blank(ch) for ch in text.replace("\n", ""))
    assert max(len(line) for line in text.split("\n")) <= DIALOG_COLUMNS
    assert x >= 0 and x + width <= SCREEN[0] and y >= 0 and y + height <= SCREEN[1], (x, y, width, height)


def dialog_text(display: str, window: str) -> str:
    """The words zenity shows: its --text argument, read from the dialog process's command line."""
    pid = xdotool(display, "getwindowpid", window).stdout.strip()
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    [text] = [arg.removeprefix("--text=") for arg in argv if arg.startswith("--text=")]
    return re.sub(r"\r", "", text)
