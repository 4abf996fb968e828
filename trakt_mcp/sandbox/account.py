"""The signed-in account as the user routes see it: catalogue items found by any of their IDs, the account's state
and clock, and the shape of a sync write's answer (201, counts per section, `not_found` exactly as sent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trakt_mcp.sandbox.data import MOVIES, SEASONS, SHOWS, find, public
from trakt_mcp.sandbox.state import SandboxState
from trakt_mcp.sandbox.wire import FakeRequest, Reply

#: Body section (plural) <-> stored kind (singular).
KIND = {"movies": "movie", "shows": "show", "seasons": "season", "episodes": "episode"}
SECTIONS = tuple(KIND)
#: Seasons and episodes of the catalogue, flat, each with `show` (the show's Trakt ID) added.
SEASON_ROWS = [
    {**{k: v for k, v in season.items() if k != "episodes"}, "show": show_id}
    for show_id, seasons in SEASONS.items()
    for season in seasons
]
EPISODES = [
    {**episode, "show": show_id}
    for show_id, seasons in SEASONS.items()
    for season in seasons
    for episode in season["episodes"]
]
POOLS: dict[str, list[dict[str, Any]]] = {"movie": MOVIES, "show": SHOWS, "season": SEASON_ROWS, "episode": EPISODES}
ID_KEYS = ("trakt", "slug", "imdb", "tmdb", "tvdb")


# -- the catalogue, by any ID -------------------------------------------------------------------------------------


def lookup(kind: str, ids: Any) -> dict[str, Any] | None:
    """The catalogue item of `kind` whose IDs match every ID given (None when unknown or no ID given)."""
    if not isinstance(ids, dict):
        return None
    given = {key: str(ids[key]) for key in ID_KEYS if ids.get(key) is not None}
    if not given:
        return None
    for item in POOLS.get(kind, []):
        known = item["ids"]
        if all(str(known.get(key)) == value for key, value in given.items()):
            return item
    return None


def by_path_id(kind: str | None, value: str | None) -> dict[str, Any] | None:
    """A path `:id` (Trakt ID, slug or IMDB ID)."""
    return find(POOLS[kind], value) if kind and value else None


def show_of(episode: dict[str, Any]) -> dict[str, Any]:
    return next(show for show in SHOWS if show["ids"]["trakt"] == episode["show"])


def episode_json(episode: dict[str, Any]) -> dict[str, Any]:
    return {key: episode[key] for key in ("season", "number", "title", "ids")}


def episodes_of(show: int, season: int | None = None) -> list[dict[str, Any]]:
    return [e for e in EPISODES if e["show"] == show and season in (None, e["season"])]


def subject(kind: str, trakt: int, extended: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """{"movie": {...}} or {"episode": {...}, "show": {...}}: how Trakt names the item a row is about."""
    item = next(entry for entry in POOLS[kind] if entry["ids"]["trakt"] == trakt)
    if kind == "episode":
        return {"episode": episode_json(item), "show": public(show_of(item), extended - {"full"})}
    if kind == "season":
        return {
            "season": {"number": item["number"], "ids": item["ids"]},
            "show": public(show_of(item), extended - {"full"}),
        }
    return {kind: public(item, extended - {"full"})}


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def now(request: FakeRequest) -> str:
    return iso(request.fake.clock())


def state(request: FakeRequest) -> SandboxState:
    """The account the request's token belongs to: alice's, bob's, or the sandbox's own user's."""
    return request.fake.state_for(request.token)


def counts() -> dict[str, int]:
    return dict.fromkeys(SECTIONS, 0)


def not_found() -> dict[str, list[Any]]:
    return {section: [] for section in SECTIONS}


def sync_items(request: FakeRequest) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Every (section, item as sent, catalogue match or None) in a sync body."""
    body = request.body if isinstance(request.body, dict) else {}
    found = []
    for section in SECTIONS:
        for sent in body.get(section) or []:
            found.append((section, sent, lookup(KIND[section], sent.get("ids") if isinstance(sent, dict) else None)))
    return found


def sync_write(
    request: FakeRequest, apply: Callable[[str, dict[str, Any], dict[str, Any]], str | None], *, counted: str
) -> Reply:
    """Run `apply(section, sent, item)` for each recognised item; it names the counter to bump ("added",
    "existing", ...) or None. Unrecognised items go to `not_found` exactly as sent."""
    answer: dict[str, Any] = {counted: counts(), "not_found": not_found()}
    for section, sent, item in sync_items(request):
        if item is None:
            answer["not_found"][section].append(sent)
            continue
        outcome = apply(section, sent, item)
        if outcome:
            answer.setdefault(outcome, counts())[section] += 1
    return Reply(answer, status=201)
