"""Multi-user mode across replicas (issue 23 with issue 21): three `trakt-mcp --public-url` replicas behind HAProxy
(deploy/haproxy.cfg) share one PostgreSQL for people, their sealed Trakt tokens, OAuth clients, codes and tokens.
A person who signs in through the balancer (each step landing on another replica) is known to every replica, and
signing out on one is seen by all; so is a grant the person changes or revokes on their account page; a question one
replica asks in the modern era may be answered through another."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any, cast

import httpx
import psycopg
import pytest

from tests.postgres_support import Cluster
from tests.remote_support import (
    CALLBACK,
    MCP_HEADERS,
    RemoteServer,
    call_tool,
    post_form,
    register,
    signed_in,
    tool_names,
    tool_text,
)
from tests.replica_support import Deployment, deployment

#: Which replica answered, in HAProxy's request log line (deploy/haproxy.cfg logs each request).
REPLICA = re.compile(r" trakt_mcp(?:_live)?/(replica\d) ")


@pytest.fixture(scope="module")
def deployed(postgres_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployment(tmp_path_factory.mktemp("people"), postgres_cluster.new_schema(), multi_user=True) as running:
        yield running


def on(replica_base: str, access_token: str, tool: str) -> httpx.Response:
    with httpx.Client(base_url=replica_base, timeout=30) as http:
        return call_tool(http, access_token, tool)


def tools_on(replica_base: str, access_token: str) -> set[str]:
    with httpx.Client(base_url=replica_base, timeout=30) as http:
        return tool_names(http, access_token)


def test_a_person_signed_in_through_one_replica_is_known_to_every_replica(deployed: Deployment) -> None:
    balancer = RemoteServer(deployed.base, deployed.folder, cast(Any, deployed.balancer))
    with balancer.http() as http:  # round robin: register, authorize, Trakt's callback and /token land apart
        client_id = register(http, CALLBACK)["client_id"]
        alice = signed_in(balancer, http, client_id, "alice")
    steps = ("POST /register", "GET /authorize", "GET /oauth/trakt/callback", "POST /token")
    log = (deployed.folder / "haproxy.log").read_text().splitlines()
    served = {match[1] for line in log if any(step in line for step in steps) if (match := REPLICA.search(line))}
    assert len(served) >= 2, log  # the sign-in's steps were answered by different replicas
    answers = [
        tool_text(on(replica.base, alice["access_token"], "fetch_user_watchlist")) for replica in deployed.replicas
    ]
    assert len(set(answers)) == 1 and "Your watchlist" in answers[0], answers
    (trakt,) = [issued for issued in deployed.fake.tokens.values() if issued.account == "alice"]
    with psycopg.connect(deployed.state) as connection:
        (sealed,) = connection.execute("SELECT trakt_token FROM people WHERE username = 'alice'").fetchone() or ()
        stored = b"".join(str(row).encode() for row in connection.execute("SELECT * FROM oauth_tokens").fetchall())
    assert trakt.access_token.encode() not in bytes(sealed), "her Trakt token is sealed in the shared database"
    assert alice["access_token"].encode() not in stored, "tokens we issued are kept by digest only"

    cleared = tool_text(on(deployed.replicas[0].base, alice["access_token"], "clear_auth"))
    assert "revoked at Trakt" in cleared, cleared
    refused = [on(replica.base, alice["access_token"], "fetch_user_watchlist") for replica in deployed.replicas]
    assert [answer.status_code for answer in refused] == [401, 401, 401]


def test_what_a_person_grants_changes_or_revokes_on_their_account_page_holds_on_every_replica(
    deployed: Deployment,
) -> None:
    balancer = RemoteServer(deployed.base, deployed.folder, cast(Any, deployed.balancer))
    with balancer.http() as http:  # the consent page, the account page and their posts land on different replicas
        bob = signed_in(balancer, http, register(http, CALLBACK)["client_id"], "bob", ["read"])
        listed = [tools_on(replica.base, bob["access_token"]) for replica in deployed.replicas]
        assert all("fetch_user_watchlist" in names and "add_user_ratings" not in names for names in listed)
        page = http.get("/account").text
        form = re.search(r'data-client="[^"]+">(.*?)</form>', page, re.S)
        assert form is not None, page
        fields = [
            (name, html.unescape(value))
            for name, value in re.findall(r'name="(csrf|client_id)" value="([^"]*)"', form.group(1))
        ]
        saved = post_form(
            http, "/account/apps", [*fields, ("capability", "read"), ("capability", "rate"), ("action", "save")]
        )
        assert saved.status_code == 303, saved.text
        listed = [tools_on(replica.base, bob["access_token"]) for replica in deployed.replicas]
        assert all("add_user_ratings" in names for names in listed), "every replica sees the new grant at once"
        gone = post_form(http, "/account/apps", [*fields, ("action", "disconnect")])
        assert gone.status_code == 303, gone.text
    refused = [on(replica.base, bob["access_token"], "fetch_user_watchlist") for replica in deployed.replicas]
    assert [answer.status_code for answer in refused] == [401, 401, 401]


def modern_call(replica_base: str, access_token: str, **params: Any) -> dict[str, Any]:
    """A 2026-07-28 tools/call to one replica from a client that can show URL-mode questions (no handshake)."""
    capabilities = {"elicitation": {"form": {}, "url": {}}}
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    }
    headers = {
        **MCP_HEADERS,
        "Authorization": f"Bearer {access_token}",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": str(params["name"]),
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {**params, "_meta": meta}}
    with httpx.Client(base_url=replica_base, timeout=30) as http:
        answer = http.post("/mcp", headers=headers, json=body)
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.text
    return cast(dict[str, Any], answer.json())


def test_a_question_one_replica_asks_in_the_modern_era_may_be_answered_through_another(deployed: Deployment) -> None:
    """The SDK seals the state a client carries between the rounds of a modern-era request; with a key of each
    process's own, a retry that the balancer sends to another replica would be refused as forged."""
    balancer = RemoteServer(deployed.base, deployed.folder, cast(Any, deployed.balancer))
    with balancer.http() as http:
        bob = signed_in(balancer, http, register(http, CALLBACK)["client_id"], "bob")["access_token"]
    call = {"name": "add_to_history", "arguments": {"history_type": "movies", "items": [{"trakt_id": "120"}]}}
    asked = modern_call(deployed.replicas[0].base, bob, **call)["result"]
    [(key, question)] = asked["inputRequests"].items()
    assert "/approvals/" in question["params"]["url"], question  # his approval page, never his client
    for replica in deployed.replicas[1:]:
        answer = {key: {"action": "accept"}}  # the client showed the link: only bob's page can allow it
        retried = modern_call(replica.base, bob, **call, requestState=asked["requestState"], inputResponses=answer)
        assert "error" not in retried, retried
        assert retried["result"]["isError"] and "not allowed yet" in retried["result"]["content"][0]["text"], retried
