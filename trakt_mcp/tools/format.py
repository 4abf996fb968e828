"""Markdown for a model to read: one line per title with year and the IDs a follow-up call needs."""

from __future__ import annotations

import re
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
    """'**Breaking Bad** (2008)'; episodes read 'S01E02 **Cat's in the Bag...**'."""
    year = item.get("year")
    name = item.get("title") or item.get("name") or item.get("username") or "(untitled)"
    text = f"**{name}** ({year})" if year else f"**{name}**"
    if "season" in item and "number" in item:
        return f"S{item['season']:02d}E{item['number']:02d} {text}"
    return text


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


def media_row(row: dict[str, Any]) -> str:
    """One list row: title, IDs, rating, and whatever counters Trakt sent with it."""
    counters = [f"{fact(row[key])} {label}" for key, label in COUNTERS.items() if row.get(key)]
    if row.get("revenue"):
        counters.append(f"${row['revenue']:,} box office")
    return media_line(subject(row), *counters)


def summary(item: dict[str, Any]) -> str:
    facts = " · ".join(f"{label}: {fact(item[key])}" for key, label in FACTS.items() if item.get(key))
    prose = [f"_{item['tagline']}_" if item.get("tagline") else "", item.get("overview") or item.get("biography")]
    return "\n".join(str(part) for part in (media_line(item), facts, *prose) if part)


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
    meta = [fact(item.get("created_at") or ""), f"{item.get('likes', 0)} likes", f"{item.get('replies', 0)} replies"]
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


def translation(item: dict[str, Any]) -> str:
    where = "-".join(p for p in (item.get("language"), item.get("country")) if p)
    return " — ".join(str(p) for p in (f"**{where}**", item.get("title"), item.get("overview")) if p)
