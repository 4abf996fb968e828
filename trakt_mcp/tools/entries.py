"""Markdown for rows of the user's own library (watched, ratings, watchlist, history, playback): what each row is
about, with the IDs a follow-up call needs."""

from __future__ import annotations

from typing import Any

from trakt_mcp.tools.format import fact, media_line, ref, title

KINDS = ("episode", "season", "movie", "show")


def about(row: dict[str, Any]) -> str:
    """'Inception (2010) `inception-2010`'; episodes: 'Breaking Bad (2008) S01E01 Pilot `1388101`'."""
    kind = row.get("type") if row.get("type") in KINDS else next((k for k in KINDS if k in row), None)
    if kind is None:
        return "(unknown item)"
    item = row[kind]
    show = row.get("show") if kind in ("episode", "season") else None
    if show is None:
        return media_line(item)
    name = f"{title(show)} season {item.get('number', '?')}" if kind == "season" else f"{title(show)} {title(item)}"
    return " ".join(part for part in (name, ref(item)) if part)


def when(value: Any) -> str:
    """'2024-05-01 20:00' from Trakt's '2024-05-01T20:00:00.000Z' (UTC)."""
    text = str(value or "")
    return text[:16].replace("T", " ") if "T" in text else fact(text)


def line(row: dict[str, Any], *extra: str) -> str:
    return ", ".join(part for part in (about(row), *extra) if part)


def plain(row: dict[str, Any]) -> str:
    """'Spirited Away (2001)' or 'Breaking Bad (2008) S01E04 Cancer Man': a row's subject in plain words."""
    return about(row).rsplit(" `", 1)[0]
