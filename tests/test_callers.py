"""Per caller, not per server (issue 24, breaks 1, 3, 8 and 9), through real `trakt-mcp` HTTP processes and a fake
Trakt on loopback: a pending sign-in is the caller's own and an identity cannot reach the owner's; sessions are
capped per identity with a share kept for the owner; questions to the owner count against the caller; `--no-auth`
callers are untrusted and audited as such."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import types
from mcp.shared.exceptions import MCPError

from guard.calls import QUESTION_LIMITS
from guard.channels.desktop import TITLE
from tests.conftest import text_of
from tests.desktop_support import press, virtual_display, wait_for_window, windows
from tests.process_support import (
    audit_lines,
    fake_trakt,
    http_client,
    http_server,
    owner_token,
    signed_in,
    trakt_environment,
    write_json,
)
from trakt_mcp.http.sessions import SessionLimits, cap_sessions
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.routes.oauth import oauth_state

TOKENS = {name: secrets.token_urlsafe(24) for name in ("ann", "ben")}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
SIGN_IN_TOOLS = {"start_device_auth", "check_auth_status", "clear_auth"}


def identity(name: str, **layer: Any) -> dict[str, Any]:
    return {"token_sha256": hashlib.sha256(TOKENS[name].encode()).hexdigest(), **layer}


def user_code(text: str) -> str:
    found = re.search(r"\*\*([A-Z0-9]{8})\*\*", text)
    assert found, text
    return found.group(1)


class SaysYes:
    """An elicitation callback that approves whatever it is asked, as a hostile client would."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})


# --- 1. the sign-in is the caller's own --------------------------------------------------------------------------


async def test_an_identity_never_gets_completes_or_redirects_the_owners_sign_in(tmp_path: Path) -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "identities": {"ann": identity("ann"), "ben": identity("ben", rules={"@auth": {"action": "allow"}})},
    }
    home = tmp_path / "home"
    with fake_trakt() as (fake, api):
        oauth_state(fake).interval = 1
        env = trakt_environment(home, api)
        path = write_json(tmp_path / "policy.json", policy)
        async with http_server(env, "--policy", str(path), log=tmp_path / "server.log") as url:
            async with http_client(url, owner_token(env)) as owner:
                owners_code = user_code(text_of(await owner.call_tool("start_device_auth", {})))
            async with http_client(url, TOKENS["ann"]) as ann:
                listed = {tool.name for tool in (await ann.list_tools()).tools}
                assert not listed & SIGN_IN_TOOLS
                for tool in SIGN_IN_TOOLS:
                    with pytest.raises(MCPError, match="Unknown tool"):
                        await ann.call_tool(tool, {})
                with pytest.raises(MCPError):
                    await ann.read_resource("trakt://user/auth/status")
            async with http_client(url, TOKENS["ben"]) as ben:  # the policy opened the sign-in tools to ben
                started = text_of(await ben.call_tool("start_device_auth", {}))
                assert owners_code not in started and user_code(started) != owners_code
                approve(fake, owners_code)
                await anyio.sleep(1.2)
                checked = text_of(await ben.call_tool("check_auth_status", {}))
                assert "Signed in" not in checked, checked
            async with http_client(url, owner_token(env)) as owner:
                assert "Signed in" in text_of(await owner.call_tool("check_auth_status", {}))
    polled = [call.body.get("code") for call in fake.calls_to("POST", "/oauth/device/token")]
    owners_device = device_code_of(fake, owners_code)
    assert polled.count(owners_device) == 1  # the owner's own check, and nobody else's
    refused = [line["decision"] for line in audit_lines(home) if line.get("identity") == "ann"]
    assert refused == ["hidden"] * (len(SIGN_IN_TOOLS) + 1)  # three calls and the sign-in status resource


def approve(fake: FakeTrakt, code: str) -> None:
    [found] = [entry for entry in oauth_state(fake).codes.values() if entry.user_code == code]
    found.status = "approved"


def device_code_of(fake: FakeTrakt, code: str) -> str:
    [found] = [device for device, entry in oauth_state(fake).codes.items() if entry.user_code == code]
    return found


# --- 3. sessions --------------------------------------------------------------------------------------------------


async def test_an_identity_cannot_hold_the_owners_sessions(tmp_path: Path) -> None:
    limits = SessionLimits()
    policy = {
        "version": "1",
        "default": "allow",
        "identities": {
            "ann": identity("ann", rules={"@read": {"action": "allow", "rate_limit": {"max": 5, "window": "day"}}})
        },
    }
    with fake_trakt() as (_, api):
        env = trakt_environment(tmp_path / "home", api)
        path = write_json(tmp_path / "policy.json", policy)
        async with (
            http_server(env, "--policy", str(path), log=tmp_path / "server.log") as url,
            httpx.AsyncClient(timeout=30) as http,
        ):

            async def open_session(token: str) -> int:
                headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
                return (await http.post(url, json=INITIALIZE, headers=headers)).status_code

            opened = [await open_session(TOKENS["ann"]) for _ in range(limits.per_identity + 3)]
            assert opened == [200] * limits.per_identity + [503] * 3
            assert await open_session(owner_token(env)) == 200
    assert "identity ann holds 16" in (tmp_path / "server.log").read_text()


def test_identities_together_leave_the_owners_share() -> None:
    """The cap on all identities together (total - owner_share), and the owner's use of the whole total."""

    class Manager:
        def __init__(self) -> None:
            self._session_owners: dict[str, Any] = {}
            self._server_instances: dict[str, Any] = {}
            self.max_sessions = None

        def _admit_session(self, requestor: Any) -> Any:
            if self.max_sessions is not None and len(self._server_instances) >= self.max_sessions:
                return None
            key = str(len(self._server_instances))
            self._server_instances[key] = object()
            if requestor is not None:
                self._session_owners[key] = requestor
            return key

    manager = Manager()
    limits = SessionLimits(total=10, per_identity=3, owner_share=4)
    cap_sessions(manager, limits, lambda requestor: None if requestor == "owner" else requestor)
    admitted = [manager._admit_session(name) for name in ("a", "a", "a", "a", "b", "b", "b", "c", "c")]
    assert [bool(one) for one in admitted] == [True, True, True, False, True, True, True, False, False]
    assert all(manager._admit_session("owner") for _ in range(4))  # 6 + 4: the total
    assert manager._admit_session("owner") is None


# --- 8. questions to the owner -----------------------------------------------------------------------------------


@pytest.mark.alone  # it paces real dialogs against a window of seconds: no other test competes for the CPU meanwhile
async def test_questions_to_the_owner_count_against_the_caller(tmp_path: Path) -> None:
    """An identity allowed one call a day once put 43 dialogs on the owner's screen in 30 s: each question now
    counts against it, and past QUESTION_LIMITS it is refused without a dialog."""
    limit = QUESTION_LIMITS[0]
    confirm = {"add_user_watchlist": {"action": "confirm", "rate_limit": {"max": 1, "window": "day"}}}
    policy = {"version": "1", "default": "allow", "rules": confirm, "identities": {"ann": identity("ann")}}
    home = tmp_path / "home"
    answers: list[str] = []
    with virtual_display() as display, fake_trakt() as (fake, api):
        signed_in(fake, home)
        env = trakt_environment(home, api, DISPLAY=display)
        path = write_json(tmp_path / "policy.json", policy)
        async with (
            http_server(env, "--policy", str(path), log=tmp_path / "server.log") as url,
            http_client(url, TOKENS["ann"], elicitation_callback=SaysYes()) as ann,
        ):
            for n in range(limit.max + 2):
                arguments = {"watchlist_type": "movies", "items": [{"trakt_id": str(n + 1)}]}
                async with anyio.create_task_group() as group:

                    async def call(arguments: dict[str, Any] = arguments) -> None:
                        answers.append(text_of(await ann.call_tool("add_user_watchlist", arguments)))
                        group.cancel_scope.cancel()

                    group.start_soon(call)
                    if n < limit.max:  # the owner denies each dialog (Return: Deny is the default button)
                        window, _ = await anyio.to_thread.run_sync(wait_for_window, display, TITLE)
                        await anyio.to_thread.run_sync(functools.partial(press, display, window, "Return"))
                    await anyio.sleep_forever()
            shown_after = windows(display, TITLE)
    assert all("denied" in answer for answer in answers[: limit.max]), answers
    refused = f"asked the owner {limit.max} questions in {limit.window:g} s"
    assert all(refused in answer for answer in answers[limit.max :]), answers
    assert shown_after == []
    assert not fake.calls_to("POST", "/sync/watchlist")
    decided = [line["decision"] for line in audit_lines(home) if line.get("identity") == "ann"]
    assert decided == ["declined"] * limit.max + ["denied"] * 2


# --- 9. --no-auth ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trusted", [False, True])
async def test_no_auth_callers_cannot_approve_their_own_calls_unless_the_owner_says_so(
    tmp_path: Path, trusted: bool
) -> None:
    confirm = {"add_user_watchlist": {"action": "confirm", "reason": "changes the watchlist"}}
    home = tmp_path / "home"
    flags = ["--no-auth", *(["--trust-unauthenticated"] if trusted else [])]
    says_yes = SaysYes()
    with fake_trakt() as (fake, api):
        signed_in(fake, home)
        env = trakt_environment(home, api)
        path = write_json(tmp_path / "policy.json", {"version": "1", "default": "allow", "rules": confirm})
        async with (
            http_server(env, "--policy", str(path), *flags, log=tmp_path / "server.log") as url,
            http_client(url, None, elicitation_callback=says_yes) as caller,
        ):
            arguments = {"watchlist_type": "movies", "items": [{"trakt_id": "120"}]}
            answer = await caller.call_tool("add_user_watchlist", arguments)
    [line] = [line for line in audit_lines(home) if line["tool"] == "add_user_watchlist"]
    if trusted:
        assert not answer.is_error and says_yes.asked
        assert (line["identity"], line["decision"], line["channel"]) == (None, "confirmed", "host")
        assert fake.calls_to("POST", "/sync/watchlist")
    else:
        assert says_yes.asked == [] and "trakt-mcp approve" in text_of(answer)
        assert (line["identity"], line["decision"]) == ("(unauthenticated)", "approval_pending")
        assert not fake.calls_to("POST", "/sync/watchlist")


def test_help_says_what_no_auth_gives_away() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "trakt_mcp", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    flat = " ".join(shown.split())
    assert "every account on this machine can use your Trakt account" in flat
    assert "--trust-unauthenticated" in flat and "approve its own calls" in flat
