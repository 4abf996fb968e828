"""Property-based: arguments generated from every published input schema, and deliberately wrong ones.

For every call the server answers (a result or a clear error, never a crash), and the fake Trakt sees no request
outside the endpoints the tool declares. Examples are drawn with a fixed budget and a fixed seed
(derandomize), so the suite is bounded in time and a failure names the exact arguments.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from mcp import types

from tests.conftest import Session, text_of
from tests.schema_strategies import from_schema
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.tools import all_tools
from trakt_mcp.tools.spec import ToolSpec, published_schema
from trakt_mcp.trakt.gate import endpoint_pattern

VALID_EXAMPLES = 25
INVALID_EXAMPLES = 25

WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["../../oauth/revoke", "a/b", "x?y=1", "%2e%2e", "\u212aelvin", "\x00", "🎬" * 3, " " * 3]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` examples of `strategy`, reproducibly (no database, derandomized, generation only)."""
    drawn: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    collect()
    return drawn


def wrong_arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid arguments with one thing broken: a value of the wrong kind, a required key missing, an extra key."""
    properties = list(schema.get("properties", {}))
    valid = from_schema(schema)
    mutations: list[st.SearchStrategy[dict[str, Any]]] = [
        st.builds(lambda args, key, value: {**args, key: value}, valid, st.text(min_size=1, max_size=8), WRONG_VALUES)
    ]
    if properties:
        mutations.append(
            st.builds(lambda args, key, value: {**args, key: value}, valid, st.sampled_from(properties), WRONG_VALUES)
        )
    if schema.get("required"):
        mutations.append(
            st.builds(
                lambda args, key: {k: v for k, v in args.items() if k != key},
                valid,
                st.sampled_from(schema["required"]),
            )
        )
    return st.one_of(mutations)


def endpoint_patterns(spec: ToolSpec[Any]) -> list[tuple[str, re.Pattern[str]]]:
    return [endpoint_pattern(declared) for declared in spec.endpoints]


def crashed(spec: ToolSpec[Any], result: types.CallToolResult) -> bool:
    """The SDK's answer when a handler raised something unexpected: the bare prefix, no explanation."""
    return result.is_error is True and text_of(result).strip() == f"Error executing tool {spec.name}"


async def accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


async def test_every_tool_survives_generated_and_wrong_arguments(
    session: Session, fake: FakeTrakt, signed_in: Any
) -> None:
    failures: list[str] = []
    async with session(elicitation_callback=accept) as client:
        for spec in all_tools():
            schema = published_schema(spec.args)
            allowed = endpoint_patterns(spec)
            cases = draw(from_schema(schema), VALID_EXAMPLES) + draw(wrong_arguments(schema), INVALID_EXAMPLES)
            for arguments in cases:
                before = len(fake.calls)
                result = await client.call_tool(spec.name, arguments)
                if not result.content or not text_of(result).strip():
                    failures.append(f"{spec.name}({arguments!r}): empty answer")
                elif crashed(spec, result):
                    failures.append(f"{spec.name}({arguments!r}): crashed")
                for call in fake.calls[before:]:
                    if not call.path.startswith("/oauth/") and not any(
                        method == call.method and pattern.match(call.path) for method, pattern in allowed
                    ):
                        failures.append(f"{spec.name}({arguments!r}): stray request {call.method} {call.path}")
    assert not failures, "\n".join(failures[:20])
