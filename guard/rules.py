"""The rules of a policy: what one rule says (an action, conditions on the arguments, a rate limit, who may be
asked to confirm), as pydantic models whose validation errors name the field. guard.policy assembles them into
layers (the top level and each identity) and loads the document."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

Action = Literal["allow", "deny", "confirm"]
#: Who may be asked to confirm a call: the MCP client's own UI, a dialog on the owner's screen, the owner's
#: terminal, or an MCP Apps card in the conversation (see guard.channels).
ChannelName = Literal["host", "desktop", "terminal", "app"]
#: Channels answered by the caller's own MCP client: never trusted for a remote identity unless it says trust_host.
HOST_CHANNELS = frozenset({"host", "app"})
ACTION_SYNONYMS = {"require_approval": "confirm"}
NAMED_WINDOWS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
MAX_WINDOW = 31 * 86400.0
#: Condition operators, each documented in the schema; exactly one per condition.
OPERATORS = ("equals", "in", "not_in", "gt", "gte", "lt", "lte", "count", "present", "glob")
COMPARISONS = ("equals", "gt", "gte", "lt", "lte")
_CONDITION_EXAMPLE = '{"arg": "items", "count": {"gt": 5}}'


class Strict(BaseModel):
    """Unknown keys are errors, and a loaded rule never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _window_schema(schema: JsonDict) -> None:
    schema.pop("type", None)
    schema["anyOf"] = [{"type": "number"}, {"enum": list(NAMED_WINDOWS)}]


class RateLimit(Strict):
    """At most `max` calls in any `window` seconds (a sliding window), counted across every process and restart
    that shares the state folder. `scope`: each caller its own window (`identity`, also spelt `grant` as in
    gateway documents) or one window shared by every caller (`server`)."""

    max: int = Field(ge=1, le=1_000_000, strict=True, description="calls allowed per window")
    window: float = Field(
        gt=0,
        le=MAX_WINDOW,
        description='window length in seconds, or "second", "minute", "hour", "day"',
        json_schema_extra=lambda schema: _window_schema(schema),
    )
    scope: Literal["identity", "server"] = Field(
        default="identity",
        description='"identity": each caller has its own window (default; "grant" means the same); '
        '"server": one window shared by every caller',
        json_schema_extra={"enum": ["identity", "server", "grant"]},
    )

    @field_validator("scope", mode="before")
    @classmethod
    def _scope(cls, value: Any) -> Any:
        return "identity" if value == "grant" else value

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        if isinstance(value, str) and value in NAMED_WINDOWS:
            return NAMED_WINDOWS[value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number of seconds or one of {', '.join(sorted(NAMED_WINDOWS))}")
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        return value


def _exactly_one(model: BaseModel, allowed: tuple[str, ...], example: str) -> None:
    given = [name for name in allowed if name.rstrip("_") in _set_names(model)]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        raise ValueError(f"needs exactly one of {', '.join(allowed)} ({found}). Fix: e.g. {example}")


def _set_names(model: BaseModel) -> set[str]:
    return {(model.model_fields[name].alias or name) for name in model.model_fields_set}


_Number = Field(default=None, strict=True, allow_inf_nan=False)


class Count(Strict):
    """A test on the number of entries of a list argument: exactly one comparison."""

    equals: int | None = Field(default=None, ge=0, strict=True, description="exactly this many entries")
    gt: int | None = Field(default=None, ge=0, strict=True, description="more than this many")
    gte: int | None = Field(default=None, ge=0, strict=True, description="at least this many")
    lt: int | None = Field(default=None, ge=0, strict=True, description="fewer than this many")
    lte: int | None = Field(default=None, ge=0, strict=True, description="at most this many")

    @model_validator(mode="after")
    def _one(self) -> Count:
        _exactly_one(self, COMPARISONS, '{"gt": 5}')
        return self


class Condition(Strict):
    """A test on one argument of the call. `arg` is a path into the arguments: names separated by dots, `[*]` after
    a list name for "any entry" (`items[*].rating`), and glob characters in a name for "any matching argument"
    (`share_*`). With a wildcard the condition holds when it holds for ANY value reached. A missing argument takes
    the default of the tool's input schema; with no value at all only `present` can hold. Exactly one operator."""

    arg: str = Field(min_length=1, max_length=200, description='argument path: "message", "items[*].rating", "share_*"')
    equals: Any = Field(default=None, description="the value equals this JSON value (types must match: 1 is not true)")
    in_: list[Any] | None = Field(default=None, alias="in", min_length=1, description="the value is one of these")
    not_in: list[Any] | None = Field(default=None, min_length=1, description="the value is none of these")
    gt: float | None = Field(default=None, strict=True, allow_inf_nan=False, description="a number greater than this")
    gte: float | None = Field(default=None, strict=True, allow_inf_nan=False, description="a number at least this")
    lt: float | None = Field(default=None, strict=True, allow_inf_nan=False, description="a number less than this")
    lte: float | None = Field(default=None, strict=True, allow_inf_nan=False, description="a number at most this")
    count: Count | None = Field(default=None, description="a list whose number of entries passes this comparison")
    present: bool | None = Field(
        default=None, strict=True, description="true: given and not null or empty; false: absent, null or empty"
    )
    glob: str | None = Field(default=None, max_length=200, description='a string matching this glob ("*spoiler*")')

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "condition expressions in strings are not supported (the guard never evaluates code). "
                f"Fix: write an object such as {_CONDITION_EXAMPLE}"
            )
        return value

    @model_validator(mode="after")
    def _one(self) -> Condition:
        _exactly_one(self, OPERATORS, _CONDITION_EXAMPLE)
        return self

    @property
    def operator(self) -> str:
        return next(name for name in OPERATORS if name in _set_names(self))

    @property
    def operand(self) -> Any:
        return getattr(self, "in_" if self.operator == "in" else self.operator)


def _names_allowed(schema: JsonDict) -> None:
    schema["items"] = {
        "anyOf": [{"type": "string", "description": "an argument that must be present"}, schema["items"]]
    }


def _requirement(value: Any) -> Any:
    """`require` also takes bare argument names: "message" means {"arg": "message", "present": true}."""
    if isinstance(value, list):
        return [{"arg": item, "present": True} if isinstance(item, str) else item for item in value]
    return value


class Rule(Strict):
    """What happens to the tools a selector matches. Conditions on the call's arguments refine the action per call:
    a failed `require` or a matching `deny_if` denies, a matching `confirm_if` asks the user (unless denied)."""

    action: Action = Field(
        description='"allow", "deny" or "confirm" ("require_approval" is a synonym of confirm)',
        json_schema_extra={"enum": ["allow", "deny", "confirm", *ACTION_SYNONYMS]},
    )
    reason: str | None = Field(default=None, max_length=500, description="shown to the agent when this rule blocks")
    rate_limit: RateLimit | None = None
    limits: list[RateLimit] = Field(default_factory=list, max_length=10, description="more windows; all apply")
    require: list[Condition] = Field(
        default_factory=list,
        max_length=50,
        description='every condition must hold, else the call is denied; a bare name means "present"',
        json_schema_extra=lambda schema: _names_allowed(schema),
    )
    deny_if: list[Condition] = Field(default_factory=list, max_length=50, description="any holding denies the call")
    confirm_if: list[Condition] = Field(
        default_factory=list, max_length=50, description="any holding asks the user to confirm the call"
    )
    mode: Literal["enforce", "shadow"] = Field(
        default="enforce",
        description='"enforce" (the default); "shadow": the rule decides and the audit line records what it would '
        "have done (would_deny, would_confirm, would_limit; the `audit --shadow` command), but it does not act",
    )
    confirm_via: list[ChannelName] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description='who is asked to confirm, in order: the first channel that can ask this caller is used. "host": '
        'the MCP client\'s own UI (elicitation); "desktop": a dialog on the owner\'s screen; "terminal": '
        'the `approve` command at the owner\'s terminal; "app": an approval card in the conversation. Default: host '
        "when the client can ask and is trusted, else desktop when a display is available, else terminal",
    )

    @field_validator("action", mode="before")
    @classmethod
    def _synonyms(cls, value: Any) -> Any:
        return ACTION_SYNONYMS.get(value, value) if isinstance(value, str) else value

    @field_validator("require", mode="before")
    @classmethod
    def _bare_names(cls, value: Any) -> Any:
        return _requirement(value)

    @field_validator("confirm_via")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError('names a channel twice. Fix: list each channel once, e.g. ["desktop", "terminal"]')
        return value

    @model_validator(mode="after")
    def _confirm_via_needs_a_question(self) -> Rule:
        if self.confirm_via is not None and self.action != "confirm" and not self.confirm_if:
            raise ValueError(
                f'confirm_via only applies when the rule asks (action "confirm" or confirm_if), not to '
                f'"{self.action}". Fix: remove confirm_via or make the rule ask'
            )
        return self

    @property
    def all_limits(self) -> tuple[RateLimit, ...]:
        return ((self.rate_limit,) if self.rate_limit else ()) + tuple(self.limits)

    def checks(self) -> Iterator[tuple[str, int, Condition]]:
        for kind in ("require", "deny_if", "confirm_if"):
            for index, condition in enumerate(getattr(self, kind)):
                yield kind, index, condition

    def same_effect(self, other: Rule) -> bool:
        """Equal in everything but the wording of the reason (two such rules never disagree)."""
        return self.model_dump(exclude={"reason"}) == other.model_dump(exclude={"reason"})


class ToolRule(Rule):
    """A gateway-style `tools` entry: like a rule, but the action defaults to allow, so `{}` allows the tool."""

    action: Action = Field(
        default="allow",
        description='"allow" (the default), "deny" or "confirm"',
        json_schema_extra={"enum": ["allow", "deny", "confirm", *ACTION_SYNONYMS]},
    )


class AllTools(Strict):
    """Quotas shared by every call, whatever the tool."""

    limits: list[RateLimit] = Field(default_factory=list, max_length=10, description="windows counted over all calls")
