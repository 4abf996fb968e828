"""A real X display for dialog tests: Xvfb on a free display number, and xdotool to find and press dialogs.

Where Xvfb, zenity or xdotool is missing the tests skip, except in CI (CI=true), where a missing tool fails them:
`.ci/run` installs all three with apt. On a busy machine a dialog program can take seconds to start, so waits are
generous (WAIT); only the dedicated timing test holds a dialog to 2 s, after one warm-up start of zenity.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


#: Display numbers are drawn at random from here, not taken first-free (`-displayfd` alone): when several test runs
#: (or xdist workers) start and stop Xvfb at the same time, a display number just given up can be handed out again
#: while the old server still removes its socket, and the new display then cannot be opened ("cannot open display").
DISPLAY_NUMBERS = range(1_000, 30_000)


@contextmanager
def virtual_display() -> Iterator[str]:
    """Xvfb on a display number nobody uses (it says through -displayfd once it listens); yields e.g. ":4711"."""
    require_tools(*TOOLS)
    framebuffer = Path(tempfile.mkdtemp(prefix="xvfb-"))
    process, display = start_xvfb(framebuffer)
    try:
        FRAMEBUFFERS[display] = framebuffer / "Xvfb_screen0"
        warm_up(display)
        yield display
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(framebuffer, ignore_errors=True)


def start_xvfb(framebuffer: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a random free display number; another is tried when the number is taken (Xvfb then exits)."""
    for _ in range(20):
        number = random.SystemRandom().choice(DISPLAY_NUMBERS)
        read, write = os.pipe()
        # -noreset: by default Xvfb resets itself whenever its last client leaves, and a dialog that connects during
        # the reset gets "cannot open display" (1 start in 80 under parallel runs, as each xdotool poll connects and
        # leaves); with -noreset none in 360.
        argv = ["Xvfb", f":{number}", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"]
        argv.append("-noreset")
        process = subprocess.Popen(
            [*argv, "-fbdir", str(framebuffer)],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as said:
            ready = said.readline().strip()
        if ready == str(number):
            return process, f":{number}"
        process.wait(timeout=10)  # the number was taken: Xvfb said nothing and exits
    raise AssertionError("Xvfb found no free display number in 20 tries")


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
        found = shown(display, title)
        waited = time.monotonic() - started
        if found:
            return found[0], waited
        if waited > timeout:
            raise AssertionError(f"no window titled {title!r} within {timeout} s")
        time.sleep(0.05)


def windows(display: str, title: str) -> list[str]:
    """Every window with `title`, mapped or not (to check that a dialog is gone)."""
    return xdotool(display, "search", "--name", title).stdout.split()


def shown(display: str, title: str) -> list[str]:
    """The windows with `title` that are mapped: only those can take the keyboard (a named window not yet mapped
    refuses focus with BadMatch, as happens on a loaded machine)."""
    return xdotool(display, "search", "--onlyvisible", "--name", title).stdout.split()


def press(display: str, window: str, *keys: str) -> None:
    """Give the window the keyboard (there is no window manager) and press keys, as the owner would."""
    done = xdotool(display, "windowfocus", "--sync", window, "key", "--delay", "50", *keys)
    assert done.returncode == 0, done.stderr


#: Each virtual display's screen as Xvfb keeps it (an XWD image, always current: `Xvfb -fbdir`).
FRAMEBUFFERS: dict[str, Path] = {}


def window_geometry(display: str, window: str) -> tuple[int, int, int, int]:
    """x, y, width and height of a window on the screen."""
    said = dict(line.split("=", 1) for line in xdotool(display, "getwindowgeometry", "--shell", window).stdout.split())
    return int(said["X"]), int(said["Y"]), int(said["WIDTH"]), int(said["HEIGHT"])


def save_window(display: str, window: str, target: Path) -> None:
    """A PNG of one window as the screen shows it, read from Xvfb's framebuffer (no screenshot tool needed)."""
    data = FRAMEBUFFERS[display].read_bytes()
    header = struct.unpack(">25I", data[:100])
    header_size, width, bits, line, colors = header[0], header[4], header[11], header[12], header[19]
    assert bits == 32, f"expected a 32-bit framebuffer, got {bits}"
    pixels = header_size + colors * 12
    x, y, w, h = window_geometry(display, window)
    rows = []
    for row in range(y, y + h):
        start = pixels + row * line + x * 4
        blue_green_red = data[start : start + w * 4]  # one pixel: blue, green, red, unused
        rgb = bytearray(w * 3)
        rgb[0::3], rgb[1::3], rgb[2::3] = blue_green_red[2::4], blue_green_red[1::4], blue_green_red[0::4]
        rows.append(b"\0" + bytes(rgb))
    assert width >= x + w

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    target.write_bytes(png)
