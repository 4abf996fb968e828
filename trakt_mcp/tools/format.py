"""Markdown for a model to read, as small as it can be while keeping what the next call needs.

A list line is the title, its year and one ID (the slug, or the Trakt ID when there is no slug: what every
`*_id` argument takes), then only what the tool is about: the chart's own counter, the facts its description
promises. What a line shows beyond that is declared per tool as a `Line`, and a `Line` with facts is what asks
Trakt for `extended=full`, so no tool pays for detail it does not print. Summaries (asked for one item's details)
show everything, with its Trakt ID and slug.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from trakt_mcp.client import Page


def ref(item: dict[str, Any]) -> str:
    """The one ID a follow-up call needs, in backticks: `breaking-bad`, or `1388101` for what has no slug."""
    known = item.get("ids") or {}
    value = known.get("slug") or known.get("trakt")
    return f"`{value}`" if value else ""


def ids(item: dict[str, Any]) -> str:
    """Every ID an agent may name the item by ('trakt:1388 slug:breaking-bad'), for summaries."""
    known = item.get("ids") or {}
    parts = []
    if "trakt" in known:
        parts.append(f"trakt:{known['trakt']}")
    if known.get("slug"):
        parts.append(f"slug:{known['slug']}")
    return " ".join(parts)


def title(item: dict[str, Any]) -> str:
    """'Breaking Bad (2008)'; episodes read 'S01E02 Cat's in the Bag...'."""
    year = item.get("year")
    name = item.get("title") or item.get("name") or item.get("username") or "(untitled)"
    text = f"{name} ({year})" if year else str(name)
    if "season" in item and "number" in item:
        return f"S{item['season']:02d}E{item['number']:02d} {text}"
    return text


def media_line(item: dict[str, Any], *extra: str) -> str:
    """'Breaking Bad (2008) `breaking-bad`, 412 watching'."""
    head = " ".join(part for part in (title(item), ref(item)) if part)
    return ", ".join(part for part in (head, *extra) if part)


def bullet_list(
    heading: str, rows: Iterable[Any], render: Callable[[Any], str], page: Page | None = None, empty: str = ""
) -> str:
    lines = [f"- {render(row)}" for row in rows]
    if not lines:
        return f"## {heading}\n{empty or 'Nothing found.'}"
    text = f"## {heading}\n" + "\n".join(lines)
    footer = page_footer(page, len(lines)) if page else ""
    return f"{text}\n{footer}" if footer else text


def page_footer(page: Page, shown: int) -> str:
    """'_Page 1 of 2, 12 items._' when there is more than this page holds."""
    facts = page.pagination
    if facts is None or (facts.page_count <= 1 and shown >= facts.item_count):
        return ""
    text = f"_Page {facts.page} of {facts.page_count}, {facts.item_count} items._"
    if page.capped:
        text += " _Stopped at the safety cap: ask for specific pages to see more._"
    return text


#: Counters Trakt sends beside a title in list answers, and how a line reads them.
COUNTERS = {
    "watchers": "watching",
    "list_count": "in lists",
    "user_count": "favorites",
    "watcher_count": "watchers",
    "play_count": "plays",
    "collector_count": "collectors",
    "episode_count": "episodes",
}
SUBJECTS = ("show", "movie", "episode", "season", "person")
#: Facts of an item a list line may show (they need extended=full), and how each reads.
LINE_FACTS: dict[str, Callable[[Any], str]] = {
    "rating": lambda value: f"★{float(value):.1f}",
    "votes": lambda value: f"{value:,} votes",
    "runtime": lambda value: f"{value} min",
    "episode_count": lambda value: f"{value} episodes",
    "first_aired": lambda value: f"aired {fact(value)}",
}
#: Facts a summary lists after the title line, in this order.
FACTS = {
    "status": "Status",
    "network": "Network",
    "first_aired": "First aired",
    "released": "Released",
    "certification": "Rated",
    "country": "Country",
    "aired_episodes": "Aired episodes",
    "episode_count": "Episodes",
    "genres": "Genres",
    "birthday": "Born",
    "birthplace": "Birthplace",
    "death": "Died",
    "known_for_department": "Known for",
}
_SPOILER_TAG = re.compile(r"\[spoiler\](.*?)\[/spoiler\]", re.IGNORECASE | re.DOTALL)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+Z?")


def subject(row: dict[str, Any]) -> dict[str, Any]:
    """The title a list row is about: `row["show"]` in {"watchers": 3, "show": {...}}, else the row itself."""
    for key in SUBJECTS:
        if isinstance(row.get(key), dict):
            return dict(row[key])
    return row


def fact(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    return text[:10] if _TIMESTAMP.fullmatch(text) else text


@dataclass(frozen=True)
class Line:
    """What one list line of a tool shows besides title, year and one ID: the row's `counters` (keys of
    COUNTERS, or "revenue") and the item's `facts` (keys of LINE_FACTS). Declared once per tool."""

    counters: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        """Whether the line needs Trakt's extended=full (only its facts do)."""
        return bool(self.facts)

    def __call__(self, row: dict[str, Any]) -> str:
        item = subject(row)
        extra = [LINE_FACTS[key](item[key]) for key in self.facts if item.get(key) is not None]
        for key in self.counters:
            if row.get(key) is None:
                continue
            extra.append(f"${row[key]:,} box office" if key == "revenue" else f"{fact(row[key])} {COUNTERS[key]}")
        return media_line(item, *extra)


def summary(item: dict[str, Any]) -> str:
    facts = " · ".join(f"{label}: {fact(item[key])}" for key, label in FACTS.items() if item.get(key))
    prose = [f"_{item['tagline']}_" if item.get("tagline") else "", item.get("overview") or item.get("biography")]
    head = " — ".join(part for part in (f"**{title(item)}**", ids(item), stats(item)) if part)
    return "\n".join(str(part) for part in (head, facts, *prose) if part)


def ratings(data: dict[str, Any]) -> str:
    text = f"★{float(data.get('rating') or 0):.2f}/10 from {int(data.get('votes') or 0):,} votes"
    spread = data.get("distribution") or {}
    bars = " · ".join(f"{score}: {spread[score]:,}" for score in sorted(spread, key=int, reverse=True))
    return f"{text}\nVotes per score: {bars}" if bars else text


def stats(item: dict[str, Any]) -> str:
    parts = []
    if item.get("rating") is not None:
        parts.append(f"★{float(item['rating']):.1f}")
    if item.get("votes"):
        parts.append(f"{item['votes']:,} votes")
    if item.get("runtime"):
        parts.append(f"{item['runtime']} min")
    return ", ".join(parts)


def numbers(data: dict[str, Any]) -> str:
    return "\n".join(f"- {key.replace('_', ' ')}: {fact(value)}" for key, value in data.items())


def video(item: dict[str, Any], embed_markdown: bool) -> str:
    name = item.get("title") or item.get("type") or "video"
    link = f"[{name}]({item['url']})" if embed_markdown else f"{name}: {item['url']}"
    details = [
        item.get("type"),
        item.get("site"),
        fact(item.get("published_at") or ""),
        item.get("official") and "official",
    ]
    return " — ".join([link, ", ".join(str(d) for d in details if d)])


def credit(row: dict[str, Any]) -> str:
    roles = row.get("characters") or row.get("jobs") or []
    extra = [("as " if row.get("characters") else "") + ", ".join(roles)] if roles else []
    if row.get("episode_count"):
        extra.append(f"{row['episode_count']} episodes")
    return media_line(subject(row), *extra)


def credits(data: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """Cast, each crew department and guest stars as (heading, rows) sections."""
    sections = [("Cast", data.get("cast") or [])]
    sections += [(f"Crew: {dept}", rows) for dept, rows in (data.get("crew") or {}).items()]
    if "guest_stars" in data:
        sections.append(("Guest stars", data["guest_stars"] or []))
    return sections


def comment(item: dict[str, Any], show_spoilers: bool) -> str:
    user = (item.get("user") or {}).get("username", "someone")
    counts = [f"{item[key]} {key}" for key in ("likes", "replies") if item.get(key)]
    meta = [fact(item.get("created_at") or ""), *counts]
    if (item.get("user_stats") or {}).get("rating"):
        meta.append(f"rated {item['user_stats']['rating']}/10")
    head = f"#{item['id']} by {user} ({', '.join(m for m in meta if m)})"
    if item.get("parent_id"):
        head += f", reply to #{item['parent_id']}"
    if item.get("review"):
        head += ", review"
    text = str(item.get("comment", ""))
    if item.get("spoiler"):
        if not show_spoilers:
            return f"{head}, **spoiler**: _hidden; call again with show_spoilers=true to read it_"
        head += ", **spoiler**"
    elif _SPOILER_TAG.search(text):
        text = _SPOILER_TAG.sub(r"[spoiler: \1]" if show_spoilers else "[spoiler hidden]", text)
        head += ", **spoiler**" if show_spoilers else ""
    return f"{head}: {text}"


def trakt_list(item: dict[str, Any]) -> str:
    user = (item.get("user") or {}).get("username")
    extra = [
        item.get("type") or "",
        f"by {user}" if user else "",
        f"{item.get('item_count', 0)} items, {item.get('likes', 0)} likes, {item.get('comment_count', 0)} comments",
    ]
    return media_line(item, *extra)


def user(item: dict[str, Any]) -> str:
    name = f" ({item['name']})" if item.get("name") else ""
    return f"**{item.get('username', '?')}**{name}" + (" — VIP" if item.get("vip") else "")


def translations(rows: list[dict[str, Any]], language: str) -> str:
    """A table of language, title and tagline (the tagline column only when Trakt sent any); each overview follows
    only when one language was asked for (language != "all"), since all of them are most of the bytes."""
    columns = ["title", "tagline"] if any(row.get("tagline") for row in rows) else ["title"]
    lines = [f"| language | {' | '.join(columns)} |", "|---" * (len(columns) + 1) + "|"]
    for row in rows:
        cells = [str(row.get(column) or "").replace("|", "/") for column in columns]
        lines.append(f"| {_where(row)} | {' | '.join(cells)} |")
    if language != "all":
        lines += [f"{_where(row)}: {row['overview']}" for row in rows if row.get("overview")]
    return "\n".join(lines)


def _where(row: dict[str, Any]) -> str:
    return "-".join(str(part) for part in (row.get("language"), row.get("country")) if part)
