"""The sandbox user's account: what writes change (history, ratings, watchlist, playback, check-in, hidden).

Items are kept as (kind, Trakt ID) with kind one of "movie", "show", "season", "episode"; the routes turn them back
into Trakt's JSON shapes from the catalogue in data.py. Seeded with a little realistic activity.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

Key = tuple[str, int]


@dataclass
class Play:
    """One row of watch history."""

    id: int
    kind: str
    trakt: int
    watched_at: str
    action: str = "watch"


@dataclass
class Rating:
    rating: int
    rated_at: str


@dataclass
class Listed:
    """One watchlist entry."""

    id: int
    kind: str
    trakt: int
    listed_at: str
    notes: str | None = None


@dataclass
class Paused:
    """A paused playback (a resume point)."""

    id: int
    kind: str
    trakt: int
    progress: float
    paused_at: str


@dataclass
class Checkin:
    id: int
    episode: int
    watched_at: float
    expires_at: float


def _seed_history() -> list[Play]:
    return [
        Play(1001, "movie", 120, "2024-03-02T20:15:00.000Z"),
        Play(1002, "movie", 16662, "2024-03-09T21:00:00.000Z"),
        Play(1003, "episode", 1388101, "2024-04-01T19:00:00.000Z"),
        Play(1004, "episode", 1388102, "2024-04-02T19:00:00.000Z"),
        Play(1005, "episode", 1388103, "2024-04-03T19:30:00.000Z", "checkin"),
    ]


def _seed_ratings() -> dict[Key, Rating]:
    return {
        ("movie", 120): Rating(9, "2024-03-02T23:00:00.000Z"),
        ("show", 1388): Rating(10, "2024-04-03T21:00:00.000Z"),
    }


def _seed_watchlist() -> list[Listed]:
    return [
        Listed(2001, "movie", 585005, "2024-02-10T12:00:00.000Z", "See it on a big screen"),
        Listed(2002, "show", 154997, "2024-02-11T12:00:00.000Z"),
    ]


def _seed_playback() -> list[Paused]:
    return [
        Paused(3001, "movie", 19371, 45.2, "2024-04-05T22:10:00.000Z"),
        Paused(3002, "episode", 1388104, 12.5, "2024-04-04T21:40:00.000Z"),
    ]


@dataclass
class SandboxState:
    """Mutable per-fake user data; the user-data routes read and change it."""

    username: str = "sandbox-user"
    history: list[Play] = field(default_factory=_seed_history)
    ratings: dict[Key, Rating] = field(default_factory=_seed_ratings)
    watchlist: list[Listed] = field(default_factory=_seed_watchlist)
    playback: list[Paused] = field(default_factory=_seed_playback)
    checkin: Checkin | None = None
    hidden_recommendations: set[Key] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5001), repr=False)

    def new_id(self) -> int:
        return next(self._ids)

    def plays_of(self, kind: str, trakt: int) -> list[Play]:
        return [play for play in self.history if play.kind == kind and play.trakt == trakt]

    def listed(self, kind: str, trakt: int) -> Listed | None:
        return next((entry for entry in self.watchlist if entry.kind == kind and entry.trakt == trakt), None)
