"""The one gate (guard.gate, trakt_mcp.trakt.gate): nothing reaches Trakt for a caller unless the guard admitted it,
and an admission reaches only the endpoints of the tool it names. Structural checks on the source, then the gate
itself with the fake Trakt counting what arrives."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trakt_mcp
from guard.gate import Admission, Refused, admitted, admitting, owner, use
from tests.conftest import Session
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.server.build import trakt_gate
from trakt_mcp.trakt.client import endpoint
from trakt_mcp.trakt.gate import Ungated

PACKAGE = Path(trakt_mcp.__file__).parent
#: Only the owner's own terminal commands run outside any caller's request (guard.gate.owner).
OWNER_MODULES = ("trakt_mcp.cli",)
#: The one place the Trakt client is made, with the gate.
CLIENT_MAKERS = ("trakt_mcp.server.build",)
#: Ways to reach the network around the Trakt client: httpx's clients and one-shot requests, urllib.
HTTPX_CALLS = frozenset({"AsyncClient", "Client", "get", "post", "put", "patch", "delete", "request", "stream"})


def modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = ".".join(("trakt_mcp", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        found.append((dotted, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def calls_to(tree: ast.Module, name: str) -> list[ast.Call]:
    def named(func: ast.expr) -> str | None:
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None

    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and named(node.func) == name]


def network_calls(tree: ast.Module) -> list[ast.Call]:
    def reaches_out(func: ast.expr) -> bool:
        if not isinstance(func, ast.Attribute):
            return isinstance(func, ast.Name) and func.id == "urlopen"
        on_httpx = isinstance(func.value, ast.Name) and func.value.id == "httpx"
        return (on_httpx and func.attr in HTTPX_CALLS) or func.attr == "urlopen"

    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and reaches_out(node.func)]


def test_only_the_owners_terminal_commands_open_the_gate_wide() -> None:
    """`owner()` admits everything: code serving a caller (tools, resources, prompts, completions, cards, the
    server) must never use it, or it would be a side door."""
    offenders = [
        f"{dotted}:{call.lineno}"
        for dotted, tree in modules()
        if not dotted.startswith(OWNER_MODULES)
        for call in calls_to(tree, "owner")
    ]
    assert offenders == []


def test_the_trakt_client_is_made_in_one_place_and_always_with_the_gate() -> None:
    made = [(dotted, call) for dotted, tree in modules() for call in calls_to(tree, "TraktClient")]
    assert [dotted for dotted, _ in made] == list(CLIENT_MAKERS)
    assert all(any(k.arg == "gate" for k in call.keywords) for _, call in made)
    http_clients = [dotted for dotted, tree in modules() for _ in network_calls(tree)]
    # The Trakt client's own connection (behind GatedTransport), and the multi-user server's fetch of an MCP client's
    # metadata document (a URL the client names, never Trakt).
    assert http_clients == ["trakt_mcp.remote.client_documents", "trakt_mcp.trakt.client"]


def test_every_tool_declares_where_it_may_go() -> None:
    from trakt_mcp.tools import all_tools

    assert [spec.name for spec in all_tools() if not spec.endpoints and not spec.offline] == []
    assert [spec.name for spec in all_tools() if spec.offline and spec.endpoints] == []


async def test_nothing_is_sent_outside_an_admission(app: App, fake: FakeTrakt) -> None:
    with pytest.raises(Ungated, match="outside any request the guard judged"):
        await app.client.get(endpoint("shows", "trending"))
    with pytest.raises(Ungated):  # the sign-in shares the client's connection: gated too
        await app.auth.start_device()
    assert fake.calls == []


async def test_an_admission_reaches_only_its_own_tools_endpoints(app: App, fake: FakeTrakt) -> None:
    with admitting(Admission("fetch_user_watchlist", None, "call")):
        with pytest.raises(Ungated, match="as fetch_user_watchlist"):
            await app.client.get(endpoint("shows", "breaking-bad", "progress", "watched"), auth=True)
        with pytest.raises(Ungated):  # nor a cached public answer: the check comes before the cache
            await app.client.get(endpoint("shows", "trending"))
    assert fake.calls == []
    with admitting(Admission("fetch_trending_shows", None, "call")):
        assert (await app.client.get(endpoint("shows", "trending"))).status == 200
    assert [call.path for call in fake.calls] == ["/shows/trending"]
    assert admitted() is None


async def test_asking_about_a_call_may_only_read() -> None:
    gate = trakt_gate()
    asking = Admission("remove_user_watchlist", None, "ask")
    assert gate.allows(asking, "GET", "/movies/dune")
    assert not gate.allows(asking, "POST", "/sync/watchlist/remove")
    assert gate.allows(Admission("fetch_history", None, "call"), "GET", "/sync/history")
    assert gate.allows(Admission("fetch_history", None, "call"), "GET", "/sync/history/movies/12")
    assert not gate.allows(Admission("fetch_history", None, "call"), "GET", "/sync/history/movies/12/x")
    with owner("this test"):
        assert gate.allows(admitted(), "DELETE", "/anything")


async def test_a_use_outside_a_callers_request_is_refused() -> None:
    async with use("search_shows", {"query": "dune"}, "completion") as admission:
        assert isinstance(admission, Refused)
        assert admitted() is None


async def test_a_completion_is_judged_as_the_search_it_makes(session: Session, fake: FakeTrakt) -> None:
    from mcp import types

    async with session() as client:
        ref = types.PromptReference(type="ref/prompt", name="search_entertainment")
        found = await client.complete(ref, {"name": "query", "value": "breaking"})
        assert "breaking-bad" in found.completion.values
    assert {call.path for call in fake.calls} <= {"/search/show", "/search/movie"}
