"""Trakt's side of the one gate (guard.gate): the Trakt client sends a request only inside an admission that
covers it, so nothing that serves a caller reaches Trakt without the guard having judged it first.

Every request passes `TraktGate.check` twice over: in `TraktClient.request` (before the catalogue cache, so a kept
answer is no side door either) and in `GatedTransport`, under everything that shares the client's HTTP connection
(the device-code sign-in included). It allows a request when the current admission

- is the owner's own terminal command (`guard.gate.owner`, tool "*"): anything;
- was made while the guard prepares a question to a person (`via` "ask": the effect sentence, the readiness
  check): GET only, since describing a call never changes anything;
- names a tool whose declared `endpoints` (ToolSpec.endpoints, "GET /shows/{id}") match the method and path, or
  carries the one endpoint a generic tool's call was judged by (`Admission.endpoint`); or
- is any admission and the request is the token refresh (POST /oauth/token) that a signed-in call may need; or
- is a person signing in through the server's own pages (`signing_in`): Trakt's OAuth endpoints only.

Anything else is refused with `Ungated` (nothing is sent) and logged as a bug: the feature fetched outside the
gate, or as the wrong tool. Work that needs another tool's data judges it as that tool: `guard.gate.use`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import httpx

from guard.gate import EVERYTHING, Admission, admitted, admitting
from trakt_mcp.trakt.errors import TraktError

log = logging.getLogger("trakt_mcp.gate")

#: Refreshing the server's token: any admitted signed-in call may need it first.
ALWAYS = ("POST /oauth/token",)
#: The admission the guard holds while it describes a call to a person: reads only.
ASKING = "ask"
#: A person signing in through the server's own sign-in pages (multi-user mode, trakt_mcp.remote): no MCP request
#: and no tool, so the admission is this one, which reaches Trakt's OAuth endpoints and who signed in, nothing else.
SIGNING_IN = "(a person signing in)"
SIGN_IN_ENDPOINTS = (
    "POST /oauth/token",
    "POST /oauth/revoke",
    "POST /oauth/device/code",
    "POST /oauth/device/token",
    "GET /users/settings",
)


@contextmanager
def signing_in() -> Iterator[Admission]:
    """The admission of the sign-in pages' own requests to Trakt (see SIGNING_IN)."""
    with admitting(Admission(SIGNING_IN, None, "sign-in page")) as admission:
        yield admission


class Ungated(TraktError):
    """A request to Trakt outside the gate: nothing was sent (a bug in the feature that made it)."""

    def __init__(self, method: str, path: str, admission: Admission | None) -> None:
        where = "outside any request the guard judged" if admission is None else f"as {admission.tool}"
        super().__init__(
            f"Refused by the guard's gate: {method} {path} was requested {where}, which may not reach it; nothing "
            "was sent to Trakt. This is a bug in trakt-mcp: please report it."
        )


def endpoint_pattern(declared: str) -> tuple[str, re.Pattern[str]]:
    """'GET /sync/history/{type?}/{id?}' -> ('GET', a pattern for its paths): `{name}` is one path segment,
    `{name?}` one that may be left out."""
    method, _, template = declared.partition(" ")
    regex = ""
    for part in template.strip("/").split("/"):
        if part.startswith("{") and part.endswith("?}"):
            regex += "(?:/[^/]+)?"
        elif part.startswith("{"):
            regex += "/[^/]+"
        else:
            regex += "/" + re.escape(part)
    return method.upper(), re.compile(f"^{regex}$")


#: The one endpoint a generic tool's call was judged by, compiled once per endpoint (each request is checked twice).
_compiled = functools.lru_cache(maxsize=256)(endpoint_pattern)


class TraktGate:
    """What each tool may reach at Trakt, from its declared endpoints; `check` enforces it for the current
    admission."""

    def __init__(self, endpoints: Mapping[str, Sequence[str]]) -> None:
        self._always = [endpoint_pattern(declared) for declared in ALWAYS]
        reach = {**endpoints, SIGNING_IN: SIGN_IN_ENDPOINTS}
        #: Each tool's patterns, the ones every admission has (ALWAYS) first.
        self._reach = {
            tool: [*self._always, *(endpoint_pattern(declared) for declared in paths)] for tool, paths in reach.items()
        }

    def allows(self, admission: Admission | None, method: str, path: str) -> bool:
        if admission is None:
            return False
        if admission.tool == EVERYTHING:
            return True
        if admission.via == ASKING:
            return method.upper() == "GET"
        method = method.upper()
        patterns = self._reach.get(admission.tool, self._always)
        if any(method == wanted and pattern.match(path) for wanted, pattern in patterns):
            return True
        if admission.endpoint is None:
            return False
        wanted, pattern = _compiled(admission.endpoint)
        return method == wanted and pattern.match(path) is not None

    def check(self, method: str, path: str) -> None:
        """Raise Ungated unless the current admission covers `method path`."""
        admission = admitted()
        if not self.allows(admission, method, path):
            log.error("gate refused %s %s (admission: %s)", method, path, admission)
            raise Ungated(method, path, admission)

    def transport(self, inner: httpx.AsyncBaseTransport, prefix: str = "") -> GatedTransport:
        """`prefix`: the API URL's own path, if any, which API paths are relative to."""
        return GatedTransport(inner, self, prefix)


class GatedTransport(httpx.AsyncBaseTransport):
    """The Trakt client's HTTP transport: every request, whoever makes it on the client's connection, is checked."""

    def __init__(self, inner: httpx.AsyncBaseTransport, gate: TraktGate, prefix: str = "") -> None:
        self.inner = inner
        self.gate = gate
        self.prefix = prefix

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.gate.check(request.method, path.removeprefix(self.prefix) if self.prefix else path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
