"""The sandbox user's account: what writes change (history, ratings, watchlist, playback, check-in, hidden).

Items are kept as (kind, Trakt ID) with kind one of "movie", "show", "season", "episode"; the routes turn them back
into Trakt's JSON shapes from the catalogue in data.py. Seeded with a little realistic activity. It round-trips
through JSON so that sandbox mode keeps the account in the home between processes, as a real account would.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

Key = tuple[str, int]
WHEN = "2024-05-02T12:00:00.000Z"


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


def sandbox_people() -> dict[str, SandboxState]:
    """The accounts the sandbox's Trakt sign-in page offers (multi-user mode)."""
    return {
        "alice": SandboxState.person("alice", [("movie", 19371), ("show", 1390)], [("movie", 16662)]),
        "bob": SandboxState.person("bob", [("movie", 120)], [("movie", 585005), ("movie", 19371)]),
    }


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
    next_id: int = 5001

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def to_json(self) -> str:
        return json.dumps(
            {
                "username": self.username,
                "history": [asdict(play) for play in self.history],
                "ratings": [[kind, trakt, asdict(r)] for (kind, trakt), r in self.ratings.items()],
                "watchlist": [asdict(entry) for entry in self.watchlist],
                "playback": [asdict(paused) for paused in self.playback],
                "checkin": asdict(self.checkin) if self.checkin else None,
                "hidden_recommendations": sorted([kind, trakt] for kind, trakt in self.hidden_recommendations),
                "next_id": self.next_id,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> SandboxState:
        """Raises ValueError (or KeyError/TypeError) when the text is not a saved state."""
        data: dict[str, Any] = json.loads(text)
        checkin = data.get("checkin")
        return cls(
            username=str(data["username"]),
            history=[Play(**play) for play in data["history"]],
            ratings={(kind, int(trakt)): Rating(**rating) for kind, trakt, rating in data["ratings"]},
            watchlist=[Listed(**entry) for entry in data["watchlist"]],
            playback=[Paused(**paused) for paused in data["playback"]],
            checkin=Checkin(**checkin) if checkin else None,
            hidden_recommendations={(kind, int(trakt)) for kind, trakt in data["hidden_recommendations"]},
            next_id=int(data["next_id"]),
        )

    @classmethod
    def person(cls, username: str, watchlist: list[tuple[str, int]], history: list[tuple[str, int]]) -> SandboxState:
        """Another sandbox account (multi-user mode's alice and bob): its own watchlist and history."""
        return cls(
            username=username,
            history=[
                Play(1001 + n, kind, trakt, "2024-05-01T20:00:00.000Z") for n, (kind, trakt) in enumerate(history)
            ],
            ratings={},
            watchlist=[Listed(2001 + n, kind, trakt, WHEN) for n, (kind, trakt) in enumerate(watchlist)],
            playback=[],
        )

    def plays_of(self, kind: str, trakt: int) -> list[Play]:
        return [play for play in self.history if play.kind == kind and play.trakt == trakt]

    def listed(self, kind: str, trakt: int) -> Listed | None:
        return next((entry for entry in self.watchlist if entry.kind == kind and entry.trakt == trakt), None)
