"""The server as an MCP citizen, through in-process MCP sessions: log lines at the level the client set, progress
while paging / waiting for Trakt's rate limit / polling a device code, cancellation, prompt arguments, completions,
and resource templates that follow the policy of the tools they mirror."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, types
from mcp.shared.exceptions import MCPError

from tests.conftest import FakeTime, Session, text_of
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.fake import Fault
from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.settings import Settings

# logging/setLevel is deprecated in the 2026-07-28 era, still the handshake era's way to ask for log lines.
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


class Notices:
    """What a client heard besides answers."""

    def __init__(self) -> None:
        self.logs: list[types.LoggingMessageNotificationParams] = []
        self.progress: list[tuple[float, float | None, str | None]] = []

    async def log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append((progress, total, message))


# --- logging --------------------------------------------------------------------------------------------------


async def test_log_lines_reach_the_client_at_the_level_it_set_and_never_carry_the_token(
    session: Session, signed_in: Any
) -> None:
    heard = Notices()
    async with session(logging_callback=heard.log) as client:
        capabilities = client.session.initialize_result.capabilities  # type: ignore[union-attr]
        assert capabilities.logging is not None and capabilities.completions is not None
        await client.call_tool("search_shows", {"query": "breaking"})
        assert heard.logs == [], "before logging/setLevel only warnings and worse are sent"
        assert await client.set_logging_level("debug") is not None
        await client.call_tool("fetch_user_watchlist", {})
    lines = [(line.level, line.logger, str(line.data)) for line in heard.logs]
    assert any(
        line[:2] == ("debug", "trakt_mcp.trakt.client") and line[2].startswith("GET /sync/watchlist") for line in lines
    )
    assert signed_in.access_token not in json.dumps([line.model_dump() for line in heard.logs])


async def test_a_level_above_debug_filters_the_debug_lines(session: Session) -> None:
    heard = Notices()
    async with session(logging_callback=heard.log) as client:
        await client.set_logging_level("info")
        await client.call_tool("search_shows", {"query": "breaking"})
    assert heard.logs == []


def test_redaction_removes_tokens_secrets_and_codes() -> None:
    from trakt_mcp.logs import redact

    text = redact(
        'Authorization: Bearer abc.def-123456 {"refresh_token": "r-secret-1", "client_secret":"s3cr3t"} '
        "code=ABCD1234 " + "f" * 64
    )
    for secret in ("abc.def-123456", "r-secret-1", "s3cr3t", "ABCD1234", "f" * 64):
        assert secret not in text
    assert "Authorization: Bearer [redacted]" in text or "Authorization: [redacted]" in text


# --- progress and cancellation --------------------------------------------------------------------------------


async def test_a_rate_limit_wait_is_reported_as_progress(session: Session, fake: FakeTrakt) -> None:
    heard = Notices()
    fake.inject(Fault(status=429, headers={"Retry-After": "3"}, path_prefix="/search"))
    async with session() as client:
        result = await client.call_tool("search_shows", {"query": "breaking"}, progress_callback=heard.on_progress)
    assert not result.is_error
    assert any("Waiting 3 s for Trakt's rate limit" in (message or "") for _, _, message in heard.progress)


def big_chart(total: int) -> httpx.MockTransport:
    """A Trakt that has `total` trending shows, served 100 a page with Trakt's pagination headers."""
    shows = [{"watchers": 1, "show": {"title": f"Show {n}", "year": 2000, "ids": {"trakt": n}}} for n in range(total)]

    def handle(request: httpx.Request) -> httpx.Response:
        page, limit = int(request.url.params["page"]), int(request.url.params["limit"])
        headers = {
            "X-Pagination-Page": str(page),
            "X-Pagination-Limit": str(limit),
            "X-Pagination-Page-Count": str(math.ceil(total / limit)),
            "X-Pagination-Item-Count": str(total),
        }
        return httpx.Response(200, json=shows[(page - 1) * limit : page * limit], headers=headers)

    return httpx.MockTransport(handle)


async def test_paging_through_trakt_reports_each_page(settings: Settings) -> None:
    app = create_app(settings, transport=big_chart(250))
    heard = Notices()
    try:
        async with Client(build_server(app), mode="legacy") as client:
            await client.call_tool("fetch_trending_shows", {"limit": 250}, progress_callback=heard.on_progress)
    finally:
        await app.aclose()
    assert [(p, t) for p, t, _ in heard.progress] == [(1, 3), (2, 3), (3, 3)]
    assert heard.progress[-1][2] == "Fetched page 3 of 3 from Trakt"


async def test_polling_a_device_code_is_reported(session: Session, fake_time: FakeTime) -> None:
    heard = Notices()
    async with session() as client:
        await client.call_tool("start_device_auth", {})
        fake_time.now += 5
        await client.call_tool("check_auth_status", {}, progress_callback=heard.on_progress)
    assert any("sign-in code" in (message or "") for _, _, message in heard.progress)


async def test_without_a_progress_token_nothing_is_sent(session: Session, fake: FakeTrakt) -> None:
    fake.inject(Fault(status=429, headers={"Retry-After": "3"}, path_prefix="/search"))
    seen: list[Any] = []

    async def on_message(message: Any) -> None:
        seen.append(message)

    async with session(message_handler=on_message) as client:
        await client.call_tool("search_shows", {"query": "breaking"})
    assert not [m for m in seen if getattr(m, "method", "") == "notifications/progress"]


async def test_a_cancelled_call_stops_waiting_and_never_retries(settings: Settings, fake: FakeTrakt) -> None:
    """The client gives up during a 20 s rate-limit wait: the server stops, Trakt is not asked again."""
    app = create_app(settings, fake=fake)  # real sleeps
    fake.inject(Fault(status=429, headers={"Retry-After": "20"}, path_prefix="/search"))
    try:
        async with Client(build_server(app), mode="legacy") as client:
            with anyio.move_on_after(0.5):
                await client.call_tool("search_shows", {"query": "breaking"})
            await anyio.sleep(0.5)
            assert (await client.call_tool("search_movies", {"query": "inception"})).is_error is False
    finally:
        await app.aclose()
    assert len(fake.calls_to("GET", "/search/show")) == 1


# --- prompts and completions ----------------------------------------------------------------------------------


async def test_prompts_take_arguments_and_render_them(session: Session) -> None:
    async with session() as client:
        listed = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        assert [a.name for a in listed["search_entertainment"].arguments or []] == ["query"]
        got = await client.get_prompt("search_entertainment", {"query": "Severance"})
        plain = await client.get_prompt("search_entertainment")
        shows = await client.get_prompt("discover_trending", {"kind": "shows"})
    assert "'Severance'" in got.messages[0].content.text  # type: ignore[union-attr]
    assert "Ask me what I am looking for" in plain.messages[0].content.text  # type: ignore[union-attr]
    assert "fetch_trending_movies" not in shows.messages[0].content.text  # type: ignore[union-attr]


async def complete(client: Client, ref: Any, name: str, value: str, context: dict[str, str] | None = None) -> list[str]:
    return (await client.complete(ref, {"name": name, "value": value}, context)).completion.values


async def test_completions_offer_ids_seasons_periods_and_languages(session: Session, fake: FakeTrakt) -> None:
    show = types.ResourceTemplateReference(uri="trakt://shows/{show_id}")
    season = types.ResourceTemplateReference(uri="trakt://shows/{show_id}/seasons/{season}")
    translations = types.ResourceTemplateReference(
        uri="trakt://shows/{show_id}/seasons/{season}/translations/{language}"
    )
    chart = types.ResourceTemplateReference(uri="trakt://shows/played/{period}")
    async with session() as client:
        assert await complete(client, show, "show_id", "breaking") == ["breaking-bad"]
        assert await complete(client, show, "show_id", "b") == []  # too short to spend a Trakt call on
        assert await complete(client, season, "season", "", {"show_id": "breaking-bad"}) == ["0", "1", "2"]
        assert await complete(client, chart, "period", "w") == ["weekly"]
        assert "es" in await complete(client, translations, "language", "e")
        prompt = types.PromptReference(name="search_entertainment")
        assert "breaking-bad" in await complete(client, prompt, "query", "breaking")
        kinds = await complete(client, types.PromptReference(name="discover_trending"), "kind", "")
        assert kinds == ["shows", "movies", "both"]
        assert await complete(client, types.PromptReference(name="no_such_prompt"), "x", "y") == []
    assert len(fake.calls_to("GET", "/search/show")) == 1, "the second search for 'breaking' was a kept answer"


# --- resource templates under the policy of their tools --------------------------------------------------------


@asynccontextmanager
async def served(settings: Settings, fake: FakeTrakt, policy: dict[str, Any], tmp_path: Path) -> AsyncIterator[Client]:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    app = create_app(settings.model_copy(update={"policy": path}), fake=fake)
    try:
        async with Client(build_server(app), mode="legacy") as client:
            yield client
    finally:
        await app.aclose()


async def test_templates_read_what_their_tools_return(session: Session) -> None:
    async with session() as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        show = await client.read_resource("trakt://shows/breaking-bad")
        season = await client.read_resource("trakt://shows/breaking-bad/seasons/1")
        direct = await client.call_tool("fetch_show_summary", {"show_id": "breaking-bad"})
    assert {"trakt://shows/{show_id}", "trakt://movies/{movie_id}", "trakt://user/progress/{show_id}"} <= templates
    assert show.contents[0].text == text_of(direct)  # type: ignore[union-attr]
    assert "S01E01" in season.contents[0].text  # type: ignore[union-attr]


async def test_a_hidden_tools_template_is_hidden_unreadable_and_not_completed(
    settings: Settings, fake: FakeTrakt, tmp_path: Path
) -> None:
    policy = {"version": "1", "default": "allow", "hide": ["fetch_show_summary"]}
    async with served(settings, fake, policy, tmp_path) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        with pytest.raises(MCPError) as refused:
            await client.read_resource("trakt://shows/breaking-bad")
        ref = types.ResourceTemplateReference(uri="trakt://shows/{show_id}")
        offered = await complete(client, ref, "show_id", "breaking")
    assert "trakt://shows/{show_id}" not in templates and "trakt://movies/{movie_id}" in templates
    assert (refused.value.error.code, refused.value.error.message) == (
        -32602,
        "Unknown resource: trakt://shows/breaking-bad",
    )
    assert offered == [] and fake.calls_to("GET", "/search/show") == []


async def test_a_condition_on_the_tool_applies_to_its_template(
    settings: Settings, fake: FakeTrakt, tmp_path: Path
) -> None:
    rule = {"action": "allow", "deny_if": [{"arg": "show_id", "equals": "breaking-bad"}], "reason": "no spoilers"}
    policy = {"version": "1", "default": "allow", "rules": {"fetch_show_summary": rule}}
    async with served(settings, fake, policy, tmp_path) as client:
        with pytest.raises(MCPError, match="no spoilers"):
            await client.read_resource("trakt://shows/breaking-bad")
        allowed = await client.read_resource("trakt://shows/game-of-thrones")
    assert "Game of Thrones" in allowed.contents[0].text  # type: ignore[union-attr]
    assert fake.calls_to("GET", "/shows/breaking-bad") == []
