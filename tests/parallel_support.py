"""Running the suite on several workers (pytest-xdist, `-n` in pyproject.toml's addopts), as a pytest plugin that
tests/conftest.py loads.

- `@pytest.mark.alone`: the test runs with no other test of this run at the same time. For the few tests that time
  something the owner sees (a dialog within 2 s): the other workers finish the test they are running and wait
  until it is done. Without xdist (`-n 0`, `-p no:xdist`) every test runs alone anyway and the mark does nothing.
- `figure(text)`: a fixture for a figure a person reads in the log (the side doors' "580 tried, 580 held"). A worker's
  output is not shown, so the figure travels in the test's report and the run prints every one of them in a
  "figures" section at the end, with or without workers.

Everything else needs no mark: each worker has its own temporary folders, PostgreSQL cluster, Xvfb displays and
ports (tests ask the system for free ones), and a test file runs on one worker (`--dist loadfile`), so a module's
fixtures start once.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ALONE = "alone"
#: Where the controller tells its workers the lock files are (one folder per run, so runs never wait on each other).
LOCKS = "trakt_mcp_test_locks"
FIGURE = "figure"
_locks = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{ALONE}: runs with no other test at the same time (timing-sensitive tests)")
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and LOCKS in workerinput:
        config.stash[_locks] = Path(workerinput[LOCKS])
    elif workerinput is None and getattr(config.option, "numprocesses", None):
        config.stash[_locks] = Path(tempfile.mkdtemp(prefix="trakt-mcp-tests-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None and _locks in config.stash:
        shutil.rmtree(config.stash[_locks], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller: hand each worker the run's lock folder."""
    config: pytest.Config = node.config
    if _locks in config.stash:
        node.workerinput[LOCKS] = str(config.stash[_locks])


@contextmanager
def _locked(path: Path, how: int) -> Iterator[None]:
    with path.open("a") as file:
        fcntl.flock(file, how)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """A readers-writer lock across the workers, writers first: every test holds the room shared, an `alone` test
    holds it exclusively. The turnstile keeps new tests out while an `alone` test waits for the room to empty."""
    folder = item.config.stash.get(_locks, None)
    if folder is None or getattr(item.config, "workerinput", None) is None:
        return (yield)
    turnstile, room = folder / "turnstile", folder / "room"
    if item.get_closest_marker(ALONE) is not None:
        with _locked(turnstile, fcntl.LOCK_EX), _locked(room, fcntl.LOCK_EX):
            return (yield)
    with _locked(turnstile, fcntl.LOCK_SH):
        pass
    with _locked(room, fcntl.LOCK_SH):
        return (yield)


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """`figure("side doors (hide-all): 580 tried, 580 held")`: printed in the run's "figures" section."""

    def record(text: str) -> None:
        request.node.user_properties.append((FIGURE, text))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """On the controller (or a run without workers): collect the figures of each test as its report arrives."""
    for name, value in report.user_properties:
        if name == FIGURE and report.when == "call":
            _collected.append(str(value))


#: Filled by pytest_runtest_logreport in the process that prints the summary (workers' lists are never printed).
_collected: list[str] = []


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _collected and getattr(config, "workerinput", None) is None:
        terminalreporter.section("figures")
        for line in _collected:
            terminalreporter.write_line(line)
