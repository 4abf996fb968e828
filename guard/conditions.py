"""Argument conditions: checked against the tool's input schema when the policy loads, then evaluated on each
call's arguments before the handler runs. Plain comparisons on JSON values; nothing is ever evaluated as code.

Conditions see the canonical arguments (the catalog's `normalize`: validated, trimmed, defaults filled in), the
same values the handler receives, so a spelling the tool reads as the same value cannot slip past a condition.

Paths: argument names separated by dots; `name[*]` steps into every entry of a list; glob characters in a name
(`share_*`) reach every argument whose name matches. When a path reaches several values the condition holds if it
holds for ANY of them. A value missing from the call takes its schema default (except for `present`); null counts
as missing, and `present` means present and not blank (a string of only spaces or invisible characters is
blank). A value whose type the schema does not allow cannot be tested, and the call is denied (fail closed).
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from guard.names import excerpt
from guard.rules import Condition
from guard.text import is_blank

Test = Callable[[Mapping[str, Any]], bool]
_SEGMENT = re.compile(r"([^.\[\]]+)(\[\*\])?")
_GLOB = frozenset("*?[")
_MISSING = object()
_SYMBOLS = {"equals": "==", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "in", "not_in": "not in"}
_PYTHON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


#: The same JSON types as Python classes, for one isinstance test (bool is an int: kept out by `values`).
_PYTHON_CLASSES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


_NUMBERS = (int, float)


class ConditionError(Exception):
    """The condition cannot apply to this tool (unknown argument, wrong type of operand); says how to fix it."""


class Mismatch(Exception):
    """At call time, an argument has a type the condition cannot test."""


@dataclass(frozen=True)
class _Step:
    """Either the named properties of an object (with their defaults), or every entry of a list."""

    label: str
    names: tuple[tuple[str, Any], ...] | None = None


def describe(condition: Condition) -> str:
    """`count(items) > 5`, `share_* == true`, `message is present`, `title matches "*x*"`."""
    op, operand = condition.operator, condition.operand
    if op == "count":
        inner = next(name for name in _SYMBOLS if getattr(operand, name, None) is not None)
        return f"count({condition.arg}) {_SYMBOLS[inner]} {getattr(operand, inner)}"
    if op == "present":
        return f"{condition.arg} is {'present' if operand else 'absent'}"
    if op == "glob":
        return f"{condition.arg} matches {json.dumps(operand)}"
    if op in ("gt", "gte", "lt", "lte"):
        operand = int(operand) if float(operand).is_integer() else operand
    return f"{condition.arg} {_SYMBOLS[op]} {json.dumps(operand, ensure_ascii=False)}"


class _Schema:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, node: Any) -> Mapping[str, Any]:
        """Follow local $refs and drop the null branch of an optional; anything else is left as is."""
        for _ in range(20):
            if not isinstance(node, Mapping):
                return {}
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                target: Any = self.root
                for key in ref[2:].split("/"):
                    target = target.get(key, {}) if isinstance(target, Mapping) else {}
                node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
                continue
            branches = [b for b in node.get("anyOf", node.get("oneOf", [])) if b != {"type": "null"}]
            if len(branches) == 1:
                node = {**{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}, **branches[0]}
                continue
            return node
        return {}

    @staticmethod
    def types(node: Mapping[str, Any]) -> frozenset[str]:
        declared = node.get("type")
        names = [declared] if isinstance(declared, str) else list(declared) if isinstance(declared, list) else []
        if not names and isinstance(node.get("enum"), list):
            names = [_json_type(value) for value in node["enum"]]
        found = frozenset(names) - {"null"}
        return found | {"number"} if "integer" in found else found


def _kinds(kinds: frozenset[str]) -> str:
    return "/".join(sorted(kinds - {"number"} if "integer" in kinds else kinds))


def _json_type(value: Any) -> str:
    return next((name for name, check in _PYTHON_TYPES.items() if check(value)), "null")


def _parse(path: str) -> list[tuple[str, bool]]:
    parts = path.split(".")
    parsed = []
    for part in parts:
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise ConditionError(
                f"{json.dumps(path)} is not an argument path. Fix: use names separated by dots, with [*] after a "
                'list for "any entry", e.g. "items[*].rating"'
            )
        parsed.append((match.group(1), match.group(2) is not None))
    return parsed


def _walk(condition: Condition, tool: str, schema: Mapping[str, Any]) -> tuple[list[_Step], Mapping[str, Any]]:
    """The steps from the arguments to the tested values, and the schema of those values."""
    tree = _Schema(schema)
    node = tree.resolve(schema)
    steps: list[_Step] = []
    label = ""
    for name, each in _parse(condition.arg):
        properties = node.get("properties")
        if not isinstance(properties, Mapping):
            where = f"{label} is not an object" if label else "it takes no arguments"
            hint = f' (it is a list: "{label}[*].{name}" tests its entries)' if "array" in tree.types(node) else ""
            raise ConditionError(f"{tool}: {where}{hint}, so {json.dumps(condition.arg)} reaches nothing")
        names = sorted(p for p in properties if fnmatchcase(p, name)) if _GLOB & set(name) else [name]
        if not names or names[0] not in properties:
            known = ", ".join(sorted(properties))
            raise ConditionError(
                f"{tool} has no argument {json.dumps((label + '.' if label else '') + name)}. "
                f"Fix: use one of its arguments ({known})"
            )
        nodes = [tree.resolve(properties[n]) for n in names]
        steps.append(
            _Step(
                label or "arguments",
                tuple((n, nd.get("default", _MISSING)) for n, nd in zip(names, nodes, strict=True)),
            )
        )
        label = f"{label}.{name}" if label else name
        node = nodes[0] if len(nodes) == 1 else _merged(nodes)
        if each:
            if "array" not in tree.types(node):
                raise ConditionError(f"{tool}: {label} is not a list, so {label}[*] reaches nothing")
            steps.append(_Step(label))
            label += "[*]"
            node = tree.resolve(node.get("items", {}))
    return steps, node


def _merged(nodes: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Several arguments reached by one glob: their types must agree to be tested as one."""
    kinds = {_Schema.types(node) for node in nodes}
    return {"type": sorted(next(iter(kinds)))} if len(kinds) == 1 else {}


def compile_condition(condition: Condition, tool: str, schema: Mapping[str, Any] | None) -> Test:
    """A test of the call's arguments; raises ConditionError when the condition cannot apply to this tool."""
    if schema is None:
        raise ConditionError(f"{tool} publishes no input schema, so its arguments cannot be checked")
    steps, leaf = _walk(condition, tool, schema)
    kinds = _Schema.types(leaf)
    op, operand = condition.operator, condition.operand
    arg = condition.arg
    _check_operand(op, operand, kinds, leaf, arg, tool)
    classes = _classes(kinds)
    booleans_fit = "boolean" in kinds
    defaults = op != "present"

    root, *walk = [_walker(step, defaults, last=index == len(steps) - 1) for index, step in enumerate(steps)]
    no_booleans = bool(classes) and not booleans_fit

    def values(arguments: Mapping[str, Any]) -> list[Any]:
        current = root([arguments])
        for step in walk:
            current = step(current)
        # Every value of an allowed type (and no true/false among numbers); the first that does not fit is named.
        if classes:
            for value in current:
                if not isinstance(value, classes) or (no_booleans and type(value) is bool):
                    raise Mismatch(f"{arg} is {_shown(value)} ({_json_type(value)}), not {_kinds(kinds)}")
        return current

    if op == "present":
        wanted = bool(operand)
        return lambda arguments: any(not _blank(v) for v in values(arguments)) == wanted
    holds = _fast_any(op, operand, kinds)
    if holds is not None:
        return lambda arguments: holds(values(arguments))
    predicate = _predicate(op, operand, arg)
    return lambda arguments: any(map(predicate, values(arguments)))  # map: no generator frame per value


def _walker(step: _Step, defaults: bool, *, last: bool) -> Callable[[list[Any]], list[Any]]:
    """One step of a path, from the values reached so far to a new list of the next ones: into every entry of lists,
    or to the named properties of objects (their schema default where missing, unless `defaults` is off). A
    missing value is dropped, and so is a null at the `last` step (null counts as missing; before the last step
    it is no object, and cannot be tested)."""
    if step.names is None:

        def entries(current: list[Any]) -> list[Any]:
            reached: list[Any] = []
            for value in current:
                if type(value) is not list and not isinstance(value, list):
                    raise Mismatch(f"{step.label} is {_json_type(value)}, not a list")
                reached.extend(value)
            return [value for value in reached if value is not None] if last else reached

        return entries
    names = step.names if defaults else tuple((name, _MISSING) for name, _ in step.names)
    if last:  # missing or null: dropped alike
        names = tuple((name, None if default is _MISSING else default) for name, default in names)
    dropped = None if last else _MISSING

    def properties(current: list[Any]) -> list[Any]:
        reached: list[Any] = []
        for value in current:
            if type(value) is not dict and not isinstance(value, Mapping):  # dict first: an ABC check is slow
                raise Mismatch(f"{step.label} is {_json_type(value)}, not an object")
            for name, default in names:
                found = value.get(name, default)
                if found is not dropped:
                    reached.append(found)
        return reached

    if len(names) != 1:
        return properties
    name, default = names[0]

    def one(current: list[Any]) -> list[Any]:  # `properties` for the usual single name, without the inner loop
        reached: list[Any] = []
        for value in current:
            if type(value) is not dict and not isinstance(value, Mapping):
                raise Mismatch(f"{step.label} is {_json_type(value)}, not an object")
            found = value.get(name, default)
            if found is not dropped:
                reached.append(found)
        return reached

    return one


def _classes(kinds: frozenset[str]) -> tuple[type, ...]:
    return tuple(cls for kind in kinds for cls in _PYTHON_CLASSES.get(kind, ()))


def _fast_any(op: str, operand: Any, kinds: frozenset[str]) -> Callable[[list[Any]], bool] | None:
    """Whether `_predicate` holds for any of the values, run in C, where the schema fixes the values' type (checked
    in `values`) to make them equal: numbers (never true/false) compared as floats, strings against strings.
    None: no such shortcut."""
    numbers = bool(kinds) and kinds <= {"integer", "number"}
    if op in ("gt", "gte", "lt", "lte") and numbers:
        bound = float(operand)
        flipped = {"gt": operator.lt, "gte": operator.le, "lt": operator.gt, "lte": operator.ge}[op]
        compare = functools.partial(flipped, bound)  # bound < value, i.e. value > bound, and so on
        return lambda values: any(map(compare, map(float, values)))
    strings = kinds == {"string"}
    if strings and op == "equals" and isinstance(operand, str):
        return lambda values: operand in values
    if strings and op in ("in", "not_in") and all(isinstance(option, str) for option in operand):
        options = frozenset(operand)
        if op == "in":
            return lambda values: not options.isdisjoint(values)
        return lambda values: not options.issuperset(values)
    return None


def _blank(value: Any) -> bool:
    """Empty, or a string of nothing visible: space-like, control, format and blank-rendering characters of any
    script (Hangul fillers, Braille blank, ...: guard.text)."""
    if isinstance(value, str):
        return is_blank(value)
    return value in ([], {})


def _shown(value: Any) -> str:
    return excerpt(json.dumps(value, ensure_ascii=False))


def _check_operand(op: str, operand: Any, kinds: frozenset[str], leaf: Mapping[str, Any], arg: str, tool: str) -> None:
    def needs(kind: str, what: str) -> None:
        if kinds and kind not in kinds:
            raise ConditionError(f"{tool}: {arg} is {_kinds(kinds)}, and {op} needs {what}. Fix: use another operator")

    if op in ("gt", "gte", "lt", "lte"):
        needs("number", "a number")
    elif op == "count":
        needs("array", "a list")
    elif op == "glob":
        needs("string", "a string")
    elif op in ("equals", "in", "not_in"):
        enum = leaf.get("enum")
        for value in operand if op != "equals" else [operand]:
            if kinds and _json_type(value) not in kinds | ({"number"} if "integer" in kinds else set()):
                raise ConditionError(
                    f"{tool}: {arg} is {_kinds(kinds)}; {json.dumps(value)} is {_json_type(value)} and "
                    "could never match. Fix: compare with a value of the argument's type"
                )
            if isinstance(enum, list) and not any(_same(value, option) for option in enum):
                raise ConditionError(
                    f"{tool}: {arg} is one of {json.dumps(enum)}; {json.dumps(value)} could never match. "
                    "Fix: use one of those values"
                )


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _number(value: Any, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, _NUMBERS):
        raise Mismatch(f"{arg} is {_shown(value)}, not a number")
    return float(value)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "equals": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _predicate(op: str, operand: Any, arg: str) -> Callable[[Any], bool]:
    if op == "equals":
        return lambda value: _same(value, operand)
    if op == "in":
        return lambda value: any(_same(value, option) for option in operand)
    if op == "not_in":
        return lambda value: not any(_same(value, option) for option in operand)
    if op == "glob":

        def glob(value: Any) -> bool:
            if not isinstance(value, str):
                raise Mismatch(f"{arg} is {_shown(value)}, not a string")
            return fnmatchcase(value, operand)

        return glob
    if op == "count":
        name = next(n for n in _COMPARE if getattr(operand, n) is not None)
        compare, limit = _COMPARE[name], getattr(operand, name)

        def count(value: Any) -> bool:
            if not isinstance(value, list):
                raise Mismatch(f"{arg} is {_shown(value)}, not a list")
            return compare(len(value), limit)

        return count
    compare, bound = _COMPARE[op], float(operand)
    return lambda value: compare(_number(value, arg), bound)
