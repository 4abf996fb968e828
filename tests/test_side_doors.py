"""Side doors: under a policy that hides everything and one that denies everything, every MCP method a client can
send — tools, resources, templates, prompts, completions, logging, ping, MCP Apps card reads, app-only tools — in
both protocol eras, over stdio and over HTTP, causes zero requests to the fake Trakt. Real `trakt-mcp` processes,
signed in to a fake Trakt on loopback that counts every request; prints `side doors: N tried, N held`."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters, types
from mcp.shared.exceptions import MCPError

from tests.apps_support import AppsHost
from tests.process_support import (
    fake_trakt,
    http_client,
    http_server,
    owner_token,
    signed_in,
    trakt_environment,
    write_json,
)
from tests.schema_strategies import from_schema
from tests.test_fuzz import draw
from trakt_mcp.apps.html import CARD_TITLES
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.server.prompts import PROMPTS
from trakt_mcp.server.resources import RESOURCES, TEMPLATES
from trakt_mcp.tools import all_tools
from trakt_mcp.tools.spec import published_schema

POLICIES: dict[str, dict[str, Any]] = {
    "hide-all": {"version": "1", "default": "allow", "hide": ["*"]},
    "deny-all": {"version": "1", "default": "deny"},
}
#: Sample values for template variables and prompt arguments (each would reach Trakt if a door were open).
SAMPLES = {"show_id": "breaking-bad", "movie_id": "dune", "season": "1", "language": "es", "period": "weekly"}
TYPED = "breaking"

Attempt = Callable[[Client], Awaitable[Any]]


@contextmanager
def signed_in_home(tmp_path: Path, policy: dict[str, Any]) -> Iterator[tuple[FakeTrakt, dict[str, str], Path]]:
    """A fake Trakt on loopback, a state folder signed in to it, and a policy file: (fake, environment, policy)."""
    home = tmp_path / "home"
    with fake_trakt() as (fake, api):
        signed_in(fake, home)
        yield fake, trakt_environment(home, api), write_json(tmp_path / "policy.json", policy)


def attempts() -> list[tuple[str, Attempt]]:
    """Every request a client can send, once each, with arguments that would reach Trakt if nothing stopped them."""
    tried: list[tuple[str, Attempt]] = [
        ("ping", lambda c: c.send_ping()),
        ("tools/list", lambda c: c.list_tools()),
        ("resources/list", lambda c: c.list_resources()),
        ("resources/templates/list", lambda c: c.list_resource_templates()),
        ("prompts/list", lambda c: c.list_prompts()),
        ("logging/setLevel", lambda c: c.set_logging_level("debug")),
    ]
    for spec in all_tools():
        [arguments] = draw(from_schema(published_schema(spec.args)), 1)
        tried.append((f"tools/call {spec.name}", lambda c, n=spec.name, a=arguments: c.call_tool(n, a)))
    tried.append(
        ("tools/call answer_approval", lambda c: c.call_tool("answer_approval", {"nonce": "x", "allow": True}))
    )
    for resource in RESOURCES:
        tried.append((f"resources/read {resource.uri}", lambda c, u=resource.uri: c.read_resource(u)))
    for template in TEMPLATES:
        uri = template.uri.format(**SAMPLES)
        tried.append((f"resources/read {uri}", lambda c, u=uri: c.read_resource(u)))
        for variable in SAMPLES:
            if f"{{{variable}}}" in template.uri:
                ref = types.ResourceTemplateReference(type="ref/resource", uri=template.uri)
                argument = {"name": variable, "value": TYPED if variable.endswith("_id") else ""}
                context = {"show_id": SAMPLES["show_id"]}
                tried.append(
                    (
                        f"completion/complete {template.uri} {variable}",
                        lambda c, r=ref, a=argument, x=context: c.complete(r, a, x),
                    )
                )
    for prompt in PROMPTS:
        values = {a.name: (a.choices[0] if a.choices else TYPED) for a in prompt.arguments}
        tried.append((f"prompts/get {prompt.name}", lambda c, n=prompt.name, v=values: c.get_prompt(n, v)))
        for argument in prompt.arguments:
            ref = types.PromptReference(type="ref/prompt", name=prompt.name)
            typed = {"name": argument.name, "value": TYPED}
            tried.append(
                (f"completion/complete {prompt.name} {argument.name}", lambda c, r=ref, a=typed: c.complete(r, a))
            )
    for uri in CARD_TITLES:
        tried.append((f"resources/read {uri}", lambda c, u=uri: c.read_resource(u)))
    return tried


async def knock(client: Client, fake: FakeTrakt, where: str, tally: dict[str, int]) -> list[str]:
    """Try every door; count them in `tally` and return the ones that let a request through to Trakt."""
    opened = []
    for name, attempt in attempts():
        before = len(fake.calls)
        with contextlib.suppress(Exception):  # a refusal as an error is a door held
            await attempt(client)
        tally["tried"] += 1
        if len(fake.calls) == before:
            tally["held"] += 1
        else:
            opened.append(f"{where}: {name} -> {[f'{c.method} {c.path}' for c in fake.calls[before:]]}")
    return opened


async def reaches_trakt(client: Client, fake: FakeTrakt) -> bool:
    """Whether a plain chart call reaches the fake within 10 s (the server re-reads an edited policy)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(MCPError):  # hidden until the edit is read: an unknown tool
            result = await client.call_tool("fetch_trending_shows", {})
            if not result.is_error and fake.calls:
                return True
        await anyio.sleep(0.2)
    return False


async def knock_everywhere(tmp_path: Path, policy_name: str) -> tuple[dict[str, int], list[str]]:
    """Every door, both eras, stdio and HTTP, under one of POLICIES: the tally and the doors that opened. Ends with
    the control: the same server, once the policy allows, does reach the fake Trakt (else AssertionError)."""
    opened: list[str] = []
    tally = {"tried": 0, "held": 0}
    with signed_in_home(tmp_path, POLICIES[policy_name]) as (fake, env, policy):
        for mode in ("legacy", "auto"):
            server = StdioServerParameters(
                command=sys.executable, args=["-m", "trakt_mcp", "--policy", str(policy)], env=env
            )
            async with Client(server, mode=mode, extensions=[AppsHost()]) as client:  # type: ignore[arg-type]
                opened += await knock(client, fake, f"stdio {mode}", tally)
        async with http_server(env, "--policy", str(policy), log=tmp_path / "server.log") as url:
            token = owner_token(env)
            for mode in ("legacy", "auto"):
                async with http_client(url, token, mode=mode, extensions=[AppsHost()]) as client:
                    opened += await knock(client, fake, f"http {mode}", tally)
            quiet = fake.calls == []
            policy.write_text(json.dumps({"version": "1", "default": "allow"}))
            async with http_client(url, token) as client:
                assert await reaches_trakt(client, fake), (tmp_path / "server.log").read_text()
    assert quiet or opened, "requests reached the fake Trakt outside any door tried"
    return tally, opened


@pytest.mark.parametrize("policy_name", list(POLICIES))
async def test_no_method_reaches_trakt_under_a_policy_that_allows_nothing(
    tmp_path: Path, policy_name: str, figure: Callable[[str], None]
) -> None:
    tally, opened = await knock_everywhere(tmp_path, policy_name)
    figure(f"side doors ({policy_name}): {tally['tried']} tried, {tally['held']} held")  # shown in every run, CI's too
    assert opened == []
    assert tally["tried"] == tally["held"] > 0
