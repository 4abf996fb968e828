"""The config-file editor: any JSON document with other servers comes back byte for byte after an entry is
added and removed, comments and trailing commas included; values read as json.loads reads them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trakt_mcp.cli import jsonc

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3))
ENTRY = {"command": "/opt/trakt-mcp/bin/trakt-mcp", "args": ["--home", "/tmp/h"]}


@settings(max_examples=200, deadline=None)
@given(
    servers=st.dictionaries(names.filter(lambda n: n != "trakt"), values, max_size=4),
    rest=st.dictionaries(names.filter(lambda n: n != "mcpServers"), values, max_size=3),
    indent=st.sampled_from([None, 2, 4, "\t"]),
)
def test_add_then_remove_gives_the_document_back(servers: dict[str, Any], rest: dict[str, Any], indent: Any) -> None:
    original = json.dumps({**rest, "mcpServers": servers}, indent=indent)
    added = jsonc.set_member(original, ("mcpServers", "trakt"), ENTRY)
    document = json.loads(added)
    assert document["mcpServers"]["trakt"] == ENTRY and {k: v for k, v in document.items() if k != "mcpServers"} == rest
    assert jsonc.set_member(added, ("mcpServers", "trakt"), ENTRY) == added
    removed = jsonc.remove_member(added, ("mcpServers", "trakt"))
    if servers or indent is None:
        assert removed == original
    else:
        assert json.loads(removed) == json.loads(original)


def test_comments_and_trailing_commas_are_read_and_kept() -> None:
    text = '{\n  // a comment with "quotes" and { braces }\n  "servers": { /* x */ "a": [1, 2,], },\n}\n'
    assert jsonc.loads(text) == {"servers": {"a": [1, 2]}}
    added = jsonc.set_member(text, ("servers", "trakt"), ENTRY)
    assert "// a comment with" in added and "/* x */" in added
    assert jsonc.remove_member(added, ("servers", "trakt")) == text


@pytest.mark.parametrize(
    ("text", "where"),
    [('{"a": }', "line 1 column 7"), ('{"a": 1\n "b": 2}', "line 2 column 2"), ("[1, 2", "line 1 column 6")],
)
def test_errors_name_the_line_and_column(text: str, where: str) -> None:
    with pytest.raises(jsonc.JsoncError, match=where):
        jsonc.parse(text)
