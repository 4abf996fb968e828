"""The sandbox user's account: what writes change (history, ratings, watchlist, playback, check-in, hidden)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SandboxState:
    """Mutable per-fake user data. Extended by the user-data routes."""

    username: str = "sandbox-user"
