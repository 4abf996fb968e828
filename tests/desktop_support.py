"""A real X display for dialog tests: Xvfb on a free display number, and xdotool to find and press dialogs.

Where Xvfb, zenity or xdotool is missing the tests skip, except in CI (CI=true), where a missing tool fails them:
`.ci/run` installs all three with apt. On a busy machine a dialog program can take seconds to start, so waits are
generous (WAIT); only the dedicated timing test holds a dialog to 2 s, after one warm-up start of zenity.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

TOOLS = ("Xvfb", "zenity", "xdotool")
#: How long a test waits for a window or for xdotool before it fails (generous: a loaded machine is slow).
WAIT = 30.0


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} (apt-get install xvfb zenity xdotool; .ci/run does)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the dialog tests: {message}")
    pytest.skip(message)


@contextmanager
def virtual_display() -> Iterator[str]:
    """Xvfb on the first free display number (it tells us which through -displayfd); yields e.g. ":7"."""
    require_tools(*TOOLS)
    read, write = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        assert number.isdigit(), "Xvfb did not report its display number"
        warm_up(f":{number}")
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def warm_up(display: str) -> None:
    """Start zenity once and close it, so later dialogs start from a warm disk cache, as on a desktop in use."""
    env = {**os.environ, "DISPLAY": display}
    argv = ["zenity", "--info", "--title=warm-up", "--text=warm-up", "--timeout=30"]
    dialog = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_window(display, "warm-up")
    finally:
        dialog.kill()
        dialog.wait(timeout=WAIT)


def xdotool(display: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISPLAY": display}
    return subprocess.run(["xdotool", *argv], env=env, capture_output=True, text=True, timeout=WAIT)


def wait_for_window(display: str, title: str, timeout: float = WAIT) -> tuple[str, float]:
    """The id of the first window whose title contains `title`, and how long it took to appear."""
    started = time.monotonic()
    while True:
        found = xdotool(display, "search", "--name", title).stdout.split()
        waited = time.monotonic() - started
        if found:
            return found[0], waited
        if waited > timeout:
            raise AssertionError(f"no window titled {title!r} within {timeout} s")
        time.sleep(0.05)


def windows(display: str, title: str) -> list[str]:
    return xdotool(display, "search", "--name", title).stdout.split()


def press(display: str, window: str, *keys: str) -> None:
    """Give the window the keyboard (there is no window manager) and press keys, as the owner would."""
    done = xdotool(display, "windowfocus", "--sync", window, "key", "--delay", "50", *keys)
    assert done.returncode == 0, done.stderr
