"""The sandbox user's personal lists: read, create, update, delete, add and remove items, as Trakt answers them.
They live in the sandbox account (SandboxState.lists), so they persist between processes like the rest of it."""

from __future__ import annotations

import re
from typing import Any

from trakt_mcp.sandbox.account import KIND as SECTIONS
from trakt_mcp.sandbox.account import POOLS, lookup, now, state
from trakt_mcp.sandbox.data import SHOWS, minimal
from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.state import ListEntry, PersonalList
from trakt_mcp.sandbox.wire import FakeRequest, Reply, error

LIST = "/users/{user}/lists"
SORTS = ("rank", "added", "title", "released", "runtime", "popularity", "percentage", "votes")
PRIVACY = ("private", "link", "friends", "public")


def _mine(request: FakeRequest) -> bool:
    return request.params["user"] in ("me", state(request).username)


def _find(request: FakeRequest) -> PersonalList | None:
    wanted = request.params["list_id"]
    return next((pl for pl in state(request).lists if wanted in (str(pl.trakt), pl.slug)), None)


def list_json(request: FakeRequest, personal: PersonalList) -> dict[str, Any]:
    return {
        "name": personal.name,
        "description": personal.description,
        "privacy": personal.privacy,
        "type": "personal",
        "display_numbers": False,
        "allow_comments": True,
        "sort_by": personal.sort_by,
        "sort_how": personal.sort_how,
        "created_at": personal.created_at,
        "updated_at": personal.updated_at,
        "item_count": len(personal.items),
        "comment_count": 0,
        "likes": 0,
        "ids": {"trakt": personal.trakt, "slug": personal.slug},
        "user": {"username": state(request).username, "ids": {"slug": state(request).username}},
    }


def _entry_json(entry: ListEntry, rank: int) -> dict[str, Any]:
    item = next(i for i in POOLS[entry.kind] if i["ids"]["trakt"] == entry.trakt)
    row: dict[str, Any] = {"rank": rank, "id": entry.id, "listed_at": entry.listed_at, "type": entry.kind}
    if entry.kind in ("episode", "season"):
        show = next(s for s in SHOWS if s["ids"]["trakt"] == item["show"])
        row["show"] = minimal(show)
        row[entry.kind] = {key: item[key] for key in ("season", "number", "title", "ids") if key in item}
    else:
        row[entry.kind] = minimal(item)
    return row


@route("GET", LIST, auth=True)
def lists(request: FakeRequest) -> Reply:
    if not _mine(request):
        return error(404, "user not found")
    return Reply([list_json(request, personal) for personal in state(request).lists])


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "list"


@route("POST", LIST, auth=True)
def create(request: FakeRequest) -> Reply:
    body = request.body if isinstance(request.body, dict) else {}
    name = str(body.get("name") or "").strip()
    if not _mine(request) or not name:
        return error(422, "name is required")
    if body.get("privacy", "private") not in PRIVACY or body.get("sort_by", "rank") not in SORTS:
        return error(422, "invalid privacy or sort_by")
    moment = now(request)
    personal = PersonalList(
        state(request).new_id(), name, _slug(name), moment, moment, body.get("description"),
        body.get("privacy", "private"), body.get("sort_by", "rank"), body.get("sort_how", "asc"),
    )  # fmt: skip
    state(request).lists.append(personal)
    return Reply(list_json(request, personal), status=201)


@route("GET", LIST + "/{list_id}", auth=True)
def one(request: FakeRequest) -> Reply:
    personal = _find(request) if _mine(request) else None
    return Reply(list_json(request, personal)) if personal else error(404, "list not found")


@route("PUT", LIST + "/{list_id}", auth=True)
def update(request: FakeRequest) -> Reply:
    personal = _find(request) if _mine(request) else None
    if personal is None:
        return error(404, "list not found")
    body = request.body if isinstance(request.body, dict) else {}
    for key in ("name", "description", "privacy", "sort_by", "sort_how"):
        if body.get(key) is not None:
            setattr(personal, key, body[key])
    if body.get("name"):
        personal.slug = _slug(personal.name)
    personal.updated_at = now(request)
    return Reply(list_json(request, personal))


@route("DELETE", LIST + "/{list_id}", auth=True)
def delete(request: FakeRequest) -> Reply:
    personal = _find(request) if _mine(request) else None
    if personal is None:
        return error(404, "list not found")
    state(request).lists.remove(personal)
    return Reply(status=204)


@route("GET", LIST + "/{list_id}/items", auth=True)
@route("GET", LIST + "/{list_id}/items/{type}", auth=True)
def items(request: FakeRequest) -> Reply:
    personal = _find(request) if _mine(request) else None
    if personal is None:
        return error(404, "list not found")
    wanted = SECTIONS.get(request.params.get("type", "")) if "type" in request.params else None
    if "type" in request.params and request.params["type"] not in (*SECTIONS, "all", "people"):
        return error(404, "unknown type")
    chosen = [entry for entry in personal.items if wanted is None or entry.kind == wanted]
    return Reply([_entry_json(entry, rank) for rank, entry in enumerate(chosen, start=1)])


def _change(request: FakeRequest, remove: bool) -> Reply:
    personal = _find(request) if _mine(request) else None
    if personal is None:
        return error(404, "list not found")
    body = request.body if isinstance(request.body, dict) else {}
    counts = dict.fromkeys(SECTIONS, 0)
    existing = dict.fromkeys(SECTIONS, 0)
    missing: dict[str, list[Any]] = {section: [] for section in (*SECTIONS, "people")}
    for section, kind in SECTIONS.items():
        for sent in body.get(section) or []:
            item = lookup(kind, sent.get("ids") if isinstance(sent, dict) else None)
            if item is None:
                missing[section].append(sent)
                continue
            trakt = item["ids"]["trakt"]
            on = next((e for e in personal.items if e.kind == kind and e.trakt == trakt), None)
            if remove and on is not None:
                personal.items.remove(on)
                counts[section] += 1
            elif not remove and on is None:
                personal.items.append(ListEntry(state(request).new_id(), kind, trakt, now(request)))
                counts[section] += 1
            elif not remove:
                existing[section] += 1
    personal.updated_at = now(request)
    answer: dict[str, Any] = {"deleted" if remove else "added": counts, "not_found": missing}
    if not remove:
        answer["existing"] = existing
    answer["list"] = {"updated_at": personal.updated_at, "item_count": len(personal.items)}
    return Reply(answer, status=200 if remove else 201)


@route("POST", LIST + "/{list_id}/items", auth=True)
def add_items(request: FakeRequest) -> Reply:
    return _change(request, remove=False)


@route("POST", LIST + "/{list_id}/items/remove", auth=True)
def remove_items(request: FakeRequest) -> Reply:
    return _change(request, remove=True)
