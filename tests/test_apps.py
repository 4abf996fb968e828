"""MCP Apps through the protocol: cards for Apps hosts, and not one byte different for every other client."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters, types
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from tests.apps_support import AppsHost, apps_client, with_policy
from tests.conftest import FakeTime, text_of
from trakt_mcp.apps.cards import CARD_KEY, CARDS
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.images import IMAGE_HOST
from trakt_mcp.settings import SANDBOX_CLIENT_ID, Settings

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 30_000

#: Calls a client without Apps makes; each answer must be exactly what it was before cards existed.
SCENARIO: list[tuple[str, dict[str, Any]]] = [
    ("fetch_show_summary", {"show_id": "breaking-bad"}),
    ("fetch_movie_summary", {"movie_id": "120", "extended": False}),
    ("fetch_trending_movies", {"limit": 3}),
    ("fetch_watched_shows", {"limit": 2, "period": "monthly"}),
    ("search_shows", {"query": "breaking"}),
    ("fetch_boxoffice_movies", {}),
    ("add_user_watchlist", {"watchlist_type": "shows", "items": [{"slug": "breaking-bad"}]}),
    ("fetch_user_watchlist", {}),
    ("fetch_show_progress", {"show_id": "breaking-bad"}),
    ("remove_user_watchlist", {"watchlist_type": "shows", "items": [{"slug": "breaking-bad"}]}),
    ("answer_approval", {"nonce": "x", "allow": True}),
    ("fetch_show_summary", {"show_id": "no-such-show"}),
]


def dump(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return value.model_dump_json(by_alias=True, exclude_none=True)  # type: ignore[no-any-return]


async def transcript(settings: Settings, fake_time: FakeTime, home: Path) -> list[str]:
    """Every answer a client without Apps gets in one session, as JSON (approval codes and homes made comparable)."""
    fake = FakeTrakt(clock=fake_time.clock)
    async with apps_client(settings.model_copy(update={"home": home}), fake, apps=False) as (client, app):
        await app.auth.accept_token(fake.token_json(fake.issue_token()))
        lines = [
            dump(client.server_capabilities),
            dump(await client.list_tools()),
            dump(await client.list_resources()),
            dump(await client.list_prompts()),
        ]
        for uri in ("ui://t/title", "trakt://shows/trending"):
            try:
                lines.append(dump(await client.read_resource(uri)))
            except Exception as exc:  # the same refusal, word for word
                lines.append(f"{type(exc).__name__}: {exc}")
        for name, arguments in SCENARIO:
            try:
                lines.append(dump(await client.call_tool(name, arguments)))
            except Exception as exc:  # an unknown tool is a JSON-RPC error (-32602), word for word the same
                lines.append(f"{type(exc).__name__}: {exc}")
    return [re.sub(r"[A-Z2-9]{4}-[A-Z2-9]{4}", "CODE", line).replace(str(home), "HOME") for line in lines]


async def test_without_apps_the_handshake_tools_list_and_every_answer_are_byte_for_byte_unchanged(
    settings: Settings, fake_time: FakeTime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_cards = await transcript(settings, fake_time, tmp_path / "a")
    monkeypatch.setattr("trakt_mcp.server.build.install_apps", lambda server, app: None)
    before_cards = await transcript(settings, fake_time, tmp_path / "b")
    assert len(with_cards) == len(SCENARIO) + 6
    for now, then in zip(with_cards, before_cards, strict=True):
        assert now == then
    assert "ui://" not in "".join(with_cards[:4]) and "answer_approval" not in with_cards[1]


async def test_an_apps_host_sees_which_card_each_tool_renders_within_the_tools_list_budget(
    settings: Settings, fake: FakeTrakt
) -> None:
    async with apps_client(settings, fake) as (client, _):
        assert EXTENSION_ID in (client.server_capabilities.extensions or {})
        listed = (await client.list_tools()).model_dump(by_alias=True, exclude_none=True, mode="json")
        resources = await client.list_resources()
        card_uris = {str(r.uri) for r in resources.resources if str(r.uri).startswith("ui://")}
        page = await client.read_resource("ui://t/title")
    size = len(json.dumps(listed, separators=(",", ":")).encode())
    assert size <= BUDGET, f"tools/list with Apps is {size:,} bytes, over the {BUDGET:,} budget"
    bound = {tool["name"]: tool["_meta"]["ui"] for tool in listed["tools"] if "_meta" in tool}
    for name, card in CARDS.items():
        assert bound[name]["resourceUri"] == card.uri
    # Under the built-in policy, clear_auth needs confirmation: an Apps host shows the approval card for it.
    assert bound["clear_auth"] == {"resourceUri": "ui://t/ask"}
    assert {ui["resourceUri"] for ui in bound.values() if "resourceUri" in ui} <= card_uris
    # The approval card's answer: listed for the card only, never for the model.
    assert bound["answer_approval"] == {"visibility": ["app"]}
    content = page.contents[0]
    assert isinstance(content, types.TextResourceContents) and content.mime_type == APP_MIME_TYPE
    assert content.meta == {"ui": {"csp": {"resourceDomains": [f"https://{IMAGE_HOST}"]}, "prefersBorder": True}}
    html = content.text
    assert "<script src" not in html and "<link" not in html and "http://" not in html
    assert len(html) < 40_000


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_title_card_carries_the_poster_facts_and_the_buttons_the_policy_allows(
    settings: Settings, fake: FakeTrakt, tmp_path: Path, mode: str
) -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "hide": ["add_user_ratings"],
        "rules": {
            "add_to_history": {"action": "deny", "reason": "history is kept by the media server"},
            "remove_user_watchlist": {"action": "confirm", "reason": "ask before removing"},
        },
    }
    async with apps_client(with_policy(settings, policy, tmp_path), fake, mode=mode) as (client, _):
        result = await client.call_tool("fetch_show_summary", {"show_id": "breaking-bad"})
    card = (result.meta or {})[CARD_KEY]
    assert CARD_KEY not in text_of(result) and "walter" not in text_of(result)
    assert card["title"] == "Breaking Bad" and card["year"] == 2008 and card["runtime"] == 45
    assert card["genres"] == ["drama", "crime", "thriller"] and card["rating"] == pytest.approx(9.28)
    assert card["poster"] == f"https://{IMAGE_HOST}/images/shows/000/001/388/posters/thumb/1388.svg"
    buttons = {a["tool"]: a for a in card["actions"]}
    assert "add_user_ratings" not in buttons  # hidden: no button at all
    assert buttons["add_user_watchlist"]["state"] == "allow"
    assert buttons["add_user_watchlist"]["arguments"] == {"watchlist_type": "shows", "items": [{"trakt_id": "1388"}]}
    assert buttons["add_to_history"]["state"] == "deny"
    assert "history is kept by the media server" in buttons["add_to_history"]["reason"]
    assert buttons["remove_user_watchlist"]["state"] == "confirm"


async def test_grids_list_posters_with_a_button_that_opens_the_title_card(settings: Settings, fake: FakeTrakt) -> None:
    async with apps_client(settings, fake) as (client, _):
        chart = await client.call_tool("fetch_trending_shows", {"limit": 4})
        search = await client.call_tool("search_movies", {"query": "dark"})
        opened = await client.call_tool(
            **{
                "name": chart.meta[CARD_KEY]["items"][0]["open"]["tool"],  # type: ignore[index]
                "arguments": chart.meta[CARD_KEY]["items"][0]["open"]["arguments"],
            }
        )  # type: ignore[index]
    grid = chart.meta[CARD_KEY]  # type: ignore[index]
    assert grid["view"] == "grid" and len(grid["items"]) == 4
    assert all(item["poster"].startswith(f"https://{IMAGE_HOST}/") for item in grid["items"])
    first = grid["items"][0]
    assert first["title"] in text_of(chart) and first["open"]["tool"] == "fetch_show_summary"
    assert search.meta[CARD_KEY]["items"][0]["title"] == "The Dark Knight"  # type: ignore[index]
    assert opened.meta[CARD_KEY]["view"] == "title" and opened.meta[CARD_KEY]["title"] == first["title"]  # type: ignore[index]


async def test_watchlist_and_progress_cards_show_a_bar_and_the_next_episode_to_mark_watched(
    settings: Settings, fake: FakeTrakt
) -> None:
    async with apps_client(settings, fake) as (client, app):
        await app.auth.accept_token(fake.token_json(fake.issue_token()))
        await client.call_tool("add_user_watchlist", {"watchlist_type": "shows", "items": [{"slug": "breaking-bad"}]})
        await client.call_tool("add_user_watchlist", {"watchlist_type": "movies", "items": [{"trakt_id": "120"}]})
        listed = (await client.call_tool("fetch_user_watchlist", {})).meta[CARD_KEY]  # type: ignore[index]
        show = next(item for item in listed["items"] if item["title"] == "Breaking Bad")
        mark = show["progress"]["next"]["mark"]
        marked = await client.call_tool(mark["tool"], mark["arguments"])
        progress = (await client.call_tool("fetch_show_progress", {"show_id": "breaking-bad"})).meta[CARD_KEY]  # type: ignore[index]
    titles = [item["title"] for item in listed["items"]]
    assert "The Dark Knight" in titles and all(item["poster"] for item in listed["items"])
    movie = next(item for item in listed["items"] if item["title"] == "The Dark Knight")
    assert "progress" not in movie and movie["actions"][0]["tool"] == "remove_user_watchlist"
    before, upcoming = show["progress"], show["progress"]["next"]
    assert before["aired"] > before["completed"] and mark["arguments"]["history_type"] == "episodes"
    assert not marked.is_error
    after = progress["items"][0]["progress"]
    assert after["completed"] == before["completed"] + 1
    assert (after["next"]["season"], after["next"]["number"]) != (upcoming["season"], upcoming["number"])


def test_the_fake_serves_posters_on_the_image_host() -> None:
    fake = FakeTrakt()
    with httpx.Client(transport=fake.transport) as http:
        item = http.get(
            "https://api.trakt.tv/movies/120",
            params={"extended": "images"},
            headers={"trakt-api-key": SANDBOX_CLIENT_ID, "trakt-api-version": "2"},
        ).json()
        image = http.get("https://" + item["images"]["poster"][0])
        missing = http.get(f"https://{IMAGE_HOST}/images/movies/000/000/999/posters/thumb/x.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
    assert b"The Dark" in image.content and b"2008" in image.content
    assert missing.status_code == 404


async def test_a_client_without_apps_cannot_read_a_card_page(settings: Settings, fake: FakeTrakt) -> None:
    async with apps_client(settings, fake, apps=False) as (client, _):
        with pytest.raises(Exception, match="Unknown resource"):
            await client.read_resource("ui://t/title")


async def test_over_stdio_an_apps_host_gets_its_cards_and_never_the_snapshot_of_a_plain_client(
    tmp_path: Path,
) -> None:
    """Real `trakt-mcp --sandbox` processes: the quick start answers plain clients from a snapshot; an Apps host is
    answered by the server itself (cards listed), and does not leave its answers in the plain clients' snapshot."""

    async def tools(apps: bool) -> dict[str, Any]:
        env = {**os.environ, "TRAKT_MCP_HOME": str(tmp_path)}
        params = StdioServerParameters(command=sys.executable, args=["-m", "trakt_mcp", "--sandbox"], env=env)
        extensions = [AppsHost()] if apps else None
        async with Client(params, mode="legacy", extensions=extensions) as client:
            return {tool.name: tool.meta for tool in (await client.list_tools()).tools}

    plain = await tools(apps=False)
    snapshot = next((tmp_path / "cache").glob("stdio-snapshot-*.json")).read_text()
    with_cards = await tools(apps=True)
    again = await tools(apps=False)
    assert with_cards["fetch_show_summary"] == {"ui": {"resourceUri": "ui://t/title"}}
    assert plain == again and not any(plain.values())
    assert next((tmp_path / "cache").glob("stdio-snapshot-*.json")).read_text() == snapshot


async def test_in_the_sandbox_posters_come_inline_since_only_the_fake_trakt_has_them(
    settings: Settings, fake: FakeTrakt
) -> None:
    async with apps_client(settings.model_copy(update={"sandbox": True}), fake) as (client, _):
        result = await client.call_tool("fetch_trending_movies", {"limit": 2})
    posters = [item["poster"] for item in (result.meta or {})[CARD_KEY]["items"]]
    assert len(posters) == 2 and all(p.startswith("data:image/svg+xml;base64,") for p in posters)
    assert b"Dune" in base64.b64decode(posters[0].split(",", 1)[1])
