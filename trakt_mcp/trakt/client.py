"""The Trakt API client: one pooled httpx client, Trakt's headers, typed errors, retries, write pacing, pagination."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import quote

import anyio
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from guard import jsonlimits
from trakt_mcp import __version__
from trakt_mcp.settings import Settings
from trakt_mcp.trakt.answers import Page, Pagination, TraktResponse, as_list, locked_until, retry_after
from trakt_mcp.trakt.cache import CatalogueCache
from trakt_mcp.trakt.errors import (
    RETRYABLE_STATUSES,
    InvalidArgument,
    MalformedResponse,
    NetworkError,
    NotConfigured,
    NotSignedIn,
    RateLimited,
    Redirected,
    TraktError,
    TraktHTTPError,
    Unauthorized,
    error_for_status,
    transport_failure,
)
from trakt_mcp.trakt.gate import TraktGate

USER_AGENT = f"trakt-guardrails/{__version__}"
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
MAX_PAGE_SIZE = 100
#: `limit=0` means "everything", capped at 100 items as the reference server caps it, so the same arguments name
#: the same items on both.
MAX_AUTO_ITEMS = 100
#: The most items any walk gathers, whatever `limit` says, so one call cannot walk a 50,000-item list.
MAX_LIST_ITEMS = 1000
MAX_RETRY_AFTER = 30.0
MAX_ATTEMPTS = 4
PAGE_FETCH_CONCURRENCY = 4
POOL_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)

#: Trakt's answers are read within bounds too (guard.jsonlimits): a hostile or broken API cannot exhaust memory.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
#: Tells the MCP client how a wait is going (`guard.progress.report`, wired in by trakt_mcp.server.guarded).
Report = Callable[..., Awaitable[None]]

log = logging.getLogger("trakt_mcp.trakt.client")


async def unreported(message: str, *, progress: float | None = None, total: float | None = None) -> None:
    return None


_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def endpoint(*segments: str | int) -> str:
    """Build an API path from segments, each validated and percent-encoded so none can escape its place.

    `endpoint("shows", show_id, "seasons", 1)` -> "/shows/breaking-bad/seasons/1". A segment holding a slash,
    dot-dot, percent sign, query or fragment character is refused, never sent.
    """
    parts: list[str] = []
    for segment in segments:
        text = str(segment)
        if isinstance(segment, bool) or not _SEGMENT.fullmatch(text) or ".." in text:
            raise InvalidArgument("path segment", "a Trakt ID, slug or IMDB ID (letters, digits, '-', '_', '.')", text)
        parts.append(quote(text, safe=""))
    return "/" + "/".join(parts)


def _gated(
    transport: httpx.AsyncBaseTransport | None, gate: TraktGate | None, api_url: str
) -> httpx.AsyncBaseTransport | None:
    """The client's transport behind the gate (httpx's own, with the client's pool limits, when none is given)."""
    if gate is None:
        return transport
    inner = transport or httpx.AsyncHTTPTransport(limits=POOL_LIMITS)
    return gate.transport(inner, prefix=httpx.URL(api_url).path.rstrip("/"))


@dataclass(frozen=True)
class _Call:
    """One API call as it will be sent on every attempt, and how it may be repeated."""

    method: str
    path: str
    query: dict[str, str]
    content: bytes | None
    #: Safe to send again after a server error or timeout (GET, or a write Trakt documents as idempotent).
    may_repeat: bool
    #: Held to one per second (Trakt's limit on writes).
    paced: bool
    #: The ETag of the answer kept in the catalogue cache, sent as If-None-Match.
    etag: str | None = None


class TokenSource(Protocol):
    """Where the client gets the user's access token (the sign-in module implements it)."""

    async def access_token(self) -> str:
        """A valid access token, refreshed ahead of expiry; raises NotSignedIn when there is none."""
        ...

    async def refresh_after_unauthorized(self, rejected: str) -> str:
        """Trakt refused `rejected` with 401: refresh once (shared by concurrent callers) and return the new token."""
        ...


class NoTokens:
    """The token source before sign-in exists: every authenticated call says how to sign in."""

    async def access_token(self) -> str:
        raise NotSignedIn()

    async def refresh_after_unauthorized(self, rejected: str) -> str:
        raise NotSignedIn()


class TraktClient:
    """Talks to Trakt. One instance per server; close it with `aclose()` (or use `async with`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        tokens: TokenSource | None = None,
        sleep: Sleep = anyio.sleep,
        clock: Clock = time.monotonic,
        max_retry_after: float = MAX_RETRY_AFTER,
        gate: TraktGate | None = None,
    ) -> None:
        self.settings = settings
        #: The one gate (trakt_mcp.trakt.gate): with it, nothing is sent or served from the cache unless admitted.
        self.gate = gate
        self.tokens: TokenSource = tokens or NoTokens()
        self._sleep = sleep
        self._clock = clock
        self._max_retry_after = max_retry_after
        self._write_gate = anyio.Lock()
        self._last_write: float | None = None
        #: Called while paging and before waiting to retry, so the client sees progress (see `Report`).
        self.progress: Report = unreported
        #: Public catalogue answers, kept as Trakt's Cache-Control and ETag allow (never a signed-in answer).
        self.cache = CatalogueCache()
        headers = {
            "trakt-api-version": "2",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if settings.client_id:
            headers["trakt-api-key"] = settings.client_id
        self.http = httpx.AsyncClient(
            base_url=settings.api_url,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout, connect=10.0),
            limits=POOL_LIMITS,
            transport=_gated(transport, gate, settings.api_url),
            follow_redirects=False,
        )

    async def __aenter__(self) -> TraktClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- requests ---------------------------------------------------------------------------------------------

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None, auth: bool = False) -> TraktResponse:
        return await self.request("GET", path, params=params, auth=auth)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        auth: bool = False,
        idempotent: bool | None = None,
        pace: bool | None = None,
    ) -> TraktResponse:
        """Send one API call with retries; `auth` adds the user's token and refreshes it once after a 401.

        `idempotent` defaults to True for GET only: other methods are retried after a server error or timeout
        only when the caller says Trakt documents them as idempotent. A 429 is always retried (Trakt did not
        process the call), within MAX_RETRY_AFTER. `pace` (default: writes) keeps writes to one per second.
        """
        if not self.settings.configured:
            raise NotConfigured()
        method = method.upper()
        if not path.startswith("/") or "?" in path or "#" in path:
            raise InvalidArgument("path", "an API path built with endpoint()", path)
        if self.gate is not None:
            self.gate.check(method, path)
        call = _Call(
            method=method,
            path=path,
            query={k: _query_value(v) for k, v in (params or {}).items() if v is not None},
            content=json.dumps(json_body).encode() if json_body is not None else None,
            may_repeat=(method == "GET") if idempotent is None else idempotent,
            paced=method in WRITE_METHODS if pace is None else pace,
        )
        if method == "GET" and not auth:
            return await self._cached(call)
        token = await self.tokens.access_token() if auth else None
        try:
            return await self._with_retries(call, token)
        except Unauthorized:
            if token is None:
                raise
            token = await self.tokens.refresh_after_unauthorized(token)
            return await self._with_retries(call, token)

    async def _cached(self, call: _Call) -> TraktResponse:
        """A public catalogue GET: the kept answer while fresh, else Trakt's (revalidated when an ETag is kept)."""
        key = self.cache.key(call.path, call.query)
        kept = self.cache.lookup(key)
        if kept is not None and self._clock() < kept.fresh_until:
            log.debug("GET %s -> kept answer (fresh for %.0f s)", call.path, kept.fresh_until - self._clock())
            return kept.answer  # type: ignore[no-any-return]
        response = await self._with_retries(replace(call, etag=kept.etag if kept else None), None)
        if response.status == 304 and kept is not None:
            self.cache.renew(key, response.cache_control, self._clock())
            return kept.answer  # type: ignore[no-any-return]
        self.cache.keep(key, response, response.cache_control, response.etag, self._clock())
        return response

    def _may_retry(self, call: _Call, exc: BaseException) -> bool:
        if isinstance(exc, RateLimited):
            return exc.retry_after <= self._max_retry_after
        if isinstance(exc, NetworkError):
            return call.may_repeat
        return call.may_repeat and isinstance(exc, TraktHTTPError) and exc.status in RETRYABLE_STATUSES

    async def _with_retries(self, call: _Call, token: str | None) -> TraktResponse:
        """The first attempt is sent straight away; only a failure worth retrying builds tenacity's loop, which
        takes that failure as its own first attempt (the same waits, progress and attempt count as if tenacity had
        made it). Most calls succeed at once, and the loop's set-up was a measurable part of each one."""
        try:
            return await self._send(call, token)
        except Exception as exc:
            if not self._may_retry(call, exc):
                raise
            first_failure: Exception | None = exc
        backoff = wait_exponential_jitter(initial=0.5, max=8.0, jitter=0.5)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimited):
                return exc.retry_after
            return backoff(state)

        async def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            seconds = state.upcoming_sleep
            why = "Trakt's rate limit" if isinstance(exc, RateLimited) else f"a failed attempt ({type(exc).__name__})"
            log.info("waiting %.1f s for %s before retrying %s %s", seconds, why, call.method, call.path)
            await self.progress(f"Waiting {seconds:.0f} s for {why} before retrying", total=None)

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: self._may_retry(call, exc)),
            wait=wait,
            stop=stop_after_attempt(MAX_ATTEMPTS),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                return await self._send(call, token)
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    async def _send(self, call: _Call, token: str | None) -> TraktResponse:
        if not call.paced:
            return self._parse(await self._transmit(call, token))
        async with self._write_gate:
            if self._last_write is not None:
                delay = self._last_write + 1.0 - self._clock()
                if delay > 0:
                    await self._sleep(delay)
            try:
                response = await self._transmit(call, token)
            finally:
                self._last_write = self._clock()
        return self._parse(response)

    async def _transmit(self, call: _Call, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if call.etag is not None:
            headers["If-None-Match"] = call.etag
        try:
            return await self.http.request(call.method, self._url(call), content=call.content, headers=headers)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise transport_failure(exc, write=call.method in WRITE_METHODS) from None

    def _url(self, call: _Call) -> httpx.URL:
        """The request's absolute URL, parsed once: what httpx makes of the base URL, `call.path` and `params=`
        (the same text; tests/test_client.py compares them), without the two further parses its merging costs."""
        base = self.http.base_url  # httpx keeps it with a trailing slash
        query = f"?{httpx.QueryParams(call.query)}" if call.query else ""
        return httpx.URL(
            f"{base.scheme}://{base.netloc.decode('ascii')}{base.raw_path.decode('ascii')}{call.path[1:]}{query}"
        )

    def _parse(self, response: httpx.Response) -> TraktResponse:
        status = response.status_code
        log.debug("%s %s -> %s", response.request.method, response.request.url.path, status)
        caching = {"cache_control": response.headers.get("Cache-Control"), "etag": response.headers.get("ETag")}
        if status == 304:
            return TraktResponse(status=304, data=None, pagination=None, **caching)
        if 300 <= status < 400:
            raise Redirected(status)
        if status >= 400:
            raise error_for_status(
                status,
                retry_after=retry_after(response.headers) if status == 429 else None,
                expires_at=locked_until(response) if status == 409 else None,
            )
        if status == 204 or not response.content:
            data: Any = None
        else:
            try:
                data = jsonlimits.loads(response.content, max_bytes=MAX_ANSWER_BYTES)
            except ValueError:
                raise MalformedResponse(
                    f"Trakt answered {status} with a body that is not valid JSON; try again later."
                ) from None
        return TraktResponse(status, data, Pagination.from_headers(response.headers), **caching)

    # -- lists ------------------------------------------------------------------------------------------------

    async def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        page: int | None = None,
        limit: int = 10,
        auth: bool = False,
        cap: int = MAX_AUTO_ITEMS,
        ceiling: int = MAX_LIST_ITEMS,
    ) -> Page:
        """`page` given: that page (`limit` items per page). `page` omitted: pages until `limit` items, at most
        `ceiling`; `limit=0`: everything, up to `cap` items. Later pages are fetched concurrently."""
        base = dict(params or {})
        if page is not None:
            if page < 1:
                raise InvalidArgument("page", "an integer of at least 1", page)
            size = min(limit, MAX_PAGE_SIZE) if limit > 0 else MAX_PAGE_SIZE
            response = await self.get(path, params={**base, "page": page, "limit": size}, auth=auth)
            return Page(items=as_list(response.data), pagination=response.pagination)
        if limit < 0:
            raise InvalidArgument("limit", "0 (everything) or a positive integer", limit)
        wanted = min(cap, ceiling) if limit == 0 else min(limit, ceiling)
        size = min(wanted, MAX_PAGE_SIZE)
        first = await self.get(path, params={**base, "page": 1, "limit": size}, auth=auth)
        items = as_list(first.data)
        total_pages = first.pagination.page_count if first.pagination else 1
        last_page = min(total_pages, math.ceil(wanted / size))
        if last_page > 1:
            await self.progress(f"Fetched page 1 of {last_page} from Trakt", progress=1, total=last_page)
            pages: dict[int, list[Any]] = {}
            failures: list[TraktError] = []
            gate = anyio.Semaphore(PAGE_FETCH_CONCURRENCY)

            async def fetch(number: int) -> None:
                async with gate:
                    if failures:
                        return
                    try:
                        response = await self.get(path, params={**base, "page": number, "limit": size}, auth=auth)
                        pages[number] = as_list(response.data)
                        done = len(pages) + 1
                        await self.progress(
                            f"Fetched page {done} of {last_page} from Trakt", progress=done, total=last_page
                        )
                    except TraktError as exc:
                        failures.append(exc)

            async with anyio.create_task_group() as group:
                for number in range(2, last_page + 1):
                    group.start_soon(fetch, number)
            if failures:
                raise failures[0]
            for number in range(2, last_page + 1):
                items.extend(pages[number])
        available = first.pagination.item_count if first.pagination else len(items)
        return Page(
            items=items[:wanted],
            pagination=first.pagination,
            capped=(limit == 0 or limit > ceiling) and available > wanted,
        )


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = [
    "MAX_AUTO_ITEMS",
    "MAX_LIST_ITEMS",
    "Page",
    "Pagination",
    "TokenSource",
    "TraktClient",
    "TraktError",
    "TraktResponse",
    "endpoint",
]
