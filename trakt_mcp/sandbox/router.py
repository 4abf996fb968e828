"""The fake's route table: each route module registers its handlers here with `@route`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trakt_mcp.sandbox.wire import FakeRequest, Reply

Handler = Callable[["FakeRequest"], "Reply"]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    auth: bool


ROUTES: list[Route] = []


def compile_template(template: str) -> re.Pattern[str]:
    """'/shows/{id}/seasons/{season}' -> a regex with one named group per placeholder (one path segment each)."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}$")


def route(method: str, template: str, *, auth: bool = False) -> Callable[[Handler], Handler]:
    """Register a fake endpoint. `auth=True`: a valid bearer token is required (401 otherwise)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), compile_template(template), template, handler, auth))
        return handler

    return register
