"""What each person decides, through one real `trakt-mcp --public-url --sandbox` process (pages driven over plain
HTTP here; tests/test_remote_flow.py drives them in chromium): browser sessions and their forms' CSRF tokens; the
capabilities ticked on the consent page as the token's grant (tools outside it neither listed nor callable, by name,
through the generic tool, or as resources); a capability the operator turned off, refused even from an edited form;
the account page (change or disconnect one app, only the person's own audit lines, log out); an app's open session
told `tools/list_changed` when its grant changes."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.remote_support import (
    CALLBACK,
    RemoteServer,
    authorize_query,
    call_tool,
    consent_form,
    offered,
    pkce,
    post_form,
    register,
    remote_server,
    rpc,
    signed_in,
    through_sandbox_trakt,
    tool_names,
    tool_text,
)

COOKIE = "trakt-mcp-session"
#: The operator turns check-in off for everyone (community is off by default).
POLICY = {
    "version": "1",
    "default": "allow",
    "rules": {"remove_user_ratings": {"action": "confirm"}},
    "capabilities": {"checkin": {"offer": "off"}},
}
WRITES = {"add_user_ratings", "add_to_history", "add_user_watchlist", "create_user_list", "clear_auth"}
RATE_ONE = {"rating_type": "movies", "items": [{"slug": "inception-2010", "rating": 9}]}
UNRATE = {"rating_type": "movies", "items": [{"slug": "inception-2010"}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    folder = tmp_path_factory.mktemp("consent")
    policy = folder / "policy.json"
    policy.write_text(json.dumps(POLICY))
    with remote_server(folder / "home", "--sandbox", "--policy", str(policy)) as running:
        yield running


@pytest.fixture(scope="module")
def client_id(server: RemoteServer) -> str:
    with server.http() as http:
        return str(register(http, CALLBACK)["client_id"])


def page_sign_in(http: httpx.Client, account: str, next_path: str = "/account") -> httpx.Response:
    """Sign in to the server's own pages (no app): the sandbox Trakt's account button, back with a session."""
    back = through_sandbox_trakt(http, http.get("/signin", params={"next": next_path}), account)
    assert back.status_code == 303, back.text
    return back


def csrf(page: str, action: str) -> str:
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
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


def ratings(http: httpx.Client, access_token: str) -> str:
    return tool_text(call_tool(http, access_token, "fetch_user_ratings", {"rating_type": "movies"}))


def test_alice_ticks_only_read_and_write_tools_are_gone_bob_ticks_everything_and_writes(
    server: RemoteServer, client_id: str
) -> None:
    with server.http() as http:
        alice = signed_in(server, http, client_id, "alice", ["read"])
        bob = signed_in(server, http, client_id, "bob")
        assert alice["scope"] == "read" and bob["scope"] == "history lists logout rate read", "the grant, in the scope"
        theirs, his = tool_names(http, alice["access_token"]), tool_names(http, bob["access_token"])
        assert {"fetch_user_watchlist", "call_trakt_api", "check_auth_status"} <= theirs
        assert not WRITES & theirs and "remove_from_history" not in theirs
        assert his >= WRITES and "checkin_to_movie" not in his, "check-in is off for everyone"
        before = ratings(http, alice["access_token"])
        refused = rpc(http, alice["access_token"], "tools/call", {"name": "add_user_ratings", "arguments": RATE_ONE})
        assert refused["error"]["message"] == "Unknown tool: add_user_ratings", refused
        through = {"method": "POST", "path": "/sync/ratings", "body": {"movies": [{"ids": {"slug": "inception-2010"}}]}}
        generic = tool_text(call_tool(http, alice["access_token"], "call_trakt_api", through))
        assert "did not run" in generic and "capabilities" in generic, generic
        assert ratings(http, alice["access_token"]) == before, "nothing was rated for alice"
        done = tool_text(call_tool(http, bob["access_token"], "add_user_ratings", RATE_ONE))
        assert "Added: 1 movie" in done, done
        assert "Inception" in ratings(http, bob["access_token"])


def test_an_app_granted_nothing_reaches_no_data_by_any_door(server: RemoteServer, client_id: str) -> None:
    with server.http() as http:
        nothing = signed_in(server, http, client_id, "alice", [])
        assert nothing.get("scope", "") == ""
        assert tool_names(http, nothing["access_token"]) == {"check_auth_status", "start_device_auth"}
        listed = rpc(http, nothing["access_token"], "resources/list")["result"]["resources"]
        assert [resource["uri"] for resource in listed] == ["trakt://user/auth/status"], "only the always-on one"
        templates = rpc(http, nothing["access_token"], "resources/templates/list")["result"]["resourceTemplates"]
        assert templates == []
        read = rpc(http, nothing["access_token"], "resources/read", {"uri": "trakt://user/watchlist"})
        assert "error" in read and "Spirited Away" not in json.dumps(read), read
        reader = signed_in(server, http, str(register(http, CALLBACK)["client_id"]), "alice", ["read"])
        ask = {
            "ref": {"type": "ref/resource", "uri": "trakt://shows/played/{period}"},
            "argument": {"name": "period", "value": "w"},
        }
        completed = {
            name: rpc(http, token, "completion/complete", ask)["result"]["completion"]["values"]
            for name, token in (("nothing", nothing["access_token"]), ("read", reader["access_token"]))
        }
        assert completed == {"nothing": [], "read": ["weekly"]}, completed
        title = {
            "ref": {"type": "ref/prompt", "name": "search_entertainment"},
            "argument": {"name": "query", "value": "incep"},
        }
        found = {
            name: rpc(http, token, "completion/complete", title)["result"]["completion"]["values"]
            for name, token in (("nothing", nothing["access_token"]), ("read", reader["access_token"]))
        }
        assert found["nothing"] == [] and found["read"], (
            "a prompt's completion searches Trakt only for a grant with read"
        )


def test_a_capability_off_for_everyone_cannot_be_granted_by_editing_the_form(
    server: RemoteServer, client_id: str
) -> None:
    with server.http() as http:
        _, challenge = pkce()
        query = authorize_query(server, client_id, CALLBACK, challenge)
        consent = _consent_page(server, http, query, "alice")
        assert offered(consent) == ["read", "rate", "history", "lists", "logout"]
        assert 'value="checkin"' not in consent and "Turned off on this server" in consent
        for edited in (["read", "checkin"], ["community"], ["read", "no-such-thing"], ["status"]):
            answer = post_form(http, "/consent", consent_form(consent, edited))
            assert answer.status_code == 400 and "location" not in answer.headers, answer.text
            assert "Nothing was granted" in answer.text
        denied = post_form(http, "/consent", consent_form(consent, ["read"], decision="deny"))
        assert denied.status_code == 302 and "error=access_denied" in denied.headers["location"]
        assert "code=" not in denied.headers["location"]
        again = _consent_page(server, http, authorize_query(server, client_id, CALLBACK, challenge), "alice")
        allowed = post_form(http, "/consent", consent_form(again, ["read"]))
        assert allowed.status_code == 302 and "code=" in allowed.headers["location"], "the honest form still works"


def _consent_page(server: RemoteServer, http: httpx.Client, query: dict[str, str], account: str) -> str:
    back = through_sandbox_trakt(http, http.get("/authorize", params=query), account)
    consent = http.get(back.headers["location"])
    assert consent.status_code == 200 and "refusal test" in consent.text and "127.0.0.1:9" in consent.text
    return consent.text


def test_on_her_account_page_alice_disconnects_one_app_and_sees_only_her_own_calls(
    server: RemoteServer, tmp_path: Path
) -> None:
    with server.http() as http:
        phone_id, laptop_id = (str(register(http, CALLBACK)["client_id"]) for _ in range(2))
        phone = signed_in(server, http, phone_id, "alice", ["read"])
        laptop = signed_in(server, http, laptop_id, "alice", ["read", "rate"])
        with server.http() as bobs:
            bob = signed_in(server, bobs, phone_id, "bob", ["read"])
            tool_text(call_tool(bobs, bob["access_token"], "fetch_history"))
        tool_text(call_tool(http, phone["access_token"], "fetch_user_watchlist"))
        waiting = tool_text(call_tool(http, laptop["access_token"], "remove_user_ratings", UNRATE))
        assert "/approvals" in waiting, waiting
        account = http.get("/account").text
        pending = account.split('id="approvals-heading"')[1].split("</section>")[0]
        assert "remove_user_ratings" in pending and 'id="allow-' in pending, "her approval waits on her page"
        with server.http() as bobs:
            page_sign_in(bobs, "bob")
            assert "remove_user_ratings" not in bobs.get("/account").text, "and on nobody else's"
        assert 'id="person">alice<' in account
        apps = dict(re.findall(r'data-client="([^"]+)">(.*?)</form>', account, re.S))
        assert set(apps) >= {phone_id, laptop_id} and 'value="rate" checked' in apps[laptop_id]
        activity = account.split('id="activity"')[1]
        assert "fetch_user_watchlist" in activity and "fetch_history" not in activity, "bob's call is not hers"
        lowered = post_form(http, "/account/apps", _app_form(apps[laptop_id], "save", ["read"]))
        assert lowered.status_code == 303
        refused = rpc(http, laptop["access_token"], "tools/call", {"name": "add_user_ratings", "arguments": RATE_ONE})
        assert "error" in refused, "the change applies to the laptop's live token at once"
        gone = post_form(http, "/account/apps", _app_form(apps[phone_id], "disconnect", []))
        assert gone.status_code == 303
        assert call_tool(http, phone["access_token"], "fetch_user_watchlist").status_code == 401
        refresh = http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": phone["refresh_token"], "client_id": phone_id},
        )
        assert refresh.status_code == 400, "the phone's refresh token is revoked too"
        assert "Spirited Away" in tool_text(call_tool(http, laptop["access_token"], "fetch_user_watchlist"))
        assert "Dune" in tool_text(call_tool(http, bob["access_token"], "fetch_history")), "bob's app is his"


async def test_changing_an_apps_capabilities_tells_its_open_session_to_list_its_tools_again(
    server: RemoteServer,
) -> None:
    notices: list[str] = []

    async def on_message(message: Any) -> None:
        notices.append(repr(message))

    def told() -> bool:
        return any("tools/list_changed" in notice or "ToolListChanged" in notice for notice in notices)

    with server.http() as http:
        tablet = str(register(http, CALLBACK)["client_id"])  # an app of bob's own: the other tests' grants stay
        bob = signed_in(server, http, tablet, "bob", ["read", "rate"])
        bearer = {"Authorization": f"Bearer {bob['access_token']}"}
        async with (
            httpx2.AsyncClient(headers=bearer, timeout=60) as mcp_http,
            Client(
                streamable_http_client(server.mcp, http_client=mcp_http), mode="legacy", message_handler=on_message
            ) as client,
        ):
            assert "add_user_ratings" in {tool.name for tool in (await client.list_tools()).tools}
            await anyio.sleep(0.5)  # the session's event stream (GET) is open: nothing was announced on its own
            assert not told(), notices
            apps = dict(re.findall(r'data-client="([^"]+)">(.*?)</form>', http.get("/account").text, re.S))
            assert post_form(http, "/account/apps", _app_form(apps[tablet], "save", ["read"])).status_code == 303
            with anyio.fail_after(20):
                while not told():
                    await anyio.sleep(0.05)
            assert "add_user_ratings" not in {tool.name for tool in (await client.list_tools()).tools}
            # Signing in again through the consent page changes the grant without this process's account page (as
            # on another replica): the open session is told on its next request.
            notices.clear()
            signed_in(server, http, tablet, "bob", ["read", "rate"])
            assert not (await client.call_tool("fetch_user_watchlist", {})).is_error
            with anyio.fail_after(20):
                while not told():
                    await anyio.sleep(0.05)
            assert "add_user_ratings" in {tool.name for tool in (await client.list_tools()).tools}


def _app_form(form: str, action: str, capabilities: list[str]) -> list[tuple[str, str]]:
    fields = [
        (name, html.unescape(value)) for name, value in re.findall(r'name="(csrf|client_id)" value="([^"]*)"', form)
    ]
    return fields + [("capability", name) for name in capabilities] + [("action", action)]


def test_log_out_revokes_at_trakt_every_token_of_hers_and_ends_her_sessions(
    server: RemoteServer, client_id: str
) -> None:
    with server.http() as http, server.http() as other_browser:
        alice = signed_in(server, http, client_id, "bob", ["read", "logout"])
        page_sign_in(other_browser, "bob")
        with server.http() as alices:
            keep = signed_in(server, alices, client_id, "alice", ["read"])
        token = csrf(http.get("/account").text, "/account/log-out")
        out = http.post("/account/log-out", data={"csrf": token})
        assert out.status_code == 200 and 'id="logged-out"' in out.text
        assert "revoked at Trakt" in out.text, out.text
        assert call_tool(http, alice["access_token"], "fetch_user_watchlist").status_code == 401
        assert 'id="sign-in"' in http.get("/account").text and 'id="sign-in"' in other_browser.get("/account").text
        assert "Spirited Away" in tool_text(call_tool(http, keep["access_token"], "fetch_user_watchlist"))


def test_behind_https_the_session_cookie_is_secure_and_host_prefixed(tmp_path: Path) -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    from trakt_mcp.remote.browser import BrowserSessions
    from trakt_mcp.remote.sqlite import SqlitePeopleStore

    (tmp_path / "home").mkdir(mode=0o700)
    store = SqlitePeopleStore(tmp_path / "home" / "people.db")
    sessions = BrowserSessions(store, "https://trakt.example.com", lambda: 1000.0)
    response = Response()
    sessions.set_cookie(Request({"type": "http", "headers": []}), response, sessions.start("alice"))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-trakt-mcp-session=") and "; Secure" in cookie and "HttpOnly" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie and "SameSite=lax" in cookie
    secret = cookie.split(";", 1)[0].split("=", 1)[1]
    assert secret.encode() not in (tmp_path / "home" / "people.db").read_bytes(), "stored by digest only"
    store.close()
