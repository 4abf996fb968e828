"""The streamable HTTP transport, served for real on a loopback port and driven with the SDK's HTTP client:
bearer tokens of the policy's identities, per-identity tools and limits, Host/Origin checks, health, start-up
refusal, and `identity add`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from guard.policy import identity_for_token, parse_policy
from tests.conftest import text_of
from trakt_mcp.app import App
from trakt_mcp.cli import main as cli
from trakt_mcp.http.serve import HttpOptions, build_http_app, uvicorn_config
from trakt_mcp.server.build import build_server, create_app
from trakt_mcp.server.guarded import SharedWatcher, audit_path, build_catalog, load_engine, policy_in_force
from trakt_mcp.settings import Settings

TOKENS = {"alice": secrets.token_urlsafe(32), "bob": secrets.token_urlsafe(32), "carol": secrets.token_urlsafe(32)}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def digest(name: str) -> str:
    return hashlib.sha256(TOKENS[name].encode()).hexdigest()


def policy_with(**identities: dict[str, Any]) -> dict[str, Any]:
    """Everything allowed; search_shows at most once an hour (each identity has its own window)."""
    return {
        "version": "1",
        "default": "allow",
        "rules": {"search_shows": {"action": "allow", "rate_limit": {"max": 1, "window": "hour"}}},
        "identities": {name: {"token_sha256": digest(name), **grants} for name, grants in identities.items()},
    }


TWO_IDENTITIES = policy_with(
    alice={
        "hide": ["fetch_popular_*"],
        "rules": {"fetch_trending_shows": {"action": "allow", "rate_limit": {"max": 1, "window": "hour"}}},
    },
    bob={"hide": ["fetch_trending_*"]},
)


def write_policy(path: Path, policy: dict[str, Any]) -> None:
    """Replace the file atomically (a new inode), so the watcher sees the edit."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(policy), encoding="utf-8")
    os.replace(temporary, path)


@dataclass
class Served:
    url: str
    base: str
    port: int
    app: App
    policy_path: Path | None

    def audit_text(self) -> str:
        path = audit_path(self.app.settings)
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def audit(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit_text().splitlines()]


@contextmanager
def serve(home: Path, policy: dict[str, Any] | None, host: str = "127.0.0.1", **extra: Any) -> Iterator[Served]:
    """The real server (sandbox Trakt, the real policy file) on a free loopback port, in a background thread.
    `host` is what the server believes it is bound to (the socket is always loopback)."""
    policy_path = None
    if policy is not None:
        policy_path = home / "policy.json"
        home.mkdir(parents=True, exist_ok=True)
        write_policy(policy_path, policy)
    settings = Settings.load({"sandbox": True, "home": home, "policy": policy_path})
    app = create_app(settings)
    server = build_server(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = HttpOptions(host, port, **extra)
    asgi = build_http_app(server, options, policy_in_force(app))
    runner = uvicorn.Server(uvicorn_config(asgi, options, lifespan="on"))
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the HTTP server did not start"
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    try:
        yield Served(f"{base}/mcp", base, port, app, policy_path)
    finally:
        runner.should_exit = True
        thread.join(timeout=10)
        sock.close()


@asynccontextmanager
async def mcp_client(
    url: str, token: str | None = None, mode: str = "legacy", message_handler: Any = None
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    with anyio.fail_after(15):
        async with (
            create_mcp_http_client(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode, message_handler=message_handler) as client,
        ):
            yield client


async def tool_names(url: str, token: str | None, mode: str = "legacy") -> set[str]:
    async with mcp_client(url, token, mode) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


def post_initialize(served: Served, token: str | None = None, **headers: str) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(served.url, json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=10)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("http"), TWO_IDENTITIES) as served:
        yield served


# --- bearer tokens ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "not-a-known-token", TOKENS["carol"]], ids=["none", "unknown", "undeclared"])
def test_a_request_without_a_known_token_gets_401_with_www_authenticate(guarded: Served, token: str | None) -> None:
    response = post_initialize(guarded, token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "mcp-session-id" not in response.headers
    assert TOKENS["alice"] not in response.text


def test_a_malformed_authorization_header_gets_401(guarded: Served) -> None:
    response = httpx.post(
        guarded.url, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": TOKENS["alice"]}, timeout=10
    )
    assert response.status_code == 401


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_client_without_a_token_cannot_connect(guarded: Served, mode: str) -> None:
    with pytest.raises(BaseExceptionGroup) as caught:
        await tool_names(guarded.url, None, mode)
    assert caught.group_contains(MCPError, match="error response", depth=None)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_each_identity_sees_its_own_tools(guarded: Served, mode: str) -> None:
    alice = await tool_names(guarded.url, TOKENS["alice"], mode)
    bob = await tool_names(guarded.url, TOKENS["bob"], mode)
    assert "fetch_trending_shows" in alice and "fetch_popular_shows" not in alice
    assert "fetch_popular_shows" in bob and "fetch_trending_shows" not in bob
    assert "search_shows" in alice & bob


async def test_each_identity_has_its_own_limits_and_windows(guarded: Served) -> None:
    async with mcp_client(guarded.url, TOKENS["alice"]) as alice, mcp_client(guarded.url, TOKENS["bob"]) as bob:
        first = await alice.call_tool("fetch_trending_shows", {"limit": 1})
        second = await alice.call_tool("fetch_trending_shows", {"limit": 1})
        assert not first.is_error and second.is_error and "Rate limited" in text_of(second)
        for _ in range(2):  # bob has no limit on his own tool
            assert not (await bob.call_tool("fetch_popular_shows", {"limit": 1})).is_error
        with pytest.raises(MCPError, match="Unknown tool"):
            await bob.call_tool("fetch_trending_shows", {"limit": 1})

        # the top-level limit on search_shows counts each identity in its own window
        assert not (await alice.call_tool("search_shows", {"query": "breaking"})).is_error
        assert not (await bob.call_tool("search_shows", {"query": "breaking"})).is_error
        again = await alice.call_tool("search_shows", {"query": "breaking"})
        assert again.is_error and "Rate limited" in text_of(again)


async def test_audit_lines_name_the_identity(guarded: Served) -> None:
    async with mcp_client(guarded.url, TOKENS["alice"]) as alice, mcp_client(guarded.url, TOKENS["bob"]) as bob:
        await alice.call_tool("fetch_anticipated_shows", {"limit": 1})
        await bob.call_tool("fetch_anticipated_movies", {"limit": 1})
    lines = {entry["tool"]: entry for entry in guarded.audit()}
    assert lines["fetch_anticipated_shows"]["identity"] == "alice"
    assert lines["fetch_anticipated_movies"]["identity"] == "bob"
    assert all(token not in guarded.audit_text() for token in TOKENS.values())


async def test_a_session_stays_with_the_identity_that_opened_it(guarded: Served) -> None:
    opened = post_initialize(guarded, TOKENS["alice"])
    session = opened.headers["mcp-session-id"]
    listed = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    headers = {**MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
    as_bob = httpx.post(guarded.url, json=listed, headers={**headers, "Authorization": f"Bearer {TOKENS['bob']}"})
    assert as_bob.status_code == 404
    as_alice = httpx.post(guarded.url, json=listed, headers={**headers, "Authorization": f"Bearer {TOKENS['alice']}"})
    assert as_alice.status_code == 200


# --- Host / Origin (DNS rebinding) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "evil.example"}, 421), ({"Host": "evil.example:80"}, 421), ({"Origin": "http://evil.example"}, 403)],
)
def test_a_foreign_host_or_origin_is_refused(guarded: Served, headers: dict[str, str], status: int) -> None:
    response = post_initialize(guarded, TOKENS["alice"], **headers)
    assert response.status_code == status
    assert "mcp-session-id" not in response.headers


def test_the_servers_own_origin_is_accepted(guarded: Served) -> None:
    response = post_initialize(guarded, TOKENS["alice"], Origin=f"http://localhost:{guarded.port}")
    assert response.status_code == 200


def test_extra_hosts_and_origins_extend_the_allow_list(tmp_path: Path) -> None:
    with serve(
        tmp_path, TWO_IDENTITIES, allowed_hosts=("mcp.example.com",), allowed_origins=("https://mcp.example.com",)
    ) as served:
        proxied = post_initialize(served, TOKENS["bob"], Host="mcp.example.com", Origin="https://mcp.example.com")
        other = post_initialize(served, TOKENS["bob"], Host="other.example.com")
    assert proxied.status_code == 200
    assert other.status_code == 421


# --- health ----------------------------------------------------------------------------------------------------


def test_health_answers_without_a_token_and_without_secrets(guarded: Served) -> None:
    response = httpx.get(f"{guarded.base}/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["auth"] == "bearer"
    assert not any(token in response.text or digest(name) in response.text for name, token in TOKENS.items())


# --- hot reload ------------------------------------------------------------------------------------------------


async def test_a_policy_edit_adds_and_revokes_identities(tmp_path: Path) -> None:
    with serve(tmp_path, TWO_IDENTITIES) as served:
        assert served.policy_path is not None
        assert post_initialize(served, TOKENS["carol"]).status_code == 401
        write_policy(served.policy_path, policy_with(bob={}, carol={"hide": ["search_*"]}))
        deadline = time.monotonic() + 5  # the watcher looks at the file at most once a second
        while post_initialize(served, TOKENS["carol"]).status_code != 200:
            assert time.monotonic() < deadline, "the new identity was not picked up"
            await anyio.sleep(0.1)
        assert post_initialize(served, TOKENS["alice"]).status_code == 401
        assert "search_shows" not in await tool_names(served.url, TOKENS["carol"])


async def test_a_policy_edit_is_announced_to_every_open_client_not_only_the_one_whose_request_found_it(
    tmp_path: Path,
) -> None:
    notices: list[str] = []

    async def on_message(message: Any) -> None:
        notices.append(repr(message))

    with serve(tmp_path, policy_with(alice={}, bob={})) as served:
        assert served.policy_path is not None
        async with mcp_client(served.url, TOKENS["bob"], message_handler=on_message) as idle:
            assert "search_shows" in {tool.name for tool in (await idle.list_tools()).tools}
            write_policy(served.policy_path, policy_with(alice={}, bob={"hide": ["search_*"]}))
            deadline = time.monotonic() + 10  # the watcher looks at the file at most once a second
            while not any("tools/list_changed" in notice for notice in notices):
                assert time.monotonic() < deadline, f"bob's open client was not told: {notices}"
                assert "search_shows" in await tool_names(served.url, TOKENS["alice"])  # alice's requests find it
                await anyio.sleep(0.2)
            assert "search_shows" not in {tool.name for tool in (await idle.list_tools()).tools}


async def test_beyond_loopback_a_token_is_required_even_when_a_reload_removes_every_identity(tmp_path: Path) -> None:
    with serve(tmp_path, TWO_IDENTITIES, host="0.0.0.0") as served:
        assert served.policy_path is not None
        write_policy(served.policy_path, {"version": "1", "default": "allow"})
        deadline = time.monotonic() + 5
        while post_initialize(served, TOKENS["alice"]).status_code != 401:
            assert time.monotonic() < deadline, "the edit was not picked up"
            await anyio.sleep(0.1)
        assert post_initialize(served).status_code == 401
        assert httpx.get(f"{served.base}/health", timeout=10).json()["auth"] == "bearer"


def test_a_reload_the_bearer_check_picks_up_is_still_announced_by_the_guard(tmp_path: Path) -> None:
    policy_path = tmp_path / "policy.json"
    write_policy(policy_path, TWO_IDENTITIES)
    settings = Settings.load({"sandbox": True, "home": tmp_path, "policy": policy_path})
    catalog = build_catalog(None)
    now = [0.0]
    watcher = SharedWatcher(lambda: load_engine(settings, catalog), policy_path, clock=lambda: now[0])
    write_policy(policy_path, policy_with(bob={"hide": ["search_*"]}))
    now[0] += 2
    assert set(watcher.policy().identities) == {"bob"}  # the HTTP check reloads first...
    assert watcher.current()[1] is True  # ...and the guard still learns that the visible tools changed
    assert watcher.current()[1] is False


# --- loopback without identities ------------------------------------------------------------------------------


async def test_loopback_without_identities_serves_the_local_user_with_the_owners_token(tmp_path: Path) -> None:
    owner = secrets.token_urlsafe(32)
    with serve(tmp_path, None, local_token=owner) as served:
        assert post_initialize(served).status_code == 401
        assert post_initialize(served, TOKENS["alice"]).status_code == 401
        async with mcp_client(served.url, owner) as client:
            result = await client.call_tool("fetch_trending_shows", {"limit": 1})
        assert not result.is_error
        assert httpx.get(f"{served.base}/health", timeout=10).json()["auth"] == "bearer"
        expected = [("fetch_trending_shows", None)]  # the owner's own token: the local user
        assert [(entry["tool"], entry["identity"]) for entry in served.audit()] == expected


async def test_loopback_with_no_auth_serves_callers_without_a_token_as_unauthenticated(tmp_path: Path) -> None:
    """Every account on the machine gets in: the audit names them (unauthenticated), not the owner (issue 24)."""
    with serve(tmp_path, None, no_auth=True) as served:
        async with mcp_client(served.url) as client:
            result = await client.call_tool("fetch_trending_shows", {"limit": 1})
        assert not result.is_error
        assert httpx.get(f"{served.base}/health", timeout=10).json()["auth"] == "none"
        assert post_initialize(served, Host="evil.example").status_code == 421
        expected = [("fetch_trending_shows", "(unauthenticated)")]
        assert [(entry["tool"], entry["identity"]) for entry in served.audit()] == expected


# --- start-up -------------------------------------------------------------------------------------------------


@pytest.fixture
def no_binding(monkeypatch: pytest.MonkeyPatch) -> list[uvicorn.Config]:
    """uvicorn never binds in these tests: a run records its configuration instead."""
    started: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: started.append(self.config))
    return started


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_a_non_loopback_bind_without_identities_is_refused(
    host: str, tmp_path: Path, no_binding: list[uvicorn.Config], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["--sandbox", "--home", str(tmp_path), "--transport", "streamable-http", "--host", host])
    assert code == 2
    assert not no_binding
    error = capsys.readouterr().err
    assert f"refusing to listen on {host}" in error and "identity add" in error


def test_a_non_loopback_bind_with_identities_starts(tmp_path: Path, no_binding: list[uvicorn.Config]) -> None:
    policy = tmp_path / "policy.json"
    write_policy(policy, TWO_IDENTITIES)
    argv = ["serve", "--sandbox", "--home", str(tmp_path), "--policy", str(policy), "--transport", "streamable-http"]
    assert cli.main([*argv, "--host", "0.0.0.0", "--port", "8123"]) == 0
    assert [(config.host, config.port) for config in no_binding] == [("0.0.0.0", 8123)]


def test_http_binds_loopback_by_default(tmp_path: Path, no_binding: list[uvicorn.Config]) -> None:
    assert cli.main(["--sandbox", "--home", str(tmp_path), "--transport", "streamable-http"]) == 0
    assert [config.host for config in no_binding] == ["127.0.0.1"]


def test_http_is_served_on_uvloop(tmp_path: Path, no_binding: list[uvicorn.Config]) -> None:
    """uvloop is a dependency for its lower CPU per call over HTTP (pyproject.toml): the loop uvicorn serves on."""
    import uvloop

    assert cli.main(["--sandbox", "--home", str(tmp_path), "--transport", "streamable-http"]) == 0
    (config,) = no_binding
    make_loop = config.get_loop_factory()
    assert make_loop is not None
    loop = make_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


# --- identity add ---------------------------------------------------------------------------------------------


def test_identity_add_prints_a_token_whose_digest_is_the_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["identity", "add", "laptop"]) == 0
    out = capsys.readouterr().out
    token = re.search(r"^\s+([A-Za-z0-9_-]{43})$", out, re.M)
    assert token is not None
    snippet = json.loads(out[out.index("{") :])
    entry = snippet["identities"]["laptop"]
    assert entry["token_sha256"] == hashlib.sha256(token.group(1).encode()).hexdigest()
    assert token.group(1) not in json.dumps(snippet)
    policy = parse_policy({"version": "1", **snippet})
    assert identity_for_token(policy, token.group(1)) == "laptop"
    assert identity_for_token(policy, token.group(1) + "x") is None

    assert cli.main(["identity", "add", "laptop"]) == 0
    assert token.group(1) not in capsys.readouterr().out  # a fresh token each time


def test_identity_add_rejects_a_bad_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["identity", "add", "no spaces"]) == 2
    assert "name 'no spaces' is not valid" in capsys.readouterr().err
