"""How many MCP sessions each caller may hold open over HTTP, so that no identity can crowd out the owner.

An `initialize` costs a caller nothing under the policy (no tool runs), so without caps one identity allowed five
reads a day could open thousands of idle sessions and leave the owner with `503 Too many open sessions` until
they expired. `cap_sessions` puts three limits in front of the SDK's session manager, decided under its
session-creation lock:

- each identity holds at most `per_identity` sessions;
- identities together hold at most `total - owner_share`: the rest is kept for the owner (the loopback token, or
  every caller with `--no-auth`), who may use all `total`;
- a session with no request in flight for `idle_timeout` seconds is closed (the SDK's default is 30 minutes).

A refused `initialize` gets the SDK's `503 Too many open sessions`; the server's log says whose cap was reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("trakt_mcp.http.sessions")


@dataclass(frozen=True)
class SessionLimits:
    #: Open MCP sessions in all.
    total: int = 256
    #: Open sessions one identity may hold.
    per_identity: int = 16
    #: Sessions only the owner may open: identities together hold at most `total - owner_share`.
    owner_share: int = 64
    #: Seconds a session may go without a request before it is closed.
    idle_timeout: float = 600.0


#: Which identity opened a session, from the SDK's record of its requestor (None: the owner).
IdentityOf = Callable[[Any], "str | None"]


def cap_sessions(manager: Any, limits: SessionLimits, identity_of: IdentityOf) -> None:
    """Make the SDK's StreamableHTTPSessionManager refuse sessions beyond `limits` (see the module docstring).
    It has no public hook for this: its `_admit_session` (called under its creation lock, returning None to
    refuse) is wrapped, and its own `max_sessions` is set to `limits.total`."""
    admit = manager._admit_session
    manager.max_sessions = limits.total

    def capped(requestor: Any) -> Any:
        caller = identity_of(requestor)
        if caller is not None:
            owners = [identity_of(other) for other in manager._session_owners.values()]
            mine = owners.count(caller)
            identities = sum(1 for owner in owners if owner is not None)
            if mine >= limits.per_identity:
                log.warning("refusing a new session: identity %s holds %d (the cap per identity)", caller, mine)
                return None
            if identities >= limits.total - limits.owner_share:
                log.warning(
                    "refusing a new session for %s: identities hold %d, the rest is the owner's", caller, identities
                )
                return None
        return admit(requestor)

    manager._admit_session = capped
