"""Reading Trakt's answers: the shapes the client returns (a response, a page of a list and its pagination
headers), Retry-After in either of its forms, and until when a locked account stays locked."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from trakt_mcp.trakt.errors import MalformedResponse


@dataclass(frozen=True)
class Pagination:
    page: int
    limit: int
    page_count: int
    item_count: int

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> Pagination | None:
        try:
            return cls(
                page=int(headers["X-Pagination-Page"]),
                limit=int(headers["X-Pagination-Limit"]),
                page_count=int(headers["X-Pagination-Page-Count"]),
                item_count=int(headers["X-Pagination-Item-Count"]),
            )
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True)
class TraktResponse:
    status: int
    data: Any
    pagination: Pagination | None
    #: Trakt's caching headers, for the catalogue cache.
    cache_control: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Page:
    """A list answer: the items, and what is known about the pages behind them."""

    items: list[Any]
    pagination: Pagination | None
    #: True when the safety cap, not the limit asked for, stopped the walk (`limit=0` or a limit above the cap).
    capped: bool = False


def retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds, given either as a number or as an HTTP date (RFC 9110)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until(value, headers.get("Date"))
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until(moment: str, sent: str | None) -> float | None:
    """How far `moment` is after the answer's own Date header (so clock skew does not matter), else after now."""
    try:
        until = _http_date(moment)
        now = _http_date(sent) if sent else datetime.now(UTC)
    except (TypeError, ValueError):
        return None
    return max((until - now).total_seconds(), 0.0)


def _http_date(text: str) -> datetime:
    moment = parsedate_to_datetime(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def locked_until(response: httpx.Response) -> datetime | None:
    try:
        body = response.json()
        return datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return None


def as_list(data: Any) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise MalformedResponse("Trakt answered with an object where a list was expected; try again later.")
    return data
