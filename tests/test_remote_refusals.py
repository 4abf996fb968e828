"""Multi-user mode refuses, each through a real `trakt-mcp --public-url` process: a missing or wrong PKCE verifier,
another redirect URI, a token for another resource, a replayed code, a reused refresh token (its family then
revoked), alice's token reaching bob's data, an expired, unknown or revoked token (401), and registration floods."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.remote_support import (
    CALLBACK,
    MCP_HEADERS,
    RemoteServer,
    authorize_query,
    call_tool,
    pkce,
    register,
    remote_server,
    sign_in,
    signed_in,
    token,
    tool_text,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    home = tmp_path_factory.mktemp("remote") / "home"
    with remote_server(home, "--sandbox") as running:
        yield running


@pytest.fixture
def http(server: RemoteServer) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


@pytest.fixture(scope="module")
def public_client(server: RemoteServer) -> str:
    """One registered public client for the module (registration is rate-limited per address, as it must be)."""
    with server.http() as client:
        return str(register(client, CALLBACK)["client_id"])


def a_code(server: RemoteServer, http: httpx.Client, client_id: str) -> tuple[str, str, str]:
    verifier, challenge = pkce()
    code = sign_in(http, authorize_query(server, client_id, CALLBACK, challenge), "alice").params["code"]
    return client_id, verifier, code


def exchange(server: RemoteServer, http: httpx.Client, client_id: str, code: str, **form: str) -> httpx.Response:
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": client_id}
    return token(http, **{**fields, "resource": server.mcp, **form})


def unauthorized(http: httpx.Client, server: RemoteServer, access_token: str) -> None:
    answer = call_tool(http, access_token, "fetch_user_watchlist")
    assert answer.status_code == 401, answer.text
    assert (
        f'resource_metadata="{server.base}/.well-known/oauth-protected-resource/mcp"'
        in answer.headers["www-authenticate"]
    )


def test_a_missing_pkce_verifier_is_refused(server: RemoteServer, http: httpx.Client, public_client: str) -> None:
    client_id, _, code = a_code(server, http, public_client)
    answer = exchange(server, http, client_id, code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", answer.text
    assert "access_token" not in answer.text


def test_a_wrong_pkce_verifier_is_refused(server: RemoteServer, http: httpx.Client, public_client: str) -> None:
    client_id, _, code = a_code(server, http, public_client)
    answer = exchange(server, http, client_id, code, code_verifier=pkce()[0])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text


def test_an_authorization_without_s256_pkce_never_reaches_the_sign_in(
    server: RemoteServer, http: httpx.Client, public_client: str
) -> None:
    client_id = public_client
    verifier, challenge = pkce()
    for changes in ({"code_challenge": ""}, {"code_challenge_method": "plain", "code_challenge": verifier}):
        query = {**authorize_query(server, client_id, CALLBACK, challenge), **changes}
        answer = http.get("/authorize", params=query)
        assert answer.status_code == 302, answer.text
        back = httpx.URL(answer.headers["location"])
        assert back.params["error"] == "invalid_request" and back.params["iss"] == server.base
        assert "code" not in back.params


def test_another_redirect_uri_is_refused_at_authorization_and_at_the_token_endpoint(
    server: RemoteServer, http: httpx.Client, public_client: str
) -> None:
    client_id = public_client
    _, challenge = pkce()
    elsewhere = "https://attacker.example/callback"
    page = http.get("/authorize", params=authorize_query(server, client_id, elsewhere, challenge))
    assert page.status_code == 400 and "location" not in page.headers, "never redirect to an unregistered URI"
    assert "text/html" in page.headers["content-type"]
    client_id, verifier, code = a_code(server, http, public_client)
    answer = exchange(server, http, client_id, code, code_verifier=verifier, redirect_uri=CALLBACK + "/other")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text


def test_a_token_for_another_resource_is_refused(
    server: RemoteServer, http: httpx.Client, public_client: str, tmp_path: Path
) -> None:
    client_id = public_client
    _, challenge = pkce()
    other = "https://other.example/mcp"
    answer = http.get("/authorize", params=authorize_query(server, client_id, CALLBACK, challenge, resource=other))
    assert httpx.URL(answer.headers["location"]).params["error"] == "invalid_target"
    client_id, verifier, code = a_code(server, http, public_client)
    refused = exchange(server, http, client_id, code, code_verifier=verifier, resource=other)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target", refused.text
    # A token bound to this server's MCP URL, shown to another resource sharing the same state: 401 there. A client
    # that sent no `resource` at all gets its token bound to this MCP URL all the same.
    alice = signed_in(server, http, public_client)
    verifier, challenge = pkce()
    query = authorize_query(server, public_client, CALLBACK, challenge)
    del query["resource"]
    code = sign_in(http, query, "alice").params["code"]
    unnamed = exchange(server, http, public_client, code, code_verifier=verifier).json()["access_token"]
    with remote_server(server.home, "--sandbox") as elsewhere, elsewhere.http() as other_http:
        unauthorized(other_http, elsewhere, alice["access_token"])
        unauthorized(other_http, elsewhere, unnamed)
    for access in (alice["access_token"], unnamed):
        assert "Spirited Away" in tool_text(call_tool(http, access, "fetch_user_watchlist"))


def test_a_replayed_code_is_refused_and_revokes_what_it_gave(
    server: RemoteServer, http: httpx.Client, public_client: str
) -> None:
    alice = signed_in(server, http, public_client)
    again = exchange(server, http, alice["client_id"], alice["code"], code_verifier=alice["verifier"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    unauthorized(http, server, alice["access_token"])
    refreshed = token(
        http, grant_type="refresh_token", refresh_token=alice["refresh_token"], client_id=alice["client_id"]
    )
    assert refreshed.status_code == 400, refreshed.text


def test_a_reused_refresh_token_is_refused_and_its_family_revoked(
    server: RemoteServer, http: httpx.Client, public_client: str
) -> None:
    alice = signed_in(server, http, public_client)
    first = token(http, grant_type="refresh_token", refresh_token=alice["refresh_token"], client_id=alice["client_id"])
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != alice["refresh_token"], "refresh tokens rotate"
    assert "Spirited Away" in tool_text(call_tool(http, rotated["access_token"], "fetch_user_watchlist"))
    reused = token(http, grant_type="refresh_token", refresh_token=alice["refresh_token"], client_id=alice["client_id"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant", reused.text
    unauthorized(http, server, rotated["access_token"])
    unauthorized(http, server, alice["access_token"])
    later = token(
        http, grant_type="refresh_token", refresh_token=rotated["refresh_token"], client_id=alice["client_id"]
    )
    assert later.status_code == 400, "the whole family is revoked"


def test_alices_token_never_reaches_bobs_data(server: RemoteServer, http: httpx.Client, public_client: str) -> None:
    alice, bob = signed_in(server, http, public_client, "alice"), signed_in(server, http, public_client, "bob")
    alice_list = tool_text(call_tool(http, alice["access_token"], "fetch_user_watchlist"))
    assert "Spirited Away" in alice_list and "The Dark Knight" not in alice_list
    # Bob's handshake-era session, then alice's token on it: the SDK binds a session to the principal that opened it.
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bob", "version": "1"}},
    }
    opened = http.post("/mcp", headers={**MCP_HEADERS, "Authorization": f"Bearer {bob['access_token']}"}, json=init)
    session = opened.headers["mcp-session-id"]
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "fetch_user_watchlist", "arguments": {}},
    }
    headers = {
        **MCP_HEADERS,
        "Authorization": f"Bearer {alice['access_token']}",
        "Mcp-Session-Id": session,
        "MCP-Protocol-Version": "2025-11-25",
    }
    hijack = http.post("/mcp", headers=headers, json=call)
    assert hijack.status_code in (403, 404), hijack.text
    assert "The Dark Knight" not in hijack.text


def test_an_expired_unknown_or_revoked_token_gets_401(
    server: RemoteServer, http: httpx.Client, public_client: str
) -> None:
    unauthorized(http, server, "not-a-token-this-server-issued")
    expired, revoked = signed_in(server, http, public_client), signed_in(server, http, public_client)
    with sqlite3.connect(server.home / "people.db") as db:
        digest = hashlib.sha256(expired["access_token"].encode()).hexdigest()
        assert db.execute("UPDATE tokens SET expires_at = 1 WHERE token_digest = ?", (digest,)).rowcount == 1
    unauthorized(http, server, expired["access_token"])
    answer = http.post("/revoke", data={"token": revoked["refresh_token"], "client_id": revoked["client_id"]})
    assert answer.status_code == 200, answer.text
    unauthorized(http, server, revoked["access_token"])


def test_dynamic_registration_is_rate_limited(server: RemoteServer, http: httpx.Client, public_client: str) -> None:
    answers = [
        http.post("/register", json={"client_name": "flood", "redirect_uris": [CALLBACK]}).status_code
        for _ in range(12)
    ]
    assert 429 in answers and answers.count(201) <= 10
