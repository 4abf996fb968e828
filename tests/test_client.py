"""The Trakt client through the server: headers, status codes, retries, pacing, pagination, path safety."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from guard.gate import owner
from tests.conftest import FakeTime, Session, text_of
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt, Fault
from trakt_mcp.sandbox.router import route
from trakt_mcp.sandbox.wire import FakeRequest, Reply, paginated
from trakt_mcp.settings import Settings
from trakt_mcp.tools import all_tools
from trakt_mcp.trakt.client import MAX_AUTO_ITEMS, MAX_LIST_ITEMS, TraktClient, endpoint
from trakt_mcp.trakt.errors import (
    InvalidArgument,
    MalformedResponse,
    NetworkError,
    NotConfigured,
    RateLimited,
    ServerError,
    TraktHTTPError,
)

NUMBERS = [{"n": i} for i in range(1, 1251)]


@pytest.fixture(autouse=True)
async def as_owner(anyio_backend: str) -> AsyncIterator[None]:
    """These tests drive the Trakt client itself, as the owner's terminal commands do (guard.gate.owner); what
    reaches Trakt through the server is gated (tests/test_gate.py)."""
    with owner("tests of the Trakt client itself"):
        yield


@route("GET", "/test/numbers")
def _numbers(request: FakeRequest) -> Reply:
    """A long list, only for the pagination tests."""
    return paginated(request, NUMBERS)


async def test_every_request_carries_trakt_headers(session: Session, fake: FakeTrakt) -> None:
    async with session() as client:
        result = await client.call_tool("search_shows", {"query": "office"})
    assert not result.is_error, text_of(result)
    (call,) = fake.calls
    assert call.headers["trakt-api-version"] == "2"
    assert call.headers["trakt-api-key"] == fake.client_id
    assert call.headers["content-type"] == "application/json"
    assert call.headers["user-agent"].startswith("trakt-guardrails/")
    assert "authorization" not in call.headers
    assert call.query == {"query": "office", "page": "1", "limit": "10"}


async def test_wrong_api_key_is_a_clear_403(settings: Settings, fake: FakeTrakt) -> None:
    from trakt_mcp.server.build import create_app

    app = create_app(settings.model_copy(update={"client_id": "someone-else"}), fake=fake)
    with pytest.raises(TraktHTTPError, match="API key") as caught:
        await app.client.get(endpoint("shows", "trending"))
    await app.aclose()
    assert caught.value.status == 403


# status -> a phrase the person must see
STATUS_MESSAGES = {
    400: "bad request",
    401: "start_device_auth",
    403: "TRAKT_CLIENT_ID",
    404: "not found",
    405: "not allowed",
    409: "conflict",
    412: "content type",
    420: "VIP",
    422: "unprocessable",
    423: "locked",
    426: "VIP",
    429: "retry in 120 seconds",
    500: "internal error",
    502: "bad gateway",
    503: "maintenance",
    504: "gateway timeout",
    520: "Cloudflare",
    521: "down",
    522: "down",
}


@pytest.mark.parametrize("status", sorted(STATUS_MESSAGES))
async def test_every_status_code_reaches_the_agent_as_a_clear_error(
    status: int, session: Session, fake: FakeTrakt
) -> None:
    fake.inject(Fault(status=status, headers={"Retry-After": "120"}, times=10))
    async with session() as client:
        result = await client.call_tool("fetch_trending_shows", {})
    assert result.is_error
    text = text_of(result)
    assert f"Trakt answered {status}" in text
    assert STATUS_MESSAGES[status].lower() in text.lower()


async def test_checkin_conflict_says_until_when(app: App, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=409, body=b'{"expires_at": "2026-11-25T21:30:00.000Z"}'))
    with pytest.raises(TraktHTTPError, match="in progress until 2026-11-25"):
        await app.client.get(endpoint("shows", "trending"))


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520, 521, 522])
async def test_server_errors_are_retried_with_growing_backoff(
    status: int, app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    fake.inject(Fault(status=status, times=3))
    response = await app.client.get(endpoint("shows", "trending"))
    assert response.status == 200
    assert len(fake.calls) == 4
    assert len(fake_time.sleeps) == 3
    # exponential: each base wait doubles (0.5, 1, 2) plus up to 0.5 s of jitter
    for attempt, slept in enumerate(fake_time.sleeps):
        assert 0.5 * 2**attempt <= slept <= 0.5 * 2**attempt + 0.5


async def test_server_errors_give_up_after_four_attempts(app: App, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=503, times=99))
    with pytest.raises(ServerError):
        await app.client.get(endpoint("shows", "trending"))
    assert len(fake.calls) == 4


@pytest.mark.parametrize("exception", [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError])
async def test_network_failures_are_retried_for_reads(
    exception: type[httpx.TransportError], app: App, fake: FakeTrakt
) -> None:
    fake.inject(Fault(exception=exception, times=2))
    response = await app.client.get(endpoint("shows", "trending"))
    assert response.status == 200
    assert len(fake.calls) == 3


@pytest.mark.parametrize("fault", [Fault(status=503), Fault(exception=httpx.ReadTimeout)])
async def test_writes_are_never_repeated_after_a_server_error_or_timeout(
    fault: Fault, app: App, fake: FakeTrakt
) -> None:
    fake.inject(fault)
    with pytest.raises((ServerError, NetworkError)):
        await app.client.request("POST", endpoint("sync", "history"), json_body={"movies": []})
    assert len(fake.calls) == 1


async def test_a_write_that_timed_out_says_it_may_have_been_applied(app: App, fake: FakeTrakt) -> None:
    fake.inject(Fault(exception=httpx.ReadTimeout))
    with pytest.raises(NetworkError, match="may or may not have been applied: check before trying again"):
        await app.client.request("POST", endpoint("sync", "history"), json_body={"movies": []})


async def test_idempotent_writes_may_be_retried_when_declared(app: App, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=503, method="DELETE"))
    with pytest.raises(TraktHTTPError):  # the fake has no such route: what matters is the retry
        await app.client.request("DELETE", endpoint("sync", "playback", 7), idempotent=True)
    assert len(fake.calls) == 2


async def test_client_errors_are_never_retried(app: App, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=422, times=5))
    with pytest.raises(TraktHTTPError):
        await app.client.get(endpoint("shows", "trending"))
    assert len(fake.calls) == 1


async def test_retry_after_is_honoured(app: App, fake: FakeTrakt, fake_time: FakeTime) -> None:
    fake.inject(Fault(status=429, headers={"Retry-After": "7"}, times=2))
    response = await app.client.get(endpoint("shows", "trending"))
    assert response.status == 200
    assert fake_time.sleeps == [7.0, 7.0]


async def test_rate_limit_is_retried_even_for_writes(app: App, fake: FakeTrakt, fake_time: FakeTime) -> None:
    """A 429 means Trakt did not process the call, so repeating a write cannot apply it twice."""
    fake.inject(Fault(status=429, headers={"Retry-After": "2"}, method="POST"))
    with pytest.raises(TraktHTTPError):  # no such route in the fake: the second attempt gets a 404
        await app.client.request("POST", endpoint("test", "write"), json_body={})
    assert len(fake.calls) == 2
    assert 2.0 in fake_time.sleeps


async def test_retry_after_beyond_the_cap_fails_at_once_saying_when(
    app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    fake.inject(Fault(status=429, headers={"Retry-After": "300"}))
    with pytest.raises(RateLimited, match="retry in 300 seconds"):
        await app.client.get(endpoint("shows", "trending"))
    assert len(fake.calls) == 1
    assert fake_time.sleeps == []


async def test_malformed_json_is_a_clear_error(session: Session, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=200, body=b"<html>oops"))
    async with session() as client:
        result = await client.call_tool("fetch_trending_shows", {})
    assert result.is_error
    assert "not valid JSON" in text_of(result)


async def test_an_object_where_a_list_belongs_is_malformed(app: App, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=200, body=b'{"not": "a list"}'))
    with pytest.raises(MalformedResponse):
        await app.client.paginate(endpoint("shows", "trending"))


async def test_writes_are_paced_to_one_per_second_without_holding_up_reads(
    app: App, fake: FakeTrakt, fake_time: FakeTime
) -> None:
    writes = [app.client.request("POST", endpoint("test", "write"), json_body={}) for _ in range(3)]
    for write in writes:
        with pytest.raises(TraktHTTPError):  # 404 from the fake; pacing is what is measured
            await write
    assert fake_time.sleeps == [1.0, 1.0]
    await app.client.get(endpoint("shows", "trending"))
    assert fake_time.sleeps == [1.0, 1.0], "a read waited on the write gate"


async def test_writes_after_a_pause_are_not_delayed(app: App, fake_time: FakeTime) -> None:
    with pytest.raises(TraktHTTPError):
        await app.client.request("POST", endpoint("test", "write"), json_body={})
    fake_time.now += 5
    with pytest.raises(TraktHTTPError):
        await app.client.request("POST", endpoint("test", "write"), json_body={})
    assert fake_time.sleeps == []


async def test_page_given_fetches_that_page_with_its_facts(app: App, fake: FakeTrakt) -> None:
    page = await app.client.paginate("/test/numbers", page=3, limit=20)
    assert [item["n"] for item in page.items] == list(range(41, 61))
    assert page.pagination is not None
    assert (page.pagination.page, page.pagination.page_count, page.pagination.item_count) == (3, 63, 1250)
    assert [c.query for c in fake.calls] == [{"page": "3", "limit": "20"}]


async def test_page_omitted_fetches_pages_until_the_limit(app: App, fake: FakeTrakt) -> None:
    page = await app.client.paginate("/test/numbers", limit=250)
    assert [item["n"] for item in page.items] == list(range(1, 251))
    assert sorted(int(c.query["page"]) for c in fake.calls) == [1, 2, 3]
    assert {c.query["limit"] for c in fake.calls} == {"100"}


async def test_limit_zero_fetches_everything_up_to_the_cap(app: App, fake: FakeTrakt) -> None:
    page = await app.client.paginate("/test/numbers", limit=0)
    assert len(page.items) == MAX_AUTO_ITEMS
    assert page.capped
    assert len(fake.calls) == MAX_AUTO_ITEMS // 100


async def test_a_failing_later_page_fails_the_whole_list_clearly(app: App, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=404, query={"page": "2"}, times=1))
    with pytest.raises(TraktHTTPError, match="404"):
        await app.client.paginate("/test/numbers", limit=250)
    assert {"1", "2"} <= {c.query["page"] for c in fake.calls}


INJECTIONS = ["../../oauth/revoke", "a/b", "x?y=1", "%2e%2e", "..", "a#b", " ", "a b", "\\x", "é", "1388/../1"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_endpoint_refuses_segments_that_could_escape(value: str) -> None:
    with pytest.raises(InvalidArgument, match="Nothing was sent"):
        endpoint("shows", value)


def test_endpoint_encodes_ordinary_ids() -> None:
    assert endpoint("shows", "tt0903747", "seasons", 0) == "/shows/tt0903747/seasons/0"


def _id_arguments() -> list[tuple[str, str]]:
    """(tool, argument) for every served tool that takes a path ID."""
    pairs = []
    for spec in all_tools():
        for name in spec.args.model_fields:
            if name in {"show_id", "movie_id", "person_id", "comment_id", "item_id"}:
                pairs.append((spec.name, name))
    return pairs


def _valid_arguments(tool: str) -> dict[str, Any]:
    spec = next(s for s in all_tools() if s.name == tool)
    required = [n for n, f in spec.args.model_fields.items() if f.is_required()]
    sample: dict[str, Any] = {"season": 1, "episode": 1, "rating_type": "movies", "items": [{"trakt_id": "1"}]}
    return {n: sample.get(n, "1388") for n in required}


@pytest.mark.parametrize(("tool", "argument"), _id_arguments() or [("search_shows", "query")])
async def test_path_injection_through_any_tool_is_refused_and_nothing_is_sent(
    tool: str, argument: str, session: Session, fake: FakeTrakt
) -> None:
    if argument == "query":
        pytest.skip("no tool with a path ID is registered yet")
    async with session() as client:
        for value in INJECTIONS:
            result = await client.call_tool(tool, {**_valid_arguments(tool), argument: value})
            assert result.is_error, f"{tool}({argument}={value!r}) was accepted"
            assert argument in text_of(result)
    assert fake.calls == []


async def test_without_a_client_id_tools_list_works_and_calls_say_how_to_configure(tmp_path: Any) -> None:
    from mcp import Client

    from trakt_mcp.server.build import build_server, create_app

    app = create_app(Settings(home=tmp_path))
    async with Client(build_server(app), mode="legacy") as client:
        listed = await client.list_tools()
        result = await client.call_tool("fetch_trending_shows", {})
    await app.aclose()
    assert len(listed.tools) == len(all_tools())
    assert result.is_error
    assert "TRAKT_CLIENT_ID" in text_of(result)
    assert "trakt.tv/oauth/applications" in text_of(result)
    with pytest.raises(NotConfigured):
        await create_app(Settings(home=tmp_path)).client.get("/shows/trending")


async def test_retry_after_as_an_http_date_is_honoured(app: App, fake: FakeTrakt, fake_time: FakeTime) -> None:
    headers = {"Date": "Wed, 25 Nov 2026 21:30:00 GMT", "Retry-After": "Wed, 25 Nov 2026 21:30:12 GMT"}
    fake.inject(Fault(status=429, headers=headers))
    response = await app.client.get(endpoint("shows", "trending"))
    assert response.status == 200 and fake_time.sleeps == [12.0]
    fake.inject(Fault(status=429, headers={**headers, "Retry-After": "Wed, 25 Nov 2026 22:30:00 GMT"}))
    with pytest.raises(RateLimited, match="retry in 3600 seconds"):  # another chart: trending is kept (cache)
        await app.client.get(endpoint("shows", "popular"))


async def test_a_limit_beyond_the_safety_cap_says_it_stopped_there(app: App, fake: FakeTrakt) -> None:
    page = await app.client.paginate("/test/numbers", limit=5000)
    assert len(page.items) == MAX_LIST_ITEMS and page.capped
    assert not (await app.client.paginate("/test/numbers", limit=250)).capped


async def test_a_failing_write_still_holds_the_next_one_back(app: App, fake: FakeTrakt, fake_time: FakeTime) -> None:
    """Concurrent writes, the first refused by Trakt: the gate still advances, one write per second."""
    import anyio

    fake.inject(Fault(status=503, method="POST"))
    outcomes: list[str] = []

    async def write() -> None:
        try:
            await app.client.request("POST", endpoint("test", "write"), json_body={})
        except TraktHTTPError as exc:
            outcomes.append(str(exc.status))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(write)
    assert sorted(outcomes) == ["404", "404", "503"]
    assert fake_time.sleeps == [1.0, 1.0]


async def test_a_garbled_compressed_answer_is_a_clear_error(session: Session, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=200, headers={"Content-Encoding": "gzip"}, body=b"not gzip at all"))
    async with session() as client:
        result = await client.call_tool("fetch_trending_shows", {})
    assert result.is_error
    assert "could not be decoded" in text_of(result)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_redirect_is_an_error_never_a_success(method: str, app: App, fake: FakeTrakt) -> None:
    """TRAKT_API_URL with http:// gets a 301: a write must not be reported as done when nothing was written."""
    fake.inject(Fault(status=301, headers={"Location": "https://api.trakt.tv/sync/history"}, body=b""))
    with pytest.raises(TraktHTTPError, match=r"redirect, which is never followed .*TRAKT_API_URL") as raised:
        await app.client.request(method, endpoint("sync", "history"), json_body={} if method == "POST" else None)
    assert len(fake.calls) == 1
    assert "api.trakt.tv" not in str(raised.value)


# --- the request as sent: the URL the client builds itself, answers read within bounds ------------------------


def capturing_client(settings: Settings, api_url: str, answer: bytes = b"[]") -> tuple[TraktClient, list[httpx.URL]]:
    sent: list[httpx.URL] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        return httpx.Response(200, content=answer, headers={"Content-Type": "application/json"})

    client = TraktClient(settings.model_copy(update={"api_url": api_url}), transport=httpx.MockTransport(handle))
    return client, sent


AWKWARD_QUERIES = [
    {},
    {"query": "the office", "page": 2},
    {"query": "a&b=c+d/e?f#g%h", "years": "1990-2000"},
    {"query": "café 日本 \u2028 \"quoted\" 'single'", "extended": True, "limit": 0},
    {"genres": "action,drama", "ignore_collected": False, "empty": ""},
]


@pytest.mark.parametrize("api_url", ["http://127.0.0.1:8080", "http://127.0.0.1:8080/trakt/v2/", "http://[::1]:9"])
@pytest.mark.parametrize("query", AWKWARD_QUERIES)
async def test_the_url_sent_is_the_one_httpx_would_build(
    settings: Settings, api_url: str, query: dict[str, Any]
) -> None:
    """The client builds each request's URL in one parse; it must be byte for byte what httpx makes of the base
    URL, the path and `params=`."""
    client, sent = capturing_client(settings, api_url)
    path = endpoint("shows", "the-office-us", "seasons", 1)
    async with client:
        await client.request("GET", path, params=query, auth=False)
    expected = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in query.items()}
    wanted = client.http.build_request("GET", path, params=expected).url
    assert [str(url) for url in sent] == [str(wanted)]
    assert sent[0].raw_path == wanted.raw_path


def nested(depth: int) -> bytes:
    """A Trakt-like answer whose deepest value sits `depth` levels down, under object members and list items."""
    value: Any = "leaf"
    for level in range(depth - 1):
        value = {"ids": value, "title": "x"} if level % 2 else [1, value, "x"]
    return json.dumps([{"show": "s"}, value] if depth > 1 else value).encode()


@pytest.mark.parametrize(("depth", "readable"), [(63, True), (64, True), (65, False), (400, False)])
async def test_an_answer_nested_too_deep_is_refused_not_a_crash(settings: Settings, depth: int, readable: bool) -> None:
    client, _ = capturing_client(settings, "http://127.0.0.1:8080", nested(depth))
    async with client:
        if readable:
            assert (await client.request("GET", "/shows/trending", auth=False)).data is not None
        else:
            with pytest.raises(MalformedResponse, match="not valid JSON"):
                await client.request("GET", "/shows/trending", auth=False)
