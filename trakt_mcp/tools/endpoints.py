"""The endpoint catalogue: every Trakt API endpoint, generated from Trakt's API Blueprint by
scripts/generate_endpoints.py into endpoints.json (package data). find_trakt_endpoints searches it, call_trakt_api
matches each call against it, and the guard judges each generic call by the entry it reaches."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from trakt_mcp.tools.spec import Risk

Method = Literal["GET", "POST", "PUT", "DELETE"]
#: Query parameters every paginated, extended or filtered endpoint takes besides its own.
PAGING = ("page", "limit")
FILTERS = (
    "query", "years", "genres", "languages", "countries", "runtimes", "studios", "ratings", "votes",
    "tmdb_ratings", "tmdb_votes", "imdb_ratings", "imdb_votes", "rt_meters", "metascores", "certifications",
    "networks", "status",
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")
_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query"]
    type: str = "string"
    required: bool = False
    example: str | None = None
    about: str = ""


@dataclass(frozen=True)
class Endpoint:
    method: Method
    path: str
    title: str
    group: str
    about: str = ""
    auth: Literal["required", "optional", "none"] = "none"
    pages: Literal["paginated", "optional", "none"] = "none"
    extended: bool = False
    filters: bool = False
    params: tuple[Param, ...] = ()
    body: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        """'POST /sync/history/remove': how policies, the audit and answers name it (prefixed `api:` in rules)."""
        return f"{self.method} {self.path}"

    @property
    def risk(self) -> Risk:
        """GET reads; sign-in endpoints are auth; DELETE and removals are destructive; other writes write."""
        if self.path.startswith("/oauth/"):
            return "auth"
        if self.method == "GET":
            return "read"
        if self.method == "DELETE" or self.path.endswith("/remove"):
            return "destructive"
        return "write"

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "path")

    def query_names(self) -> tuple[str, ...]:
        own = tuple(p.name for p in self.params if p.where == "query")
        extra = (PAGING if self.pages != "none" else ()) + (("extended",) if self.extended else ())
        return own + extra + (FILTERS if self.filters else ())

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when `method path` is a call of this endpoint (trailing optional ones may be
        left out), else None."""
        if method != self.method:
            return None
        wanted = [part for part in path.split("/") if part]
        template = [part for part in self.path.split("/") if part]
        optional = {p.name for p in self.path_params if not p.required}
        while len(template) > len(wanted) and template[-1].strip("{}") in optional and template[-1].startswith("{"):
            template.pop()
        if len(template) != len(wanted):
            return None
        found: dict[str, str] = {}
        for pattern, value in zip(template, wanted, strict=True):
            if pattern.startswith("{"):
                found[pattern.strip("{}")] = value
            elif pattern != value:
                return None
        return found

    def literal_parts(self) -> int:
        return sum(1 for part in self.path.split("/") if part and not part.startswith("{"))

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of what a policy condition on this endpoint sees: its path parameters by name, `query`
        and `body` (their known keys typed as the blueprint's examples are)."""
        query = {name: {"type": "string"} for name in self.query_names()}
        query |= {p.name: {"type": p.type} for p in self.params if p.where == "query"}
        properties: dict[str, Any] = {p.name: {"type": "string"} for p in self.path_params}
        properties["query"] = {"type": "object", "properties": query}
        properties["body"] = {"type": "object", "properties": {key: {"type": kind} for key, kind in self.body.items()}}
        return {"type": "object", "properties": properties}

    def summary(self) -> str:
        """One line for find_trakt_endpoints: `POST /sync/history/remove` Remove items from history; sign-in; ..."""
        facts = []
        if self.auth != "none":
            facts.append("sign-in " + ("required" if self.auth == "required" else "optional"))
        if self.pages != "none":
            facts.append("paginated" if self.pages == "paginated" else "pagination optional")
        for where in ("path", "query"):
            named = [p.name + ("" if p.required or where == "query" else "?") for p in self.params if p.where == where]
            if named:
                facts.append(f"{where}: {', '.join(named)}")
        if self.body:
            facts.append(f"body: {', '.join(self.body)}")
        if self.extended:
            facts.append("extended")
        about = f" {self.about}" if self.about and self.about != self.title else ""
        return f"- `{self.key}` {self.title}.{about} ({'; '.join(facts) or 'no parameters'})"


def _endpoint(raw: dict[str, Any]) -> Endpoint:
    params = tuple(
        Param(
            p["name"], p["in"], p.get("type", "string"), p.get("required", False), p.get("example"), p.get("about", "")
        )
        for p in raw.get("params", [])
    )
    return Endpoint(
        raw["method"], raw["path"], raw["title"], raw["group"], raw.get("about", ""), raw.get("auth", "none"),
        raw.get("pages", "none"), raw.get("extended", False), raw.get("filters", False), params, raw.get("body", {}),
    )  # fmt: skip


@cache
def catalogue() -> tuple[Endpoint, ...]:
    text = resources.files("trakt_mcp.tools").joinpath("endpoints.json").read_text(encoding="utf-8")
    return tuple(_endpoint(raw) for raw in json.loads(text))


@cache
def by_key() -> dict[str, Endpoint]:
    return {endpoint.key: endpoint for endpoint in catalogue()}


class UnknownEndpoint(ValueError):
    """No catalogue entry matches; the message names the nearest entries."""


def find(method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
    """The entry `method path` calls and its path parameters; the most literal match wins ('/shows/trending'
    is the trending list, not a show named 'trending'). Raises UnknownEndpoint naming the nearest entries."""
    matches = [(entry, found) for entry in catalogue() if (found := entry.match(method, path)) is not None]
    if matches:
        return max(matches, key=lambda match: match[0].literal_parts())
    near = nearest(method, path)
    raise UnknownEndpoint(
        f"{method} {path} is not in the Trakt endpoint catalogue; nothing was sent. Nearest entries: "
        + ", ".join(f"`{key}`" for key in near)
        + ". find_trakt_endpoints searches it."
    )


def nearest(method: str, path: str, count: int = 3) -> list[str]:
    shape = re.sub(r"/\d+(?=/|$)", "/{id}", path)
    keys = [entry.key for entry in catalogue()]
    close = difflib.get_close_matches(f"{method} {shape}", keys, n=count, cutoff=0.0)
    return close


def _words(text: str) -> set[str]:
    words = set(_WORD.findall(text.lower()))
    return words | {word[:-1] for word in words if word.endswith("s") and len(word) > 3}


def search(query: str, count: int) -> list[Endpoint]:
    """Entries ranked by the query's words found in the path (weighted most), the title, the group and the first
    sentence; ties keep the blueprint's order."""
    wanted = _words(query)
    scored = []
    for position, entry in enumerate(catalogue()):
        literal = " ".join(part for part in entry.path.split("/") if not part.startswith("{"))
        score = (
            3 * len(wanted & _words(literal))
            + 2 * len(wanted & _words(entry.title))
            + len(wanted & _words(entry.group))
            + len(wanted & _words(entry.about))
            + (1 if entry.method.lower() in wanted else 0)
        )
        if score:
            scored.append((-score, position, entry))
    return [entry for _, _, entry in sorted(scored, key=lambda row: row[:2])[:count]]


def check_value(name: str, value: str) -> str:
    """A path parameter as one safe path segment (letters, digits, '.', '_', ':', '-'; no '..')."""
    if not _VALUE.fullmatch(value) or ".." in value:
        raise ValueError(
            f"path parameter {name}: expected one path segment of letters, digits, '.', '_', '-' (got {value!r})"
        )
    return value
