"""How the guard's messages name the host application's commands and install steps (`state migrate`, `identity add
NAME`, the PostgreSQL driver), so that each names one that works where it is read. The guard knows no host: the
host says once, at start, how a person runs it (`configure`); until then messages name a generic `<program>`."""

from __future__ import annotations

from collections.abc import Callable


def _generic_program() -> str:
    return "<program>"


def _generic_postgresql_fix() -> str:
    return "install psycopg 3 with its pool (`pip install 'psycopg[binary,pool]'`)"


#: A person's command line for the host program, asked each time a message is made (the host may compute it late).
_program: Callable[[], str] = _generic_program
#: The fix for a missing PostgreSQL driver, in the host's words (which installation, which extra).
_postgresql_fix: Callable[[], str] = _generic_postgresql_fix


def configure(*, program: Callable[[], str], postgresql_fix: Callable[[], str]) -> None:
    """Called by the host application before it uses the guard."""
    global _program, _postgresql_fix
    _program, _postgresql_fix = program, postgresql_fix


def command(words: str) -> str:
    """A command line to show a person, e.g. command("state migrate")."""
    return f"{_program()} {words}"


def postgresql_fix() -> str:
    return _postgresql_fix()
