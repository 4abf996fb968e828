"""The policy document: pydantic models of the JSON a user writes, and loading with errors that name the JSON path
and the fix.

Two spellings of rules load with one meaning: our `rules` (selector -> rule with an `action`) and the `tools` entries
of MCP gateway documents (selector -> rule whose action defaults to allow, so `{}` allows). Both are read through
`rule_entries()`, the one place that turns a layer of the document into (path, selector, rule) triples. A policy may
also declare `identities`: callers known by the SHA-256 digest of their bearer token, each a layer of its own that
can only make the top level stricter (see guard.engine).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.config import JsonDict

from guard import jsonlimits
from guard.home import read_regular_file

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
IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_CONDITION_EXAMPLE = '{"arg": "items", "count": {"gt": 5}}'


class PolicyError(Exception):
    """The policy cannot be used. Each problem names the JSON path and how to fix it."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"invalid policy {source}:\n" + "\n".join(f"  - {p}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _window_schema(schema: JsonDict) -> None:
    schema.pop("type", None)
    schema["anyOf"] = [{"type": "number"}, {"enum": list(NAMED_WINDOWS)}]


class RateLimit(_Strict):
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


class Count(_Strict):
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


class Condition(_Strict):
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


class Rule(_Strict):
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
        "have done (would_deny, would_confirm, would_limit; `trakt-mcp audit --shadow`), but it does not act",
    )
    confirm_via: list[ChannelName] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description='who is asked to confirm, in order: the first channel that can ask this caller is used. "host": '
        'the MCP client\'s own UI (elicitation); "desktop": a dialog on the owner\'s screen; "terminal": '
        '`trakt-mcp approve` at the owner\'s terminal; "app": an approval card in the conversation. Default: host '
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


class AllTools(_Strict):
    """Quotas shared by every call, whatever the tool."""

    limits: list[RateLimit] = Field(default_factory=list, max_length=10, description="windows counted over all calls")


class Layer(_Strict):
    """What the top level and each identity share: hide, rules, gateway-style tools entries and shared quotas."""

    hide: list[str] = Field(default_factory=list, description='selectors of tools the agent never sees ("*" = all)')
    rules: dict[str, Rule] = Field(
        default_factory=dict,
        description='selector -> rule. Selectors: exact tool name, glob ("remove_*"), "@group" or "@risk"',
    )
    tools: dict[str, ToolRule] = Field(
        default_factory=dict,
        description="gateway-style entries: selector -> rule whose action defaults to allow ({} allows the tool)",
    )
    all_tools: AllTools | None = None

    def rule_entries(self, prefix: str = "") -> Iterator[RuleEntry]:
        for field in ("rules", "tools"):
            for selector, rule in getattr(self, field).items():
                yield RuleEntry(path=f"{prefix}{field}.{json.dumps(selector)}", selector=selector, rule=rule)

    def hide_entries(self, prefix: str = "") -> Iterator[tuple[str, str]]:
        for index, selector in enumerate(self.hide):
            yield f"{prefix}hide[{index}]", selector

    def quota_entries(self, prefix: str = "") -> Iterator[tuple[str, RateLimit]]:
        for index, limit in enumerate(self.all_tools.limits if self.all_tools else ()):
            yield f"{prefix}all_tools.limits[{index}]", limit


class Identity(Layer):
    """A caller known by the SHA-256 digest of its bearer token (the token itself is never in the file). Its
    layer only ever makes the top level stricter: the effective action for a tool is the stricter of the two
    (hide > deny > confirm > allow), conditions and rate limits of both apply, and its windows are its own."""

    description: str | None = Field(default=None, description="who this is, for the people who maintain this file")
    token_sha256: str = Field(description="sha256 hex digest of the bearer token (`trakt-mcp identity add NAME`)")
    default: Action | None = Field(
        default=None, description="the action for tools none of its rules matches (default: the top level decides)"
    )
    trust_host: bool = Field(
        default=False,
        strict=True,
        description="true: this caller's own MCP client may answer its confirmations (channels host and app). "
        "Default false: a remote caller's questions go to the owner's desktop or terminal, never to its own client",
    )

    @field_validator("token_sha256")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not SHA256_HEX.match(value):
            raise ValueError("must be 64 lowercase hexadecimal characters (a SHA-256 digest, not the token)")
        return value


class Policy(Layer):
    """A policy document (version "1")."""

    schema_: str | None = Field(default=None, alias="$schema", description="JSON Schema of this file, for editors")
    description: str | None = Field(default=None, description="free text for the people who maintain this file")
    version: Literal["1"]
    default: Action = Field(default="deny", description="the action for tools no rule matches")
    identities: dict[str, Identity] = Field(
        default_factory=dict,
        description="callers (e.g. over HTTP) by name; each can only be stricter than the top level",
    )


@dataclass(frozen=True)
class RuleEntry:
    path: str
    selector: str
    rule: Rule


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def identity_for_token(policy: Policy, token: str) -> str | None:
    """The identity whose digest is sha256(token), compared in constant time against every identity."""
    offered = token_digest(token).encode("ascii")
    found = None
    for name, identity in policy.identities.items():
        if hmac.compare_digest(offered, identity.token_sha256.encode("ascii")):
            found = name
    return found


def policy_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "MCP guard policy"
    return schema


_KEYED = frozenset({"rules", "tools", "identities"})


def _json_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    keyed = False  # the previous part was a field whose value maps user-chosen keys
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
            keyed = False
            continue
        plain = (part.isidentifier() or part == "$schema") and not keyed
        text = part if plain else json.dumps(part)
        parts.append(f".{text}" if parts else text)
        keyed = not keyed and part in _KEYED
    return "".join(parts) or "(top level)"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model that owns the last key of `loc` (to list the keys allowed there)."""
    model: type[BaseModel] = Policy
    annotation: Any = None  # the type still being walked into: a list, a dict or an optional model
    for part in loc[:-1]:
        if annotation is None:
            field = model.model_fields.get(str(part))
            annotation = field.annotation if field else None
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]  # this part is an index or a user-chosen key
        if get_origin(annotation) is Union or isinstance(annotation, UnionType):
            annotation = next((a for a in get_args(annotation) if _is_model(a)), None)
        if _is_model(annotation):
            model, annotation = annotation, None
    return model


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _allowed_keys(loc: tuple[int | str, ...]) -> str:
    model = _model_at(loc)
    return ", ".join(field.alias or name for name, field in model.model_fields.items())


def explain(exc: ValidationError) -> list[str]:
    """One line per problem: 'rules."remove_*".rate_limit.max: ... Fix: ...'."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = _json_path(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problems.append(
                f"{where}: unknown key. Fix: remove it or correct its spelling (allowed here: {_allowed_keys(loc)})"
            )
        elif error["type"] == "missing":
            problems.append(f"{where}: required. Fix: add it")
        elif "Fix:" in message:
            problems.append(f"{where}: {message}")
        else:
            got = json.dumps(error.get("input"), default=str)
            problems.append(f"{where}: {message} (got {got}). Fix: change the value")
    return problems


def _identity_problems(policy: Policy) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for name, identity in policy.identities.items():
        where = f"identities.{json.dumps(name)}"
        if not IDENTITY_NAME.match(name):
            problems.append(f"{where}: not an identity name. Fix: use letters, digits, _ . or - (at most 64)")
        if identity.token_sha256 in seen:
            problems.append(
                f"{where}.token_sha256: the same digest as identities.{json.dumps(seen[identity.token_sha256])}. "
                "Fix: give each identity its own token (`trakt-mcp identity add NAME`)"
            )
        seen.setdefault(identity.token_sha256, name)
    return problems


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, explain(exc)) from None
    problems = _identity_problems(policy)
    if problems:
        raise PolicyError(source, problems)
    return policy


def read_policy(path: Path) -> Policy:
    """Read and validate a policy file (the catalog-dependent checks happen in the engine)."""
    try:
        text = read_regular_file(path)
    except OSError as exc:
        raise PolicyError(str(path), [f"cannot read the file ({exc.strerror}). Fix: check the path"]) from None
    except UnicodeDecodeError:
        raise PolicyError(str(path), ["the file is not UTF-8 text. Fix: save it as UTF-8 JSON"]) from None
    except ValueError as exc:
        raise PolicyError(str(path), [str(exc)]) from None
    try:
        data = jsonlimits.loads(text)
    except ValueError as exc:
        raise PolicyError(str(path), [f"{exc}. Fix: correct the JSON syntax"]) from None
    return parse_policy(data, str(path))
