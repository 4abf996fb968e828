"""Surgical edits to a JSON or JSONC config file (VS Code's mcp.json allows comments and trailing commas): add,
replace or remove one member of one object, and leave every other byte of the file as it was.

A client's config file is the user's: reformatting it through json.loads/json.dumps would drop their comments and
reorder their layout. So this module finds the byte spans of members with a small scanner and splices text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from guard import jsonlimits

_WHITESPACE = " \t\r\n\ufeff"
#: The deepest nesting read (guard.jsonlimits' bound for JSON from outside): deeper input is refused, never
#: recursed into until Python's stack runs out.
MAX_DEPTH = jsonlimits.MAX_DEPTH
_LITERAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


class JsoncError(ValueError):
    """The text is not JSON (or JSONC): where, and what was expected."""


@dataclass
class Member:
    key: str
    #: Offsets into the text: the key's opening quote, and the end of the value.
    start: int
    value_start: int
    end: int
    value: Node


@dataclass
class Node:
    kind: str  # "object", "array" or "scalar"
    start: int
    end: int
    members: list[Member] = field(default_factory=list)

    def member(self, key: str) -> Member | None:
        return next((m for m in self.members if m.key == key), None)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def fail(self, expected: str) -> JsoncError:
        line = self.text.count("\n", 0, self.pos) + 1
        column = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        found = self.text[self.pos : self.pos + 10] or "the end of the file"
        return JsoncError(f"line {line} column {column}: expected {expected}, found {found!r}")

    def skip(self) -> None:
        """Whitespace and comments."""
        text = self.text
        while self.pos < len(text):
            if text[self.pos] in _WHITESPACE:
                self.pos += 1
            elif text.startswith("//", self.pos):
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline + 1
            elif text.startswith("/*", self.pos):
                close = text.find("*/", self.pos + 2)
                if close < 0:
                    raise self.fail("the end of a /* comment */")
                self.pos = close + 2
            else:
                return

    def string(self) -> str:
        match = re.compile(r'"(?:[^"\\\n]|\\.)*"').match(self.text, self.pos)
        if not match:
            raise self.fail("a string")
        self.pos = match.end()
        decoded: str = json.loads(match.group())
        return decoded

    def next_item(self, close: str) -> None:
        """After an item of an array or object: its comma (a trailing one is allowed), or the closing bracket."""
        self.skip()
        if self.text.startswith(",", self.pos):
            self.pos += 1
            self.skip()
        elif not self.text.startswith(close, self.pos):
            raise self.fail(f"',' or '{close}'")

    def value(self) -> Node:
        self.skip()
        char = self.text[self.pos : self.pos + 1]
        if char not in ("{", "["):
            return self.scalar()
        if self.depth >= MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} levels of nesting (a client's config is never this deep)")
        self.depth += 1
        try:
            return self.object() if char == "{" else self.array()
        finally:
            self.depth -= 1

    def array(self) -> Node:
        start = self.pos
        self.pos += 1
        self.skip()
        while not self.text.startswith("]", self.pos):
            self.value()
            self.next_item("]")
        self.pos += 1
        return Node("array", start, self.pos)

    def scalar(self) -> Node:
        start = self.pos
        char = self.text[self.pos : self.pos + 1]
        if char == '"':
            self.string()
            return Node("scalar", start, self.pos)
        match = _LITERAL.match(self.text, self.pos)
        if not match:
            raise self.fail("a value")
        self.pos = match.end()
        return Node("scalar", start, self.pos)

    def object(self) -> Node:
        node = Node("object", self.pos, -1)
        self.pos += 1
        self.skip()
        while not self.text.startswith("}", self.pos):
            key_start = self.pos
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("':'")
            self.pos += 1
            self.skip()
            value_start = self.pos
            value = self.value()
            node.members.append(Member(key, key_start, value_start, value.end, value))
            self.next_item("}")
        self.pos += 1
        node.end = self.pos
        return node


def parse(text: str) -> Node:
    """The document's structure with offsets; raises JsoncError naming the line and column."""
    scanner = _Scanner(text)
    root = scanner.value()
    scanner.skip()
    if scanner.pos != len(text):
        raise scanner.fail("the end of the file")
    return root


def loads(text: str) -> Any:
    """The document's value, comments and trailing commas allowed."""
    root = parse(text)
    return json.loads(_strip(text, root)) if text.strip() else None


def _strip(text: str, root: Node) -> str:
    """JSON without comments and trailing commas: every scalar, key and bracket kept, the rest re-punctuated."""

    def render(node: Node) -> str:
        if node.kind == "object":
            inner = ",".join(f"{json.dumps(m.key)}:{render(m.value)}" for m in node.members)
            return "{" + inner + "}"
        if node.kind == "array":
            scanner = _Scanner(text)
            scanner.pos = node.start + 1
            items = []
            scanner.skip()
            while not text.startswith("]", scanner.pos):
                items.append(render(scanner.value()))
                scanner.skip()
                if text.startswith(",", scanner.pos):
                    scanner.pos += 1
                    scanner.skip()
            return "[" + ",".join(items) + "]"
        return text[node.start : node.end]

    return render(root)


def _indent_unit(text: str) -> str:
    match = re.search(r"\n([ \t]+)\S", text)
    return match.group(1) if match else "  "


def _line_indent(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    return re.match(r"[ \t]*", text[line_start:]).group()  # type: ignore[union-attr]


def _render(value: Any, indent: str, unit: str) -> str:
    lines = json.dumps(value, indent=unit, ensure_ascii=False).split("\n")
    return "\n".join([lines[0], *(indent + line for line in lines[1:])])


def set_member(text: str, path: tuple[str, str], value: Any) -> str:
    """`text` with object `path[0]` (created when missing) holding `path[1]: value`; other bytes unchanged."""
    container_key, key = path
    if not text.strip():
        return json.dumps({container_key: {key: value}}, indent=2, ensure_ascii=False) + "\n"
    root = parse(text)
    if root.kind != "object":
        raise JsoncError("the file's top level is not a JSON object")
    unit = _indent_unit(text)
    container = root.member(container_key)
    if container is None:
        return _insert(text, root, container_key, {key: value}, unit)
    if container.value.kind != "object":
        raise JsoncError(f"{container_key!r} is not a JSON object")
    existing = container.value.member(key)
    if existing is None:
        return _insert(text, container.value, key, value, unit)
    indent = _line_indent(text, existing.start)
    return text[: existing.value_start] + _render(value, indent, unit) + text[existing.end :]


def _insert(text: str, node: Node, key: str, value: Any, unit: str) -> str:
    """Insert as the object's first member, right after its '{', so that removing it restores the text."""
    outer = _line_indent(text, node.start)
    first = node.members[0] if node.members else None
    indent = _line_indent(text, first.start) if first and "\n" in text[node.start : first.start] else outer + unit
    member = f"\n{indent}{json.dumps(key)}: {_render(value, indent, unit)}"
    if first is not None:
        member += ","
    elif "\n" not in text[node.start : node.end]:
        member += f"\n{outer}"
    at = node.start + 1
    return text[:at] + member + text[at:]


def remove_member(text: str, path: tuple[str, str]) -> str:
    """`text` without member `path[1]` of object `path[0]` (unchanged when absent)."""
    container_key, key = path
    root = parse(text)
    container = root.member(container_key) if root.kind == "object" else None
    if container is None or container.value.kind != "object":
        return text
    node = container.value
    found = node.member(key)
    if found is None:
        return text
    index = node.members.index(found)
    start = found.start
    while start > node.start + 1 and text[start - 1] in _WHITESPACE:
        start -= 1
    scanner = _Scanner(text)
    scanner.pos = found.end
    scanner.skip()
    if text.startswith(",", scanner.pos):  # not the last member: take its comma with it
        return text[:start] + text[scanner.pos + 1 :]
    if index > 0:  # the last of several: take the comma before it
        previous = node.members[index - 1]
        scanner.pos = previous.end
        scanner.skip()
        comma = scanner.pos if text.startswith(",", scanner.pos) else previous.end
        return text[:comma] + text[found.end :]
    rest = text[found.end : node.end - 1]
    closing = f"\n{_line_indent(text, node.end - 1)}"
    if rest == closing and "\n" not in text[node.start + 1 : start]:
        rest = ""  # we added this line break to an empty '{}'
    return text[:start] + rest + text[node.end - 1 :]
