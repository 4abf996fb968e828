"""The cards in a real browser: headless chromium, a host page built on ext-apps' AppBridge, our server behind it.

Set TRAKT_MCP_SCREENSHOTS=docs/cards to (re)write the README's screenshots of each card, light and dark."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apps_support import apps_client, with_policy
from tests.browser_host import browser_host, require_browser
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.settings import Settings

SHOTS = os.environ.get("TRAKT_MCP_SCREENSHOTS")


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


@pytest.fixture
def images(fake: FakeTrakt) -> Iterator[str]:
    """The fake Trakt on loopback: the browser's requests for Trakt's image host are routed here."""
    with serve_on_loopback(fake) as origin:
        yield origin


async def snapshot(host: Any, name: str, theme: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await host.page.locator("iframe").screenshot(path=str(Path(SHOTS) / f"{name}-{theme}.png"))


async def posters_loaded(host: Any) -> int:
    images = host.frame.locator("img.poster")
    await images.first.wait_for()
    loaded = 0
    for index in range(await images.count()):
        image = images.nth(index)
        await image.scroll_into_view_if_needed()
        if await image.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)"):
            loaded += 1
    return loaded


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_each_card_renders_from_our_server_in_a_sandboxed_iframe(
    settings: Settings, fake: FakeTrakt, images: str, theme: str
) -> None:
    async with apps_client(settings, fake) as (client, app):
        await app.auth.accept_token(fake.token_json(fake.issue_token()))
        await client.call_tool("add_user_watchlist", {"watchlist_type": "shows", "items": [{"slug": "breaking-bad"}]})
        async with browser_host(client, images, theme) as host:
            await host.show("fetch_show_summary", {"show_id": "breaking-bad"}, theme)
            assert await host.page.locator("iframe").get_attribute("sandbox") == "allow-scripts"
            await host.frame.get_by_role("heading", name="Breaking Bad").wait_for()
            assert await host.frame.locator("html").get_attribute("data-theme") == theme
            assert "chemistry teacher" in await host.frame.locator("article").inner_text()
            assert await posters_loaded(host) == 1
            await snapshot(host, "title", theme)

            await host.show("fetch_trending_movies", {"limit": 6}, theme)
            await host.frame.get_by_role("heading", name="Trending movies").wait_for()
            assert await host.frame.locator(".tile").count() == 6
            assert await posters_loaded(host) == 6
            await snapshot(host, "grid", theme)

            await host.show("fetch_user_watchlist", {}, theme)
            await host.frame.get_by_role("heading", name="Your watchlist").wait_for()
            assert await host.frame.get_by_role("progressbar").count() >= 1
            await snapshot(host, "watchlist", theme)

            await host.show("fetch_show_progress", {"show_id": "breaking-bad"}, theme)
            await host.frame.get_by_role("heading", name="Your progress").wait_for()
            assert "Next: S01E" in await host.frame.locator("section").inner_text()
            await snapshot(host, "progress", theme)
    assert host.calls == []  # rendering alone calls nothing


async def test_clicking_add_to_watchlist_reaches_the_fake_trakt_once(
    settings: Settings, fake: FakeTrakt, images: str
) -> None:
    async with apps_client(settings, fake) as (client, app):
        await app.auth.accept_token(fake.token_json(fake.issue_token()))
        async with browser_host(client, images) as host:
            await host.show("fetch_movie_summary", {"movie_id": "the-dark-knight-2008"})
            before = len(fake.calls_to("POST", "/sync/watchlist"))
            await host.frame.get_by_role("button", name="Add to watchlist").click()
            await host.frame.get_by_role("status").filter(has_text="watchlist").wait_for()
    posts = fake.calls_to("POST", "/sync/watchlist")
    assert len(posts) - before == 1
    assert posts[-1].body == {"movies": [{"ids": {"trakt": 120}}]}
    assert host.calls == [("add_user_watchlist", {"watchlist_type": "movies", "items": [{"trakt_id": "120"}]})]


async def test_the_keyboard_opens_a_title_from_the_grid_and_marks_the_next_episode_watched(
    settings: Settings, fake: FakeTrakt, images: str
) -> None:
    async with apps_client(settings, fake) as (client, app):
        await app.auth.accept_token(fake.token_json(fake.issue_token()))
        async with browser_host(client, images) as host:
            await host.show("search_shows", {"query": "breaking"})
            first = host.frame.locator(".tile").first
            await first.focus()
            await host.page.keyboard.press("Enter")
            await host.frame.get_by_role("heading", name="Breaking Bad").wait_for()
            assert host.calls[-1] == ("fetch_show_summary", {"show_id": "breaking-bad"})

            await host.show("fetch_show_progress", {"show_id": "breaking-bad"})
            text = await host.frame.locator("section").inner_text()
            mark = host.frame.get_by_role("button", name="Mark watched")
            await mark.focus()
            await host.page.keyboard.press("Enter")
            await host.frame.locator("section").filter(has_not_text=text.split("Next: ")[1][:6]).wait_for()
    history = fake.calls_to("POST", "/sync/history")
    assert len(history) == 1 and "episodes" in history[0].body
    # The card refreshed itself with the same tool and arguments the host gave it.
    assert host.calls[-1] == ("fetch_show_progress", {"show_id": "breaking-bad"})


async def test_a_denied_action_is_greyed_with_the_rule_and_a_hidden_one_has_no_button(
    settings: Settings, fake: FakeTrakt, images: str, tmp_path: Path
) -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "hide": ["add_user_ratings"],
        "rules": {"add_to_history": {"action": "deny", "reason": "history comes from the media server"}},
    }
    async with (
        apps_client(with_policy(settings, policy, tmp_path), fake) as (client, _),
        browser_host(client, images) as host,
    ):
        await host.show("fetch_show_summary", {"show_id": "breaking-bad"})
        mark = host.frame.get_by_role("button", name="Mark watched")
        await mark.wait_for()
        assert await mark.is_disabled()
        assert "history comes from the media server" in await host.frame.locator("article").inner_text()
        assert await host.frame.get_by_role("button", name="Rate").count() == 0
        assert await host.frame.get_by_role("button", name="Add to watchlist").is_enabled()
    assert host.calls == []


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_the_approval_card_allow_runs_the_call_once_deny_runs_nothing_a_replay_is_refused(
    settings: Settings, fake: FakeTrakt, images: str, theme: str
) -> None:
    """A host with Apps and no elicitation (as Claude Desktop): the built-in policy's confirmations come as cards."""
    async with apps_client(settings, fake) as (client, app), browser_host(client, images, theme) as host:
        token = fake.issue_token()
        await app.auth.accept_token(fake.token_json(token))

        await host.show("remove_user_watchlist", {"watchlist_type": "shows", "items": [{"slug": "severance"}]}, theme)
        card = host.frame.get_by_role("alertdialog", name="Allow this action?")
        await card.wait_for()
        text = await card.inner_text()
        assert "Remove from your watchlist (1 item): Severance (2022)" in text
        assert "the local user" in text and 'the built-in rule "remove_*"' in text
        assert await host.frame.locator("button:focus").inner_text() == "Deny"
        await snapshot(host, "approval", theme)
        await host.page.keyboard.press("Enter")  # Deny has the focus
        await host.frame.get_by_role("status").filter(has_text="denied").wait_for()
        assert fake.calls_to("POST", "/sync/watchlist/remove") == []

        asked = await host.show("clear_auth", {}, theme)
        await host.frame.get_by_role("button", name="Allow once").click()
        await host.frame.get_by_role("status").filter(has_text="Signed out").wait_for()
        nonce = asked["_meta"]["guard/approval"]["nonce"]
        replayed = await host.call("answer_approval", {"nonce": nonce, "allow": True})
        told = await host.page.evaluate("window.modelContext")
    assert len(fake.calls_to("POST", "/oauth/revoke")) == 1 and not fake.token_valid(token.access_token)
    assert replayed["isError"] and "not pending" in replayed["content"][0]["text"]
    assert [name for name, _ in host.calls] == ["answer_approval"] * 3
    assert [call[1]["allow"] for call in host.calls] == [False, True, True]
    assert "The user allowed: " in told[-1]["content"][0]["text"]
