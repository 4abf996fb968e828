"""Argument types shared by many tools, validated before anything is sent to Trakt.

Validators live in `AfterValidator`s rather than schema keywords so the published schemas stay as small as the
reference's while bad values are still refused with a message naming the argument.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def _trakt_id(value: str) -> str:
    """Trimmed and lower-cased (slugs and IMDB IDs are lower case at Trakt), a number without leading zeros: the
    one spelling the guard's conditions and the handler both see."""
    value = value.strip().lower()
    if not _ID.fullmatch(value) or ".." in value:
        raise ValueError(
            "expected a Trakt ID, slug or IMDB ID (letters, digits 0-9, '-', '_', '.'), "
            "such as '1388', 'breaking-bad' or 'tt0903747'"
        )
    return str(int(value)) if value.isdigit() else value


def _page(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ValueError("expected a page number of at least 1, or null for automatic pagination")
    return value


def _limit(value: int) -> int:
    if value < 0:
        raise ValueError("expected 0 (everything, capped) or a positive number of items")
    return value


def _at_least(minimum: int, what: str) -> AfterValidator:
    def check(value: int) -> int:
        if value < minimum:
            raise ValueError(f"expected {what} of at least {minimum}")
        return value

    return AfterValidator(check)


def within(low: int, high: int, what: str) -> AfterValidator:
    """A number from `low` to `high`, checked rather than published (every schema byte costs context)."""

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"expected {what} from {low} to {high}")
        return value

    return AfterValidator(check)


def text_of(most: int, what: str) -> AfterValidator:
    """Text of 1 to `most` characters (not blank), checked rather than published."""

    def check(value: str) -> str:
        if not value.strip() or len(value) > most:
            raise ValueError(f"expected {what} of 1 to {most} characters")
        return value

    return AfterValidator(check)


def _language(value: str) -> str:
    value = value.strip().lower()
    if value != "all" and not re.fullmatch(r"[a-z]{2}", value):
        raise ValueError("expected 'all' or a two-letter language code such as 'es' or 'de'")
    return value


TraktId = Annotated[str, AfterValidator(_trakt_id)]
PageNumber = Annotated[int | None, AfterValidator(_page)]
Limit = Annotated[int, AfterValidator(_limit)]
#: Season 0 holds the specials.
Season = Annotated[int, _at_least(0, "a season number (0 = specials)")]
Episode = Annotated[int, _at_least(1, "an episode number")]
MaxPages = Annotated[int, _at_least(1, "a number of pages")]
Language = Annotated[str, AfterValidator(_language)]
Period = Literal["daily", "weekly", "monthly", "yearly", "all"]
CommentSort = Literal["newest", "oldest", "likes", "replies"]
ListType = Literal["all", "personal", "official", "watchlists"]
ListSort = Literal["popular", "likes", "comments", "items", "added", "updated"]
MediaType = Literal["movies", "shows", "seasons", "episodes"]
