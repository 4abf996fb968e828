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


#: How many characters of an offending value an error message quotes.
EXCERPT = 60


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """An offending value as an error quotes it: a short, escaped prefix, and its length when cut (a 200 MB
    argument never comes back in the error)."""
    text = value if isinstance(value, str) else repr(value)
    cut = f"… ({len(text):,} characters)" if len(text) > limit else ""
    return f'"{printable(text[:limit])}"{cut}'
