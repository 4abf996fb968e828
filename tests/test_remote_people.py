"""Multi-user mode against a Trakt we can watch: the fake Trakt on loopback (not sandbox mode), a real
`trakt-mcp --public-url` process. A person's Trakt token is sealed at rest; `clear_auth` for alice revokes her
Trakt token at Trakt and every token the server issued her, and leaves bob alone; outside sandbox mode a client ID
metadata document on a private or loopback address is never fetched."""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.remote_support import (
    CALLBACK,
    DocumentServer,
    RemoteServer,
    authorize_query,
    call_tool,
    consent_form,
    https_documents,
    pkce,
    post_form,
    register,
    remote_server,
    signed_in,
    token,
    tool_text,
)
from trakt_mcp.remote.sealing import load_sealer
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.sandbox.routes.oauth import oauth_state
from trakt_mcp.sandbox.wire import IssuedToken
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET


@dataclass
class Setup:
    server: RemoteServer
    fake: FakeTrakt
    documents: DocumentServer
    env: dict[str, str]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("people")
    policy = folder / "policy.json"
    once_a_day = {"action": "allow", "rate_limit": {"max": 1, "window": "day"}}
    # Rules for one person: an identity named after their Trakt username (its token digest is unused in this mode).
    bob = {"token_sha256": "0" * 64, "rules": {"search_movies": {"action": "deny", "reason": "not for bob"}}}
    rules = {"fetch_history": once_a_day}
    policy.write_text(json.dumps({"version": "1", "default": "allow", "rules": rules, "identities": {"bob": bob}}))
    fake = FakeTrakt()
    document = {"client_id": "", "client_name": "private", "redirect_uris": [CALLBACK]}
    with serve_on_loopback(fake) as api, https_documents(folder, {"/client.json": document}) as documents:
        env = {
            "TRAKT_API_URL": api,
            "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
            "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "SSL_CERT_FILE": str(documents.ca_file),  # trusted: only the address check can refuse it
        }
        with remote_server(folder / "home", "--policy", str(policy), env=env) as server:
            yield Setup(server, fake, documents, env)


def trakt_token_of(fake: FakeTrakt, account: str) -> IssuedToken:
    (issued,) = [token for token in fake.tokens.values() if token.account == account]
    return issued


def test_a_persons_trakt_token_is_sealed_at_rest(setup: Setup) -> None:
    server = setup.server
    with server.http() as http:
        ours = signed_in(server, http, register(http, CALLBACK)["client_id"], "alice")
    trakt = trakt_token_of(setup.fake, "alice")
    stored = b"".join(path.read_bytes() for path in server.home.glob("people.db*"))
    for secret in (trakt.access_token, trakt.refresh_token, ours["access_token"], ours["refresh_token"]):
        assert secret.encode() not in stored, "no Trakt token and no token we issued is readable without the key"
    with sqlite3.connect(server.home / "people.db") as db:
        (sealed,) = db.execute("SELECT trakt_token FROM people WHERE username = 'alice'").fetchone()
    opened = json.loads(load_sealer(server.home, environ={}).open(bytes(sealed), "alice"))
    assert opened["access_token"] == trakt.access_token, "with the key, it is her token"
    assert oct((server.home / "people.key").stat().st_mode & 0o777) == "0o600"


def test_clear_auth_for_alice_revokes_at_trakt_and_every_token_of_hers_bob_untouched(setup: Setup) -> None:
    server, fake = setup.server, setup.fake
    with server.http() as http:
        client_id = register(http, CALLBACK)["client_id"]
        alice, alice_phone = signed_in(server, http, client_id, "alice"), signed_in(server, http, client_id, "alice")
        bob = signed_in(server, http, client_id, "bob")
        alice_trakt, bob_trakt = trakt_token_of(fake, "alice"), trakt_token_of(fake, "bob")
        earlier = len(fake.calls_to("POST", "/oauth/revoke"))  # her replaced sign-ins, revoked as she signed in again
        cleared = tool_text(call_tool(http, alice["access_token"], "clear_auth"))
        assert "revoked at Trakt" in cleared, cleared
        revokes = [call.body["token"] for call in fake.calls_to("POST", "/oauth/revoke")][earlier:]
        assert revokes == [alice_trakt.access_token]
        assert alice_trakt.access_token not in fake.tokens and bob_trakt.access_token in fake.tokens
        for access in (alice["access_token"], alice_phone["access_token"]):
            assert call_tool(http, access, "fetch_user_watchlist").status_code == 401
        refreshed = token(
            http, grant_type="refresh_token", refresh_token=alice_phone["refresh_token"], client_id=client_id
        )
        assert refreshed.status_code == 400, refreshed.text
        assert "The Dark Knight" in tool_text(call_tool(http, bob["access_token"], "fetch_user_watchlist"))
    with sqlite3.connect(server.home / "people.db") as db:
        rows = dict(db.execute("SELECT username, trakt_token IS NOT NULL FROM people").fetchall())
    assert rows == {"alice": 0, "bob": 1}


def test_each_person_has_their_own_rate_limit_windows_and_audit_lines(setup: Setup) -> None:
    server = setup.server
    with server.http() as http:
        client_id = register(http, CALLBACK)["client_id"]
        alice, bob = signed_in(server, http, client_id, "alice"), signed_in(server, http, client_id, "bob")
        assert "Inception" in tool_text(call_tool(http, alice["access_token"], "fetch_history"))
        again = tool_text(call_tool(http, alice["access_token"], "fetch_history"))
        assert "Inception" not in again and "limit" in again.lower(), again
        assert "Dune: Part Two" in tool_text(call_tool(http, bob["access_token"], "fetch_history"))
    lines = [json.loads(line) for line in (server.home / "audit.jsonl").read_text().splitlines()]
    history = [(line["identity"], line["decision"]) for line in lines if line.get("tool") == "fetch_history"]
    assert history == [("alice", "allowed"), ("alice", "rate_limited"), ("bob", "allowed")], history


def test_a_rule_for_one_person_applies_to_that_person_only(setup: Setup) -> None:
    server = setup.server
    with server.http() as http:
        client_id = register(http, CALLBACK)["client_id"]
        alice, bob = signed_in(server, http, client_id, "alice"), signed_in(server, http, client_id, "bob")
        assert "Inception" in tool_text(call_tool(http, alice["access_token"], "search_movies", {"query": "inception"}))
        refused = tool_text(call_tool(http, bob["access_token"], "search_movies", {"query": "inception"}))
        assert "not for bob" in refused and "Inception (2010)" not in refused, refused


def test_a_metadata_document_on_a_private_address_is_refused_outside_sandbox(setup: Setup) -> None:
    server, documents = setup.server, setup.documents
    port = httpx.URL(documents.url).port
    _, challenge = pkce()
    private = [
        f"{documents.url}/client.json",
        f"https://localhost:{port}/client.json",
        "https://10.0.0.7/client.json",
        "https://192.168.1.20/client.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/client.json",
        "https://[fd00::1]/client.json",
        "http://example.com/client.json",
    ]
    with server.http() as http:
        for client_id in private:
            page = http.get("/authorize", params=authorize_query(server, client_id, CALLBACK, challenge))
            assert page.status_code == 400 and "text/html" in page.headers["content-type"], (client_id, page.text)
            assert "location" not in page.headers
            assert "non-public address" in page.text or "https://" in page.text, page.text
    assert documents.hits == [], "nothing was fetched from a private or loopback address"
    assert not Path(server.home / "people.db").read_bytes().count(b"client.json")


def test_the_device_flow_signs_a_person_in_when_the_trakt_app_has_only_the_out_of_band_redirect(
    tmp_path: Path,
) -> None:
    fake = FakeTrakt()
    env = {"TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID, "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
    with (
        serve_on_loopback(fake) as api,
        remote_server(tmp_path / "home", "--trakt-signin", "device", env={**env, "TRAKT_API_URL": api}) as server,
        server.http() as http,
    ):
        client_id = register(http, CALLBACK)["client_id"]
        verifier, challenge = pkce()
        page = http.get("/authorize", params=authorize_query(server, client_id, CALLBACK, challenge))
        assert 'id="trakt-get-code"' in page.text and "trakt-sign-in" not in page.text
        state = html.unescape(re.search(r'name="state" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        shown = http.post("/oauth/trakt/device", data={"state": state})
        assert oauth_state(fake).latest().user_code in shown.text
        assert 'id="not-yet"' in http.post("/oauth/trakt/device", data={"state": state}).text
        oauth_state(fake).approve()
        back = http.post("/oauth/trakt/device", data={"state": state})
        assert back.status_code == 303 and back.headers["location"].startswith("/consent?"), back.text
        consent = http.get(back.headers["location"]).text
        allowed = post_form(http, "/consent", consent_form(consent, ["read"]))
        assert allowed.status_code == 302, allowed.text
        location = httpx.URL(allowed.headers["location"])
        assert str(location).startswith(CALLBACK) and location.params["iss"] == server.base
        answer = token(
            http,
            grant_type="authorization_code",
            code=location.params["code"],
            redirect_uri=CALLBACK,
            client_id=client_id,
            code_verifier=verifier,
            resource=server.mcp,
        )
        listed = tool_text(call_tool(http, answer.json()["access_token"], "fetch_user_watchlist"))
        assert "Dune: Part Two" in listed, "the fake's own account, signed in with a code"
        replay = http.post("/oauth/trakt/device", data={"state": state})
        assert replay.status_code == 400, "the code and its authorization are used up"


def test_an_unusable_people_store_fails_closed_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "people.db").write_bytes(b"this is not a database" * 100)
    (home / "people.db").chmod(0o600)
    with remote_server(home, "--sandbox") as server, server.http() as http:
        refused = http.post("/register", json={"client_name": "x", "redirect_uris": [CALLBACK]})
        assert refused.status_code == 503, refused.text
        assert "people.db" in refused.json()["error_description"] and "Fix" in refused.json()["error_description"]
        answer = token(http, grant_type="authorization_code", code="anything", client_id="anyone")
        assert answer.status_code == 503 and "access_token" not in answer.text
        page = http.get("/authorize", params={"response_type": "code", "client_id": "anyone"})
        assert page.status_code == 503 and "people.db" in page.text
        # The bearer check on /mcp reads the store before any route runs: the same 503 with the fix, not a bare 500.
        bearer = {"Authorization": "Bearer anything", "Accept": "application/json, text/event-stream"}
        called = http.post("/mcp", headers=bearer, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert called.status_code == 503, called.text
        assert "people.db" in called.json()["error_description"] and called.headers["retry-after"] == "30"


def test_a_persons_trakt_token_is_refreshed_once_however_many_calls_wait_on_it(setup: Setup) -> None:
    server, fake = setup.server, setup.fake
    with server.http() as http:
        alice = signed_in(server, http, register(http, CALLBACK)["client_id"], "alice")
    stale = trakt_token_of(fake, "alice")
    stale.expires_at = 0  # Trakt now answers 401 to it: the server must refresh, once for all waiting calls
    before = len([c for c in fake.calls_to("POST", "/oauth/token") if c.body.get("grant_type") == "refresh_token"])

    def watchlist(_: int) -> str:
        with server.http() as own:
            return tool_text(call_tool(own, alice["access_token"], "fetch_user_watchlist"))

    with ThreadPoolExecutor(6) as pool:
        lists = list(pool.map(watchlist, range(6)))
    assert all("Spirited Away" in text for text in lists), lists
    refreshes = [c for c in fake.calls_to("POST", "/oauth/token") if c.body.get("grant_type") == "refresh_token"]
    assert len(refreshes) - before == 1, "single-flight per person"
    assert refreshes[-1].body["refresh_token"] == stale.refresh_token
    assert refreshes[-1].body["redirect_uri"] == f"{server.base}/oauth/trakt/callback"
    fresh = trakt_token_of(fake, "alice")
    with sqlite3.connect(server.home / "people.db") as db:
        (sealed,) = db.execute("SELECT trakt_token FROM people WHERE username = 'alice'").fetchone()
    assert json.loads(load_sealer(server.home, environ={}).open(bytes(sealed), "alice"))["access_token"] == (
        fresh.access_token
    ), "the refreshed pair is what is stored, sealed"


def people_command(setup: Setup, *argv: str) -> subprocess.CompletedProcess[str]:
    """`trakt-mcp people ...` as the operator runs it beside the server, on its state folder and Trakt app."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("TRAKT_")}
    env = {**inherited, **setup.env, "TRAKT_MCP_HOME": str(setup.server.home)}
    command = [sys.executable, "-m", "trakt_mcp", "people", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_the_operator_lists_the_people_and_logs_one_out_from_the_command_line(setup: Setup) -> None:
    server, fake = setup.server, setup.fake
    with server.http() as http:
        client_id = register(http, CALLBACK)["client_id"]
        bob = signed_in(server, http, client_id, "bob", ["read"])
        assert "The Dark Knight" in tool_text(call_tool(http, bob["access_token"], "fetch_user_watchlist"))
        bob_trakt = trakt_token_of(fake, "bob")
        listed = people_command(setup, "list")
        assert listed.returncode == 0, listed.stderr
        [row] = [line.split() for line in listed.stdout.splitlines() if line.startswith("bob ")]
        assert row[:3] == ["bob", "signed", "in"] and row[-1] == "read", listed.stdout
        assert bob_trakt.access_token not in listed.stdout + listed.stderr

        unknown = people_command(setup, "log-out", "nobody")
        assert (
            unknown.returncode == 1
            and "nobody named 'nobody'" in unknown.stderr
            and "Nothing changed" in unknown.stderr
        )
        assert call_tool(http, bob["access_token"], "fetch_user_watchlist").status_code == 200

        before = len(fake.calls_to("POST", "/oauth/revoke"))
        out = people_command(setup, "log-out", "bob")
        assert out.returncode == 0, out.stderr
        assert "bob is logged out: their Trakt token was revoked at Trakt and removed" in out.stdout, out.stdout
        assert [call.body["token"] for call in fake.calls_to("POST", "/oauth/revoke")][before:] == [
            bob_trakt.access_token
        ]
        assert call_tool(http, bob["access_token"], "fetch_user_watchlist").status_code == 401, "at once, in the server"
        relisted = people_command(setup, "list").stdout
        [row] = [line.split() for line in relisted.splitlines() if line.startswith("bob ")]
        assert row == ["bob", "signed", "out", "-", "-"], relisted
