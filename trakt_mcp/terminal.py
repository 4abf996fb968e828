"""Showing text that others chose (an agent, a client, Trakt) to a person at a terminal, safely."""

from __future__ import annotations


def printable(text: str) -> str:
    """Text an agent, a client or Trakt chose, made safe for a terminal: line breaks, control and format
    characters (escape sequences, bidi overrides, zero-width characters) are shown escaped, so none can move the
    cursor, recolour, reorder or hide what a person reads."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def printable_lines(text: str) -> str:
    """`printable` for each line of a multi-line message: its own line breaks stay, nothing else moves."""
    return "\n".join(printable(line) for line in text.split("\n"))
