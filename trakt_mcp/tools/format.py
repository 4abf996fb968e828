"""Markdown for a model to read, as small as it can be while keeping what the next call needs.

A list line is the title, its year and one ID (the slug, or the Trakt ID when there is no slug: what every
`*_id` argument takes), then only what the tool is about: the chart's own counter, the facts its description
promises. What a line shows beyond that is declared per tool as a `Line`, and a `Line` with facts is what asks
Trakt for `extended=full`, so no tool pays for detail it does not print. Summaries (asked for one item's details)
show everything Trakt sent about it, still with one ID.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from trakt_mcp.trakt.client import Page


def ref(item: dict[str, Any]) -> str:
    """The one ID a follow-up call needs, in backticks: `breaking-bad`, or `1388101` for what has no slug."""
    known = item.get("ids") or {}
    value = known.get("slug") or known.get("trakt")
    return f"`{value}`" if value else ""


def title(item: dict[str, Any], *, beside_ref: bool = False) -> str:
    """'Breaking Bad (2008)'; episodes read 'S01E02 Cat's in the Bag...'. `beside_ref`: the ID follows, so a year
    its slug already ends with ('inception-2010') is not said twice."""
    year = item.get("year")
    name = item.get("title") or item.get("name") or item.get("username") or "(untitled)"
    if beside_ref and str((item.get("ids") or {}).get("slug") or "").endswith(f"-{year}"):
        year = None
    text = f"{name} ({year})" if year else str(name)
    if "season" in item and "number" in item:
        return f"S{item['season']:02d}E{item['number']:02d} {text}"
    return text


def media_line(item: dict[str, Any], *extra: str) -> str:
    """'Breaking Bad (2008) `breaking-bad`, 412 watching'; 'Inception `inception-2010`' (the year is in the ID)."""
    head = " ".join(part for part in (title(item, beside_ref=True), ref(item)) if part)
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
    "watchers": "watching now",
    "list_count": "lists it is on",
    "user_count": "favorites",
    "watcher_count": "watchers",
    "play_count": "plays",
    "collector_count": "collectors",
    "revenue": "weekend revenue",
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
    """What one list line of a tool shows besides title, year and one ID, declared once per tool: the `counter` a
    chart ranks by (a key of COUNTERS), printed as a bare number whose name the heading gives once (`unit`), and
    the item's `facts` (keys of LINE_FACTS)."""

    counter: str | None = None
    facts: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        """Whether the line needs Trakt's extended=full (only its facts do)."""
        return bool(self.facts)

    @property
    def unit(self) -> str:
        return COUNTERS[self.counter] if self.counter else ""

    def __call__(self, row: dict[str, Any]) -> str:
        item = subject(row)
        text = media_line(item, *(LINE_FACTS[key](item[key]) for key in self.facts if item.get(key) is not None))
        value = row.get(self.counter) if self.counter else None
        if value is None:
            return text
        return f"{text}: {'$' if self.counter == 'revenue' else ''}{fact(value)}"


def summary(item: dict[str, Any]) -> str:
    facts = " · ".join(f"{label}: {fact(item[key])}" for key, label in FACTS.items() if item.get(key))
    prose = [f"_{item['tagline']}_" if item.get("tagline") else "", item.get("overview") or item.get("biography")]
    head = " — ".join(part for part in (f"**{title(item)}** {ref(item)}".strip(), stats(item)) if part)
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
    details = [item.get("type"), fact(item.get("published_at") or ""), item.get("official") and "official"]
    return ", ".join([link, *(str(d) for d in details if d)])


def credit(row: dict[str, Any]) -> str:
    """'Bryan Cranston `bryan-cranston` as Walter White, 62 episodes'; crew: 'Vince Gilligan `vince-gilligan`:
    Creator, Writer'."""
    roles = ", ".join(row.get("characters") or row.get("jobs") or [])
    text = media_line(subject(row))
    if roles:
        text += f" as {roles}" if row.get("characters") else f": {roles}"
    return f"{text}, {row['episode_count']} episodes" if row.get("episode_count") else text


def credits(data: dict[str, Any]) -> str:
    """The cast first, under the answer's own heading (its lines read 'as <role>'), then each crew department
    ('### Directing') and the guest stars when Trakt sent them."""
    cast = "\n".join(f"- {credit(row)}" for row in data.get("cast") or [])
    sections = [(dept.capitalize(), rows) for dept, rows in (data.get("crew") or {}).items()]
    if "guest_stars" in data:
        sections.append(("Guest stars", data["guest_stars"] or []))
    parts = [bullet_list(name, rows, credit, empty="None listed.").replace("## ", "### ", 1) for name, rows in sections]
    return "\n".join([cast, *parts] if cast else parts) or "No cast or crew listed."


def comment(item: dict[str, Any], show_spoilers: bool, replies_to: Any = None) -> str:
    """'#1010 by sean (2024-11-11, 1 likes, rated 6/10): text'. A reply names its parent unless all of them are
    replies to one comment, `replies_to`, that the heading already names."""
    user = (item.get("user") or {}).get("username", "someone")
    counts = [f"{item[key]} {key}" for key in ("likes", "replies") if item.get(key)]
    meta = [fact(item.get("created_at") or ""), *counts]
    if (item.get("user_stats") or {}).get("rating"):
        meta.append(f"rated {item['user_stats']['rating']}/10")
    head = f"#{item['id']} by {user} ({', '.join(m for m in meta if m)})"
    if item.get("parent_id") and str(item["parent_id"]) != str(replies_to):
        head += f", reply to #{item['parent_id']}"
    if item.get("review"):
        head += ", review"
    text = str(item.get("comment", ""))
    if item.get("spoiler"):
        if not show_spoilers:
            return f"{head}: _spoiler, hidden (show_spoilers=true shows it)_"
        head += ", **spoiler**"
    elif _SPOILER_TAG.search(text):
        text = _SPOILER_TAG.sub(r"[spoiler: \1]" if show_spoilers else "[spoiler hidden]", text)
        head += ", **spoiler**" if show_spoilers else ""
    return f"{head}: {text}"


def trakt_list(item: dict[str, Any]) -> str:
    """'Crime Dramas `crime-dramas` by nightowl, 62 items, 438 likes'."""
    user = (item.get("user") or {}).get("username")
    head = media_line(item) + (f" by {user}" if user else "")
    return ", ".join([head, f"{item.get('item_count', 0)} items", f"{item.get('likes', 0)} likes"])


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
