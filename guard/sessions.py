"""The clients this process serves, each with the caller and grant it last spoke with: whom to tell
`notifications/tools/list_changed` (and the resources') when what they may see changes.

A policy edit changes it for everyone; a person changing or narrowing an app's grant changes it for that person's
clients. The grant is read from each request (its token), so a change made on another process or replica is seen
on the client's next request: it is told then, unless that request is the tools/list that already answers with the
new list.

The SDK hands each request its own `ServerSession`, gone when the request ends; what lasts as long as the client
is connected is the session's connection (its standalone stream carries these notifications). mcp 2.3 gives a
request's context no public way to it, so `connection_of` reads the session's own reference, falling back to the
session itself (which sends on the same stream while it lives)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("guard")

Caller = tuple["str | None", "frozenset[str] | None"]  # identity (None: the local user), grant (None: no grant)


def connection_of(session: Any) -> Any:
    return getattr(session, "_connection", None) or session


class Sessions:
    def __init__(self) -> None:
        self._callers: weakref.WeakKeyDictionary[Any, Caller] = weakref.WeakKeyDictionary()

    def saw(self, session: Any, identity: str | None, grant: frozenset[str] | None) -> bool:
        """Remember who spoke on `session`'s connection; True when the same caller's grant differs from its last
        request's."""
        connection = connection_of(session)
        before = self._callers.get(connection)
        self._callers[connection] = (identity, grant)
        return before is not None and before[0] == identity and before[1] != grant

    def every(self) -> list[Any]:
        return list(self._callers)

    def of(self, identity: str) -> list[Any]:
        return [connection for connection, caller in list(self._callers.items()) if caller[0] == identity]

    @staticmethod
    async def tell(connections: Iterable[Any]) -> None:
        """Tell each client that its tool and resource lists changed (it lists again; nothing else moves)."""
        for connection in connections:
            for send in (connection.send_tool_list_changed, connection.send_resource_list_changed):
                try:
                    await send()
                except Exception as exc:  # a closed or modern-era connection has nobody to tell
                    log.debug("list_changed not delivered: %s", exc)
