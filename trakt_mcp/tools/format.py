"""Markdown for a model to read: one line per title with year and the IDs a follow-up call needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from trakt_mcp.client import Page


def ids(item: dict[str, Any]) -> str:
    known = item.get("ids") or {}
    parts = []
    if "trakt" in known:
        parts.append(f"trakt:{known['trakt']}")
    if known.get("slug"):
        parts.append(f"slug:{known['slug']}")
    return " ".join(parts)


def title(item: dict[str, Any]) -> str:
    year = item.get("year")
    name = item.get("title") or item.get("name") or "(untitled)"
    return f"**{name}** ({year})" if year else f"**{name}**"


def stats(item: dict[str, Any]) -> str:
    parts = []
    if item.get("rating") is not None:
        parts.append(f"★{float(item['rating']):.1f}")
    if item.get("votes"):
        parts.append(f"{item['votes']} votes")
    if item.get("runtime"):
        parts.append(f"{item['runtime']} min")
    return ", ".join(parts)


def media_line(item: dict[str, Any], *extra: str) -> str:
    """'**Breaking Bad** (2008) — trakt:1388 slug:breaking-bad — 412 watching'."""
    pieces = [title(item), ids(item), stats(item), *extra]
    return " — ".join(p for p in pieces if p)


def bullet_list(
    heading: str, rows: Iterable[Any], render: Callable[[Any], str], page: Page | None = None, empty: str = ""
) -> str:
    lines = [f"- {render(row)}" for row in rows]
    if not lines:
        return f"## {heading}\n{empty or 'Nothing found.'}"
    text = f"## {heading}\n" + "\n".join(lines)
    footer = page_footer(page, len(lines)) if page else ""
    return f"{text}\n\n{footer}" if footer else text


def page_footer(page: Page, shown: int) -> str:
    facts = page.pagination
    if facts is None:
        return ""
    text = f"_Page {facts.page} of {facts.page_count}; {facts.item_count} items in all; {shown} shown._"
    if page.capped:
        text += " _Stopped at the safety cap: ask for specific pages to see more._"
    return text
