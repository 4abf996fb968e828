"""What each person decides, through one real `trakt-mcp --public-url --sandbox` process (pages driven over plain
HTTP here; tests/test_remote_flow.py drives them in chromium): browser sessions and their forms' CSRF tokens."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.remote_support import RemoteServer, remote_server

COOKIE = "trakt-mcp-session"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    home = tmp_path_factory.mktemp("consent") / "home"
    with remote_server(home, "--sandbox") as running:
        yield running


def page_sign_in(http: httpx.Client, account: str, next_path: str = "/account") -> httpx.Response:
    """Sign in to the server's own pages (no app): the sandbox Trakt's account button, back with a session."""
    page = http.get("/signin", params={"next": next_path})
    trakt = html.unescape(re.search(r'id="trakt-sign-in" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    chooser = http.get(trakt)
    fields = dict(re.findall(r'name="(redirect_uri|state)" value="([^"]*)"', chooser.text))
    form = {name: html.unescape(value) for name, value in fields.items()} | {"account": account}
    approved = http.post(trakt.split("?")[0], data=form)
    assert approved.status_code == 302, approved.text
    back = http.get(approved.headers["location"])
    assert back.status_code == 303, back.text
    return back


def csrf(page: str, action: str) -> str:
    form = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', page, re.S)
    assert form is not None, page
    return html.unescape(re.search(r'name="csrf" value="([^"]+)"', form.group(1)).group(1))  # type: ignore[union-attr]


def test_a_browser_session_starts_at_sign_in_with_a_safe_cookie_and_shows_only_its_person(server: RemoteServer) -> None:
    with server.http() as alice, server.http() as bob, server.http() as nobody:
        back = page_sign_in(alice, "alice")
        cookie = back.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie, cookie
        assert "Path=/" in cookie and "Secure" not in cookie, "plain http on loopback: no Secure, no __Host- prefix"
        assert back.headers["location"] == "/account"
        page_sign_in(bob, "bob")
        assert 'id="person">alice<' in alice.get("/account").text
        assert 'id="person">bob<' in bob.get("/account").text
        anonymous = nobody.get("/account").text
        assert 'id="sign-in" href="/signin?next=/account"' in anonymous
        assert "alice" not in anonymous and "bob" not in anonymous
        assert page_sign_in(nobody, "alice", "//evil.example/x").headers["location"] == "/account", "never off-site"


def test_a_form_post_without_its_csrf_token_or_from_another_site_is_refused_and_changes_nothing(
    server: RemoteServer,
) -> None:
    with server.http() as alice:
        page_sign_in(alice, "alice")
        token = csrf(alice.get("/account").text, "/account/sign-out")
        attempts = [
            ({}, {"Origin": "https://evil.example"}),
            ({"csrf": "forged"}, {}),
            ({"csrf": token}, {"Origin": "https://evil.example"}),
            ({"csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
        ]
        for form, headers in attempts:
            refused = alice.post("/account/sign-out", data=form, headers=headers)
            assert refused.status_code == 403, (form, headers, refused.text)
            assert "Nothing was changed" in refused.text
            assert 'id="person">alice<' in alice.get("/account").text, "the session is still there"
        with server.http() as bob:
            page_sign_in(bob, "bob")
            theirs = bob.post("/account/sign-out", data={"csrf": token})
            assert theirs.status_code == 403, "alice's token is bound to her session, not bob's"
            assert 'id="person">bob<' in bob.get("/account").text
        signed_out = alice.post("/account/sign-out", data={"csrf": token}, headers={"Origin": server.base})
        assert signed_out.status_code == 303
        assert 'id="sign-in"' in alice.get("/account").text
        replay = alice.post("/account/sign-out", data={"csrf": token}, cookies={COOKIE: "stale"})
        assert replay.status_code == 403
