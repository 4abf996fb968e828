"""Showing text that others chose (an agent, a client, Trakt) to a person at a terminal, safely."""

from __future__ import annotations

import functools
import importlib.util
import os
import select
import shlex
import shutil
import signal
import sys
import threading
from importlib import metadata
from pathlib import Path

from guard import commands as guard_commands

#: The names this program is installed under (pyproject's console scripts), the one messages prefer first.
COMMAND_NAMES = ("trakt-mcp", "trakt-guardrails")
#: This project's distribution (pyproject's name; "trakt-mcp" on PyPI is another project).
DIST_NAME = "trakt-guardrails"


def printable(text: str) -> str:
    """Text an agent, a client or Trakt chose, made safe for a terminal: line breaks, control and format
    characters (escape sequences, bidi overrides, zero-width characters) are shown escaped, so none can move the
    cursor, recolour, reorder or hide what a person reads."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def printable_lines(text: str) -> str:
    """`printable` for each line of a multi-line message: its own line breaks stay, nothing else moves."""
    return "\n".join(printable(line) for line in text.split("\n"))


#: How many characters of an offending value an error message quotes.
EXCERPT = 60


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """An offending value as an error quotes it: a short, escaped prefix, and its length when cut (a 200 MB
    argument never comes back in the error)."""
    text = value if isinstance(value, str) else repr(value)
    cut = f"… ({len(text):,} characters)" if len(text) > limit else ""
    return f'"{printable(text[:limit])}"{cut}'


def ask(prompt: str) -> str:
    """input(), but Ctrl-C interrupts it at once, even inside an event loop with other threads about. There,
    asyncio's runner only cancels its main task on the first SIGINT, and the signal may reach another thread, so
    a read blocked on the terminal would never wake: the person would press Ctrl-C and nothing would happen. So
    this waits for a line in short slices (Python checks for signals between them) with SIGINT raising
    KeyboardInterrupt as in plain Python. EOF (Ctrl-D) reads as an empty answer."""
    try:
        sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO): nothing to wait on
        return input(prompt)
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return input(prompt)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        while not select.select([sys.stdin], [], [], 0.2)[0]:
            pass
        return sys.stdin.readline().rstrip("\n")
    finally:
        signal.signal(signal.SIGINT, previous)


@functools.cache
def program() -> str:
    """How a person in a new shell runs this very installation, for every message that names a command: its bare
    name when PATH finds this installation through a folder that is not the virtual environment's own (pipx's
    ~/.local/bin, a system install), else the absolute path of its script (a virtual environment, activated or not,
    a client's or `uv run`'s: a new shell has none of them on PATH), else, where the source runs uninstalled from a
    folder with a launcher (the Claude Desktop bundle), its Python and that folder, else `python -m trakt_mcp` by
    absolute path."""
    scripts = Path(sys.executable).parent
    in_environment = sys.prefix != sys.base_prefix
    invoked = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    names = sorted(COMMAND_NAMES, key=lambda name: name != invoked.removesuffix(".exe"))
    for name in names:
        on_path = shutil.which(name)
        for candidate in (scripts / name, scripts / f"{name}.exe"):
            if not (candidate.is_file() and on_path and os.path.samefile(on_path, candidate)):
                continue
            if not in_environment or Path(on_path).parent.absolute() != scripts.absolute():
                return name
    for name in names:
        for candidate in (scripts / name, scripts / f"{name}.exe"):
            if candidate.is_file():
                return shlex.quote(str(candidate.absolute()))
    python = shlex.quote(str(Path(sys.executable).absolute()))
    source = Path(__file__).resolve().parent.parent
    if (source / "__main__.py").is_file():  # the Claude Desktop bundle: its folder runs as a program
        return f"{python} {shlex.quote(str(source))}"
    return f"{python} -m trakt_mcp"


def command(words: str) -> str:
    """A command line to show a person, e.g. command("approve CODE"): see `program`."""
    return f"{program()} {words}"


def postgresql_fix() -> str:
    """How to add the `postgresql` extra's packages to this very installation: its own interpreter's pip (or uv's
    pip where the environment has none, as uv-made ones), with the versions pyproject asks for."""
    try:
        wanted = [r.split(";")[0].strip() for r in metadata.requires(DIST_NAME) or [] if 'extra == "postgresql"' in r]
    except metadata.PackageNotFoundError:
        wanted = []
    requirement = shlex.quote(wanted[0] if wanted else "psycopg[binary,pool]>=3.2,<4")
    python = shlex.quote(str(Path(sys.executable).absolute()))
    if importlib.util.find_spec("pip") is not None:
        how = f"{python} -m pip install {requirement}"
    else:
        how = f"uv pip install --python {python} {requirement}"
    return f"install {DIST_NAME}'s postgresql extra into this installation: `{how}`"


# The guard names the commands of whoever hosts it: here, this installation's.
guard_commands.configure(program=program, postgresql_fix=postgresql_fix)
