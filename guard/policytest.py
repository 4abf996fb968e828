"""`policy test`: a policy tested like code. A cases file (JSON, or TOML read by the standard library) lists calls
and the verdict each must get; every case runs through the real engine, catalogue and argument normalisation
(guard.verdicts), with rate-limit windows of its own, and the report names each case that fails.

    policy = "policy.example.json"      # relative to the cases file; --policy overrides it
    [[cases]]
    name = "a bulk removal is refused"
    tool = "remove_from_history"
    arguments = { items = [ ... ] }
    expect = "deny"                     # allow, confirm, limited, deny, hide, invalid
    rule = 'rules."remove_from_history".deny_if[0]'   # optional: the JSON path that must decide
    channels = ["desktop", "terminal"]  # optional, for confirm: the channels in order, or "default"
    calls = 6                           # optional: the verdict of the 6th such call (the 5 before count)
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guard.engine import Engine
from guard.home import read_regular_file
from guard.ratelimit import RateLimiter
from guard.store.memory import MemoryStore
from guard.verdicts import Judged, judge_call

Expected = Literal["allow", "confirm", "limited", "deny", "hide", "invalid"]
#: Every repeated call of a case happens at this instant: windows of any length hold them all.
_NOW = 1_000_000_000.0


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, max_length=200)
    identity: str | None = Field(default=None, max_length=64)
    tool: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] = Field(default_factory=dict)
    expect: Expected
    rule: str | None = Field(default=None, max_length=500)
    channels: list[str] | Literal["default"] | None = None
    calls: int = Field(default=1, ge=1, le=10_000, strict=True)

    @property
    def title(self) -> str:
        return self.name or f"{self.tool} -> {self.expect}"


class CasesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str | None = Field(default=None, description="the policy under test, relative to this file")
    description: str | None = None
    cases: list[Case] = Field(min_length=1, max_length=10_000)


class CasesError(ValueError):
    """The cases file cannot be used; the message names the file, the case and the fix."""


@dataclass(frozen=True)
class Result:
    case: Case
    got: Judged
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def read_cases(path: Path) -> CasesFile:
    try:
        text = read_regular_file(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CasesError(f"{path}: cannot read the cases file ({exc}). Fix: check the path") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except ValueError as exc:
        kind = "TOML" if path.suffix == ".toml" else "JSON (name the file .toml for TOML)"
        raise CasesError(f"{path}: not valid {kind}: {exc}. Fix: correct the syntax") from None
    try:
        return CasesFile.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  - {problem}" for problem in _explain(exc))
        raise CasesError(f"{path}: invalid cases:\n{problems}") from None


def _explain(exc: ValidationError) -> list[str]:
    """One line per problem, naming the case by its index: 'cases[3].expect: ...'."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "top"
        if error["type"] == "extra_forbidden":
            model = Case if len(loc) == 3 and loc[0] == "cases" else CasesFile
            allowed = ", ".join(model.model_fields)
            problems.append(f"{where}: unknown key. Fix: remove it or correct its spelling (allowed: {allowed})")
        elif error["type"] == "missing":
            problems.append(f"{where}: required. Fix: add it")
        else:
            got = json.dumps(error.get("input"), default=str)[:80]
            problems.append(f"{where}: {error['msg']} (got {got}). Fix: change the value")
    return problems


def policy_of(path: Path, cases: CasesFile) -> Path | None:
    """The policy the cases file names, relative to the file; None when it names none."""
    return (path.parent / cases.policy) if cases.policy else None


def run_case(engine: Engine, case: Case) -> Result:
    limiter = RateLimiter(lambda: _NOW, MemoryStore())
    got = judge_call(engine, case.identity, case.tool, case.arguments, limiter)
    for _ in range(case.calls - 1):
        got = judge_call(engine, case.identity, case.tool, case.arguments, limiter)
    problems = []
    if got.verdict != case.expect:
        detail = f" ({got.detail})" if got.detail else ""
        problems.append(f"expected {case.expect}, got {got.verdict}{detail}")
    if case.rule is not None and got.rule != case.rule:
        problems.append(f"expected rule {case.rule}, decided by {got.rule}")
    if case.channels is not None and got.verdict == "confirm":
        shown = "default" if got.channels is None else list(got.channels)
        if shown != case.channels:
            problems.append(f"expected channels {case.channels}, got {shown}")
    return Result(case, got, tuple(problems))


def run_cases(engine: Engine, cases: CasesFile) -> list[Result]:
    return [run_case(engine, case) for case in cases.cases]
