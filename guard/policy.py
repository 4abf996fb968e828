"""The policy document: pydantic models of the JSON a user writes, and loading with errors that name the JSON path
and the fix.

Rules are read through `Policy.rule_entries()`, the one place that turns the document into (path, selector, rule)
triples, so another spelling of rules (e.g. gateway-style `tools` entries with argument conditions) can be added as
a second source there without touching the engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.config import JsonDict

Action = Literal["allow", "deny", "confirm"]
ACTION_SYNONYMS = {"require_approval": "confirm"}
NAMED_WINDOWS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
MAX_WINDOW = 31 * 86400.0


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
    """At most `max` calls in any `window` seconds (a sliding window)."""

    max: int = Field(ge=1, le=1_000_000, strict=True, description="calls allowed per window")
    window: float = Field(
        gt=0,
        le=MAX_WINDOW,
        description='window length in seconds, or "second", "minute", "hour", "day"',
        json_schema_extra=lambda schema: _window_schema(schema),
    )

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


class Rule(_Strict):
    """What happens to the tools a selector matches."""

    action: Action = Field(
        description='"allow", "deny" or "confirm" ("require_approval" is a synonym of confirm)',
        json_schema_extra={"enum": ["allow", "deny", "confirm", *ACTION_SYNONYMS]},
    )
    reason: str | None = Field(default=None, max_length=500, description="shown to the agent when this rule blocks")
    rate_limit: RateLimit | None = None

    @field_validator("action", mode="before")
    @classmethod
    def _synonyms(cls, value: Any) -> Any:
        return ACTION_SYNONYMS.get(value, value) if isinstance(value, str) else value


class Policy(_Strict):
    """A policy document (version "1")."""

    schema_: str | None = Field(default=None, alias="$schema", description="JSON Schema of this file, for editors")
    description: str | None = Field(default=None, description="free text for the people who maintain this file")
    version: Literal["1"]
    default: Action = Field(default="deny", description="the action for tools no rule matches")
    hide: list[str] = Field(default_factory=list, description="selectors of tools the agent never sees")
    rules: dict[str, Rule] = Field(
        default_factory=dict,
        description='selector -> rule. Selectors: exact tool name, glob ("remove_*"), "@group" or "@risk"',
    )

    def rule_entries(self) -> Iterator[RuleEntry]:
        for selector, rule in self.rules.items():
            yield RuleEntry(path=f"rules.{json.dumps(selector)}", selector=selector, rule=rule)

    def hide_entries(self) -> Iterator[tuple[str, str]]:
        for index, selector in enumerate(self.hide):
            yield f"hide[{index}]", selector


@dataclass(frozen=True)
class RuleEntry:
    path: str
    selector: str
    rule: Rule


def policy_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "MCP guard policy"
    return schema


_ALLOWED_KEYS: dict[int, type[BaseModel]] = {1: Policy, 3: Rule, 4: RateLimit}


def _json_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif (part.isidentifier() or part == "$schema") and not (index == 1 and loc[0] == "rules"):
            parts.append(f".{part}" if parts else part)
        else:
            parts.append(f".{json.dumps(part)}" if parts else json.dumps(part))
    return "".join(parts) or "(top level)"


def _allowed_keys(depth: int) -> str:
    model = _ALLOWED_KEYS.get(depth, Policy)
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
                f"{where}: unknown key. Fix: remove it or correct its spelling (allowed here: "
                f"{_allowed_keys(len(loc))})"
            )
        elif error["type"] == "missing":
            problems.append(f"{where}: required. Fix: add it")
        else:
            got = json.dumps(error.get("input"), default=str)
            problems.append(f"{where}: {message} (got {got}). Fix: change the value")
    return problems


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, explain(exc)) from None


def read_policy(path: Path) -> Policy:
    """Read and validate a policy file (the catalog-dependent checks happen in the engine)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), [f"cannot read the file ({exc.strerror}). Fix: check the path"]) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        detail = (
            f"line {exc.lineno} column {exc.colno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        )
        raise PolicyError(str(path), [f"not valid JSON at {detail}. Fix: correct the JSON syntax"]) from None
    return parse_policy(data, str(path))
