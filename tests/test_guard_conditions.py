"""Argument conditions: every operator for match, no match and wrong type; load-time checks against the tool's
input schema; unsupported forms refused naming the exact JSON path; gateway `tools` entries behave as `rules`."""

from __future__ import annotations

from typing import Any

import pytest

from guard.catalog import Catalog, ToolInfo
from guard.engine import Engine
from guard.policy import PolicyError, parse_policy

SCHEMA: dict[str, Any] = {
    "type": "object",
    "$defs": {"Entry": {"type": "object", "properties": {"rating": {"type": "integer"}, "note": {"type": "string"}}}},
    "properties": {
        "title": {"type": "string"},
        "rating": {"type": ["integer", "null"], "default": None},
        "kind": {"type": "string", "enum": ["movie", "show"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Entry"}},
        "message": {"type": "string", "default": ""},
        "share_a": {"type": "boolean", "default": False},
        "share_b": {"type": "boolean", "default": False},
    },
}
CATALOG = Catalog.build(
    [ToolInfo("rate", "things", "write", input_schema=SCHEMA), ToolInfo("peek", "things", "read", input_schema=SCHEMA)]
)


def judged(condition: dict[str, Any], arguments: dict[str, Any], kind: str = "deny_if") -> Any:
    policy = {"version": "1", "default": "allow", "tools": {"rate": {kind: [condition]}}}
    decision = Engine(parse_policy(policy), CATALOG).decide("rate")
    assert decision is not None
    return decision.judge(arguments)


# (condition, arguments that match, arguments that do not, arguments of the wrong type)
OPERATORS = [
    ({"arg": "kind", "equals": "show"}, {"kind": "show"}, {"kind": "movie"}, {"kind": 3}),
    ({"arg": "rating", "in": [1, 2]}, {"rating": 2}, {"rating": 5}, {"rating": "2"}),
    ({"arg": "rating", "not_in": [1, 2]}, {"rating": 7}, {"rating": 1}, {"rating": True}),
    ({"arg": "rating", "gt": 8}, {"rating": 9}, {"rating": 8}, {"rating": "9"}),
    ({"arg": "rating", "gte": 8}, {"rating": 8}, {"rating": 7}, {"rating": [8]}),
    ({"arg": "rating", "lt": 3}, {"rating": 2}, {"rating": 3}, {"rating": "low"}),
    ({"arg": "rating", "lte": 3}, {"rating": 3}, {"rating": 4}, {"rating": {"v": 3}}),
    ({"arg": "tags", "count": {"gt": 2}}, {"tags": ["a", "b", "c"]}, {"tags": ["a", "b"]}, {"tags": "a,b,c"}),
    ({"arg": "items", "count": {"equals": 0}}, {"items": []}, {"items": [{}]}, {"items": {}}),
    ({"arg": "message", "present": True}, {"message": "hi"}, {"message": ""}, {"message": 5}),
    ({"arg": "message", "present": False}, {}, {"message": "hi"}, {"message": ["hi"]}),
    ({"arg": "title", "glob": "*spoiler*"}, {"title": "a spoiler!"}, {"title": "Spoiler"}, {"title": 12}),
    ({"arg": "items[*].rating", "lt": 3}, {"items": [{"rating": 5}, {"rating": 2}]}, {"items": [{"rating": 3}]},
     {"items": [{"rating": "2"}]}),
    ({"arg": "share_*", "equals": True}, {"share_b": True}, {"share_a": False}, {"share_a": "yes"}),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "match", "miss", "wrong"), OPERATORS, ids=lambda v: str(v)[:40])
def test_each_operator_matches_misses_and_refuses_the_wrong_type(
    condition: dict[str, Any], match: dict[str, Any], miss: dict[str, Any], wrong: dict[str, Any]
) -> None:
    fired = judged(condition, match)
    assert (fired.action, fired.rule) == ("deny", 'tools."rate".deny_if[0]')
    assert fired.condition and condition["arg"] in fired.condition
    assert judged(condition, miss).action == "allow"
    refused = judged(condition, wrong)
    assert refused.action == "deny" and "cannot test" in str(refused.reason), refused


def test_require_denies_when_the_condition_does_not_hold_and_names_it() -> None:
    assert judged({"arg": "message", "present": True}, {"message": "hi"}, "require").action == "allow"
    missing = judged({"arg": "message", "present": True}, {}, "require")
    assert (missing.action, missing.condition) == ("deny", "requires message is present")


def test_confirm_if_asks_and_deny_wins_over_confirm_whatever_the_order() -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "rules": {
            "rate": {
                "action": "allow",
                "confirm_if": [{"arg": "share_*", "equals": True}],
                "deny_if": [{"arg": "rating", "lt": 2}],
            }
        },
    }
    decision = Engine(parse_policy(policy), CATALOG).decide("rate")
    assert decision is not None
    asked = decision.judge({"share_a": True, "rating": 5})
    assert (asked.action, asked.condition) == ("confirm", "share_* == true")
    assert decision.judge({"share_a": True, "rating": 1}).action == "deny"
    assert decision.judge({"rating": 5}).action == "allow"


def test_a_missing_argument_takes_its_schema_default() -> None:
    assert judged({"arg": "share_a", "equals": False}, {}).action == "deny"  # default false
    assert judged({"arg": "rating", "lt": 3}, {}).action == "allow"  # default null: nothing to compare


def refused(rule: dict[str, Any], field: str = "tools") -> str:
    policy = {"version": "1", "default": "allow", field: {"rate": rule}}
    with pytest.raises(PolicyError) as caught:
        Engine(parse_policy(policy), CATALOG)
    return str(caught.value)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"deny_if": ["items.length > 5"]},
            'tools."rate".deny_if[0]: condition expressions in strings are not supported',
        ),
        (
            {"deny_if": [{"arg": "title", "regex": "^a"}]},
            'tools."rate".deny_if[0].regex: unknown key. Fix: remove it or correct its spelling (allowed here: arg, '
            "equals, in, not_in",
        ),
        ({"deny_if": [{"arg": "title"}]}, 'tools."rate".deny_if[0]: needs exactly one of equals, in'),
        ({"deny_if": [{"arg": "rating", "gt": 1, "lt": 5}]}, "found gt, lt"),
        ({"require": [{"arg": "tags", "count": {"over": 1}}]}, 'tools."rate".require[0].count.over: unknown key'),
        ({"confirm_if": [{"arg": "titel", "equals": "x"}]}, 'tools."rate".confirm_if[0]: rate has no argument "titel"'),
        ({"deny_if": [{"arg": "title", "gt": 3}]}, "title is string, and gt needs a number"),
        ({"deny_if": [{"arg": "rating", "count": {"gt": 3}}]}, "rating is integer, and count needs a list"),
        ({"deny_if": [{"arg": "rating", "glob": "1*"}]}, "rating is integer, and glob needs a string"),
        ({"deny_if": [{"arg": "rating", "equals": "5"}]}, '"5" is string and could never match'),
        ({"deny_if": [{"arg": "kind", "in": ["film"]}]}, '"film" could never match'),
        ({"deny_if": [{"arg": "items.rating", "lt": 3}]}, '"items[*].rating" tests its entries'),
        ({"deny_if": [{"arg": "title[*]", "equals": "x"}]}, "title is not a list"),
        ({"deny_if": [{"arg": "nope_*", "equals": True}]}, 'rate has no argument "nope_*"'),
        ({"deny_if": [{"arg": "a..b", "equals": 1}]}, "is not an argument path"),
        ({"when": {"arg": "title"}}, 'tools."rate".when: unknown key'),
        ({"action": "deny", "limits": [{"window": "week", "max": 1}]}, 'tools."rate".limits[0].window: must be'),
    ],
)
def test_unsupported_or_impossible_conditions_are_refused_naming_the_json_path(
    rule: dict[str, Any], expected: str
) -> None:
    assert expected in refused(rule)


def test_conditions_in_rules_are_checked_the_same_way() -> None:
    message = refused({"action": "allow", "deny_if": [{"arg": "titel", "equals": "x"}]}, field="rules")
    assert 'rules."rate".deny_if[0]: rate has no argument "titel"' in message


def test_a_tool_without_an_input_schema_cannot_carry_conditions() -> None:
    bare = Catalog.build([ToolInfo("rate", "things", "write")])
    with pytest.raises(PolicyError, match="rate publishes no input schema"):
        Engine(parse_policy({"version": "1", "tools": {"rate": {"require": ["title"]}}}), bare)


def test_a_gateway_tools_entry_is_a_rule_whose_action_defaults_to_allow() -> None:
    gateway = Engine(parse_policy({"version": "1", "default": "deny", "tools": {"peek": {}}}), CATALOG)
    own = Engine(parse_policy({"version": "1", "default": "deny", "rules": {"peek": {"action": "allow"}}}), CATALOG)
    assert [gateway.decisions[n].action for n in ("peek", "rate")] == ["allow", "deny"]
    assert [own.decisions[n].action for n in ("peek", "rate")] == ["allow", "deny"]
    with pytest.raises(PolicyError, match=r'rules."peek" and tools."peek" both match peek at the same precedence'):
        Engine(parse_policy({"version": "1", "rules": {"peek": {"action": "deny"}}, "tools": {"peek": {}}}), CATALOG)


def test_all_tools_limits_are_part_of_every_visible_tools_limits() -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "hide": ["peek"],
        "all_tools": {"limits": [{"window": "minute", "max": 30}]},
        "tools": {"rate": {"limits": [{"window": 10, "max": 1}]}},
    }
    loaded = Engine(parse_policy(policy), CATALOG)
    rate = loaded.decide("rate")
    assert rate is not None
    assert [(q.path, q.limit.max, q.limit.window) for q in rate.limits] == [
        ('tools."rate".limits[0]', 1, 10),
        ("all_tools.limits[0]", 30, 60),
    ]
    assert loaded.decide("peek").limits == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("op", "operand", "kinds", "values"),
    [
        *[
            (op, bound, frozenset({"integer", "number"}), [-1, 0, 2, 3, 4, 2.5, 3.0, 1e308, -(10**30), 10**20])
            for op in ("gt", "gte", "lt", "lte")
            for bound in (3, 2.5, -1)
        ],
        ("equals", "movie", frozenset({"string"}), ["movie", "Movie", "", "movie "]),
        ("in", ["seasons", "episodes"], frozenset({"string"}), ["seasons", "episodes", "shows", ""]),
        ("not_in", ["seasons", "episodes"], frozenset({"string"}), ["seasons", "shows", ""]),
        ("in", [], frozenset({"string"}), ["x"]),
    ],
)
def test_the_c_shortcuts_give_the_general_predicates_verdicts(
    op: str, operand: Any, kinds: frozenset[str], values: list[Any]
) -> None:
    """Where the schema fixes the values' type, conditions run as C callables over all the values reached: every
    verdict stays the general one (on each value alone, on all of them, on none)."""
    from guard.conditions import _fast_any, _predicate

    fast = _fast_any(op, operand, kinds)
    assert fast is not None
    general = _predicate(op, operand, "arg")
    assert [fast([value]) for value in values] == [general(value) for value in values]
    assert fast(values) == any(general(value) for value in values)
    assert fast([]) is False
