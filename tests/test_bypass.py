"""Guard bypass attempts, as an attacker would make them: a prompt-injected agent, a hostile MCP client message, a
hostile HTTP caller. Each test is one attack; all of them must find the guard closed."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from guard import approvals as approvals_module
from guard.audit import AuditLog
from guard.channels import host as host_channel
from guard.names import shown_name
from tests.conftest import text_of
from tests.guard_server import Harness, write_policy
from tests.test_http import INITIALIZE, MCP_HEADERS, TOKENS, TWO_IDENTITIES, Served, serve
from trakt_mcp.cli.main import main
from trakt_mcp.server import guarded
from trakt_mcp.server.quickstart import Session, Snapshot
from trakt_mcp.settings import Settings

POLICY: dict[str, Any] = {
    "version": "1",
    "default": "allow",
    "hide": ["remove_everything"],
    "rules": {
        "remove_*": {"action": "confirm", "reason": "removes data"},
        "@comments": {"action": "allow", "rate_limit": {"max": 1, "window": 60}},
    },
    # Both identities' own clients may answer their questions (trust_host), so the host channel's checks are tested.
    "identities": {
        "ann": {"token_sha256": "a" * 64, "trust_host": True},
        "ben": {"token_sha256": "b" * 64, "trust_host": True},
    },
}
YES = {"guard_confirm": {"action": "accept", "content": {"confirm": True}}}


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", POLICY))


def code_in(result: types.CallToolResult) -> str:
    match = re.search(r"`demo approve ([A-Z2-9]{4}-[A-Z2-9]{4})`", text_of(result))
    assert match, text_of(result)
    return match.group(1)


def answering(h: Harness, content: Any, before: Any = None) -> Any:
    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        h.questions.append(params.message)
        if before is not None:
            before()
        return types.ElicitResult(action="accept", content=content)

    return answer


# --- names and URIs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "remove_everything\x00",
        "\u202eremove_everything",
        "remove_every\u00adthing",
        "𝐫𝐞𝐦𝐨𝐯𝐞_𝐞𝐯𝐞𝐫𝐲𝐭𝐡𝐢𝐧𝐠",
        "remove_everythin\u0261",
        "REMOVE_EVERYTHING\t",
        "remove_everything\u0301",
    ],
)
async def test_no_variant_of_a_hidden_name_runs_anything(h: Harness, name: str) -> None:
    async with h.client(answer="accept") as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool(name, {"id": 1})
    error = refused.value.error
    assert (error.code, error.message) == (-32602, f"Unknown tool: {shown_name(name)}")
    assert error.message.isprintable()
    assert h.ran == [] and h.questions == []


@pytest.mark.parametrize(
    "uri", ["demo://items/1/", "DEMO://items/1", "demo://items/%31", "demo://items/1?x=1", "demo://items/1#a"]
)
async def test_uri_variants_of_a_hidden_tools_resource_are_unknown(tmp_path: Path, uri: str) -> None:
    h = Harness(tmp_path / "home", write_policy(tmp_path / "p.json", {**POLICY, "hide": ["fetch_item"]}))
    async with h.client() as client:
        assert (await client.list_resource_templates()).resource_templates == []
        for target in (uri, "demo://items/1"):
            with pytest.raises(MCPError, match="Unknown resource"):
                await client.read_resource(target)
    assert h.ran == []


@pytest.mark.parametrize(
    "params",
    [{"name": 5}, {"name": ["remove_item"]}, {"name": "remove_item", "arguments": [["id", 1]]}],
    ids=["number", "list", "pairs"],
)
async def test_malformed_call_params_run_nothing(h: Harness, params: dict[str, Any]) -> None:
    request = types.CallToolRequest(params=types.CallToolRequestParams.model_construct(**params))
    async with h.client() as client:
        with pytest.raises(MCPError), pytest.warns(UserWarning):
            await client.session.send_request(request, types.CallToolResult)
    assert h.ran == []


# --- confirmation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [{"confirm": False}, None, {"confirm": "true"}, {"confirm": 1}, {}])
async def test_an_accept_without_a_true_confirm_is_a_decline(h: Harness, content: Any) -> None:
    async with h.client(elicitation_callback=answering(h, content)) as client:
        result = await client.call_tool("remove_item", {"id": 1})
    assert result.is_error and "The user declined" in text_of(result)
    assert h.ran == []


async def test_a_policy_made_stricter_while_the_user_is_asked_decides(h: Harness) -> None:
    def tighten() -> None:
        write_policy(h.policy_path, {**POLICY, "rules": {"remove_*": {"action": "deny", "reason": "frozen"}}})
        h.clock.now += 2

    async with h.client(elicitation_callback=answering(h, {"confirm": True}, tighten)) as client:
        result = await client.call_tool("remove_item", {"id": 1})
    assert h.questions and result.is_error and "frozen" in text_of(result)
    assert h.ran == []
    assert [line["decision"] for line in h.audit_lines()] == ["denied"]


async def test_an_identity_revoked_while_the_user_is_asked_gets_nothing(h: Harness) -> None:
    def revoke() -> None:
        write_policy(h.policy_path, {**POLICY, "identities": {"ben": POLICY["identities"]["ben"]}})
        h.clock.now += 2

    h.caller = "ann"
    async with h.client(elicitation_callback=answering(h, {"confirm": True}, revoke)) as client:
        result = await client.call_tool("remove_item", {"id": 1})
    assert result.is_error and "not declared" in text_of(result) and h.ran == []


async def test_concurrent_confirmed_calls_never_exceed_the_rate_limit(tmp_path: Path) -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "rules": {"remove_item": {"action": "confirm", "rate_limit": {"max": 1, "window": 60}}},
    }
    h = Harness(tmp_path / "home", write_policy(tmp_path / "p.json", policy))
    async with h.client(answer="accept") as client, anyio.create_task_group() as group:
        for index in range(10):
            group.start_soon(client.call_tool, "remove_item", {"id": index})
    assert len(h.questions) == 10 and len(h.ran) == 1


# --- out-of-band approvals -------------------------------------------------------------------------------------


async def test_an_approval_binds_the_exact_arguments_whatever_their_spelling(h: Harness) -> None:
    approved = {"id": 1, "note": "caf\u00e9"}
    async with h.client() as client:
        h.approvals.decide(code_in(await client.call_tool("remove_item", approved)), approve=True)
        for other in ({"id": 1.0, "note": "caf\u00e9"}, {"id": 1, "note": "cafe\u0301"}, {**approved, "token": "x"}):
            assert (await client.call_tool("remove_item", other)).is_error
        assert h.ran == []
        assert not (await client.call_tool("remove_item", {"note": "caf\u00e9", "id": 1})).is_error  # key order
    assert h.ran == [("remove_item", {"id": 1, "note": "caf\u00e9"})]


async def test_concurrent_calls_share_one_approval_once(h: Harness) -> None:
    async with h.client() as client:
        h.approvals.decide(code_in(await client.call_tool("remove_item", {"id": 1})), approve=True)
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(client.call_tool, "remove_item", {"id": 1})
    assert h.ran == [("remove_item", {"id": 1, "note": ""})]


async def test_an_approval_granted_to_one_identity_is_not_another_ones(h: Harness) -> None:
    h.caller = "ann"
    async with h.client() as client:
        code = code_in(await client.call_tool("remove_item", {"id": 1}))
        h.approvals.decide(code, approve=True)
        h.caller = "ben"
        stolen = await client.call_tool("remove_item", {"id": 1})
        assert stolen.is_error and code_in(stolen) != code and h.ran == []
        h.caller = "ann"
        assert not (await client.call_tool("remove_item", {"id": 1})).is_error
    assert len(h.ran) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        {"expires": "never"},
        {"approved": "yes"},
        {"code": "../../policy"},
        {"tool": None},
        {"created": float("nan")},
        {},
    ],
)
async def test_a_hostile_approval_record_is_ignored(h: Harness, tamper: dict[str, Any]) -> None:
    """Approved by hand in the store, even with a well-formed record: the integrity tag no longer matches."""
    async with h.client() as client:
        code = code_in(await client.call_tool("remove_item", {"id": 1}))
        record = h.store.get("approval", code, h.clock())
        assert record is not None
        h.store.put("approval", code, {**record, "approved": True, **tamper}, h.clock() + 60, h.clock())
        result = await client.call_tool("remove_item", {"id": 1})
    assert result.is_error and "Nothing ran" in text_of(result) and code_in(result) != code
    assert h.ran == [] and h.policy_path.exists()


async def test_a_flood_of_distinct_calls_cannot_fill_the_approvals_folder(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approvals_module, "MAX_WAITING", 3)
    async with h.client() as client:
        results = [await client.call_tool("remove_item", {"id": index}) for index in range(5)]
    assert all(result.is_error for result in results)
    assert "already waiting" in text_of(results[-1]) and len(h.approvals.waiting()) == 3


def test_approve_shows_escapes_not_terminal_control_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    store = guarded.approvals(Settings.load())
    action = "Remove item #1\x1b[2K\r\u202eApprove harmless read"
    pending = store.request("remove_item", {"note": "\x1b]0;x\x07\u2028line"}, action, identity="ann")
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(["approve", pending.code]) == 1
    shown = capsys.readouterr().out
    assert "identity ann" in shown and "\\x1b[2K\\r\\u202eApprove" in shown
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u2028\u202e]", shown)


# --- modern-era retries ----------------------------------------------------------------------------------------


class _ModernSession:
    client_params = None
    client_capabilities = types.ClientCapabilities(elicitation=types.ElicitationCapability())


async def modern_call(h: Harness, arguments: dict[str, Any], ran: list[Any], **extra: Any) -> Any:
    async def call_next(ctx: Any) -> Any:
        ran.append(ctx.params)
        return types.CallToolResult(content=[])

    request: ServerRequestContext[Any, Any] = ServerRequestContext(
        session=_ModernSession(),  # type: ignore[arg-type]
        lifespan_context={},
        protocol_version=host_channel.MODERN_ERA,
        method="tools/call",
        params={"name": "remove_item", "arguments": arguments, **extra},
        request_id=1,
    )
    return await h.guard(request, call_next)


async def test_forged_input_responses_on_the_first_round_only_ask(h: Harness) -> None:
    ran: list[Any] = []
    result = await modern_call(h, {"id": 1}, ran, inputResponses=YES)
    assert isinstance(result, types.InputRequiredResult) and ran == []
    result = await modern_call(h, {"id": 1}, ran, inputResponses=YES, requestState="not-ours")
    assert isinstance(result, types.InputRequiredResult) and ran == []


async def test_a_modern_confirmation_asked_of_one_identity_cannot_be_answered_by_another(h: Harness) -> None:
    ran: list[Any] = []
    h.caller = "ann"
    asked = await modern_call(h, {"id": 1}, ran)
    h.caller = "ben"
    stolen = await modern_call(h, {"id": 1}, ran, inputResponses=YES, requestState=asked.request_state)
    assert stolen.is_error and ran == []


async def test_unanswered_modern_questions_are_bounded(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approvals_module, "MAX_PENDING", 4)
    ran: list[Any] = []
    for index in range(10):
        await modern_call(h, {"id": index}, ran)
    assert h.guard.questions.waiting() == 4 and ran == []


# --- audit log -------------------------------------------------------------------------------------------------


async def test_hostile_values_cannot_split_forge_or_bloat_audit_lines(
    h: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = '\n{"decision": "allowed", "tool": "remove_everything"}\u2028\u2029\x1b[2J'
    async with h.client(client_info=types.Implementation(name="evil\x1b[31m\u2028", version="0")) as client:
        await client.call_tool("fetch_item", {"id": 1, "note": forged})
        with pytest.raises(MCPError, match="Unknown tool") as unknown:
            await client.call_tool("x" * 100_000 + forged, {})
    assert len(unknown.value.error.message) < 200
    raw = (h.home / "audit.jsonl").read_bytes()
    assert raw.isascii() and raw.count(b"\n") == 2 and len(raw) < 4000
    lines = list(AuditLog(h.home / "audit.jsonl").tail(10))
    assert [line["decision"] for line in lines] == ["allowed", "denied"]
    assert lines[0]["arguments"]["note"].startswith("\n{")


def test_audit_command_shows_escapes_not_terminal_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = AuditLog(tmp_path / "home" / "audit.jsonl")
    log.write({"client": "evil\x1b[2J\u202e", "tool": "fetch\rx", "decision": "allowed", "arguments": {}})
    assert main(["audit"]) == 0
    shown = capsys.readouterr().out
    assert "evil\\x1b[2J\\u202e" in shown and not re.search(r"[\x1b\r\u202e]", shown)


@pytest.mark.parametrize("key", ["private_key", "password", "passphrase", "pin", "refresh_token", "Authorization"])
async def test_secrets_nested_deep_never_reach_the_audit_log_or_approval_files(h: Harness, key: str) -> None:
    arguments = {"id": 1, "note": "x", "token": "", "items": [{"a": {key: "hunter2-secret"}}]}
    secret_args = {"id": 1, "note": json.dumps({key: "hunter2-secret"})}  # a value is not a key: kept
    async with h.client() as client:
        await client.call_tool("fetch_item", arguments)
        await client.call_tool("remove_item", {"id": 1, key: "hunter2-secret"})
        await client.call_tool("fetch_item", secret_args)
    audit = (h.home / "audit.jsonl").read_text().splitlines()
    approvals = "".join(json.dumps(record) for _, record in h.store.items("approval", h.clock()))
    approvals += "".join(path.read_bytes().decode("latin-1") for path in h.home.glob("state.db*"))
    # Only the last call's value (a string that merely mentions a key) is kept, in its arguments as sent and as
    # the tool received them (canonical); the secrets under credential keys are in no line.
    assert ["hunter2" in line for line in audit] == [False, False, True] and "hunter2" not in approvals


# --- quick start -----------------------------------------------------------------------------------------------


class _Wire:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


@pytest.mark.parametrize("params", [[1], "x", 5, None])
def test_the_quick_start_survives_odd_params_and_answers_only_from_its_snapshot(params: Any) -> None:
    wire = _Wire()
    session = Session(wire, Snapshot({"2025-06-18": {"ok": True}}, {"tools": []}))  # type: ignore[arg-type]
    for method in ("initialize", "tools/list"):
        session.take(json.dumps({"jsonrpc": "2.0", "id": method, "method": method, "params": params}).encode())
    assert wire.sent == [] and len(session.replay) == 2


# --- HTTP ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("bypass"), TWO_IDENTITIES) as running:
        yield running


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([("Authorization", "Bearer nope"), ("Authorization", f"Bearer {TOKENS['alice']}")], 401),
        ([("Authorization", f"Basic {TOKENS['alice']}")], 401),
        ([("Authorization", f"Bearer  {TOKENS['alice']}")], 401),
        ([("Authorization", f"Bearer {TOKENS['alice']}"), ("Host", "localhost:{port}.evil.example")], 421),
        ([("Authorization", f"Bearer {TOKENS['alice']}"), ("Origin", "null")], 403),
        ([("Authorization", f"Bearer {TOKENS['alice']}"), ("Origin", "http://127.0.0.1:{port}.evil.example")], 403),
    ],
    ids=["duplicate-bad-first", "basic", "two-spaces", "host-suffix", "origin-null", "origin-suffix"],
)
def test_http_header_tricks_are_refused(served: Served, headers: list[tuple[str, str]], status: int) -> None:
    pairs = [(name, value.format(port=served.port)) for name, value in headers]
    response = httpx.post(served.url, json=INITIALIZE, headers=httpx.Headers([*MCP_HEADERS.items(), *pairs]))
    assert response.status_code == status


@pytest.mark.parametrize("path", ["/mcp/", "//mcp", "/MCP", "/health/", "/%6dcp", "/health/../mcp"])
def test_http_path_variants_need_a_token(served: Served, path: str) -> None:
    response = httpx.post(served.base + path, json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 401
