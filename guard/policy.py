"""The policy document: pydantic models of the JSON a user writes, and loading with errors that name the JSON path
and the fix.

Two spellings of rules load with one meaning: our `rules` (selector -> rule with an `action`) and the `tools` entries
of MCP gateway documents (selector -> rule whose action defaults to allow, so `{}` allows). Both are read through
`rule_entries()`, the one place that turns a layer of the document into (path, selector, rule) triples. A policy may
also declare `identities`: callers known by the SHA-256 digest of their bearer token, each a layer of its own that
can only make the top level stricter (see guard.engine). The rule models live in guard.rules and are re-exported
here, the policy document's one entry point.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, ValidationError, field_validator

from guard import commands, jsonlimits
from guard.capabilities import Capability
from guard.home import HomeError, read_regular_file
from guard.rules import (
    ACTION_SYNONYMS,
    HOST_CHANNELS,
    Action,
    AllTools,
    ChannelName,
    Condition,
    Count,
    RateLimit,
    Rule,
    Strict,
    ToolRule,
)

IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class PolicyError(Exception):
    """The policy cannot be used. Each problem names the JSON path and how to fix it."""

    def __init__(self, source: str, problems: list[str], rest: Policy | None = None) -> None:
        self.source = source
        self.problems = problems
        #: The policy without its invalid entries, when only entries were invalid: checking it against the tools
        #: finds the remaining problems now, so that all of them are reported in one round.
        self.rest = rest
        super().__init__(f"invalid policy {source}:\n" + "\n".join(f"  - {p}" for p in problems))


class Layer(Strict):
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

    def sets_rate_limits(self) -> bool:
        """Whether any rule or quota of this layer counts calls in a rate-limit window."""
        return any(entry.rule.all_limits for entry in self.rule_entries()) or any(self.quota_entries())


class Identity(Layer):
    """A caller known by the SHA-256 digest of its bearer token (the token itself is never in the file). Its
    layer only ever makes the top level stricter: the effective action for a tool is the stricter of the two
    (hide > deny > confirm > allow), conditions and rate limits of both apply, and its windows are its own."""

    description: str | None = Field(default=None, description="who this is, for the people who maintain this file")
    token_sha256: str = Field(description="sha256 hex digest of the bearer token (the `identity add NAME` command)")
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
    capabilities: dict[str, Capability] = Field(
        default_factory=dict,
        description="what a person may let one app do (multi-user mode's consent page): change the server's "
        'capabilities by name ({"checkin": {"offer": "off"}} turns one off for everyone) or add your own',
    )

    def sets_rate_limits(self) -> bool:
        return super().sets_rate_limits() or any(layer.sets_rate_limits() for layer in self.identities.values())


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


_KEYED = frozenset({"rules", "tools", "identities", "capabilities"})


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
                f"Fix: give each identity its own token (`{commands.command('identity add NAME')}`)"
            )
        seen.setdefault(identity.token_sha256, name)
    return problems


def parse_policy(data: Any, source: str = "<policy>") -> Policy:
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, explain(exc), _without_invalid_entries(data, exc)) from None
    problems = _identity_problems(policy)
    if problems:
        raise PolicyError(source, problems)
    return policy


#: Where an invalid entry can be left out and the rest still checked: (path prefix, how deep the entry is).
_ENTRY_DEPTHS = {"rules": 2, "tools": 2, "hide": 2, "identities": 4, "capabilities": 2}


def _without_invalid_entries(data: Any, exc: ValidationError) -> Policy | None:
    """The policy with each invalid rule, tools entry or hide entry left out, or None when something else (a
    top-level field, the file's shape) is wrong."""
    if not isinstance(data, dict):
        return None
    pruned = json.loads(json.dumps(data))
    removals: list[tuple[Any, ...]] = []
    for error in exc.errors():
        location = tuple(error["loc"])
        depth = _ENTRY_DEPTHS.get(str(location[0])) if location else None
        if depth is None or len(location) < depth:
            return None
        removals.append(location[:depth])
    for location in sorted(set(removals), key=lambda loc: [str(part) for part in loc], reverse=True):
        parent = pruned
        for part in location[:-1]:
            parent = parent[part]
        del parent[location[-1]]
    try:
        return Policy.model_validate(pruned)
    except (ValidationError, KeyError, IndexError, TypeError):
        return None


def read_policy(path: Path) -> Policy:
    """Read and validate a policy file (the catalog-dependent checks happen in the engine)."""
    try:
        text = read_regular_file(path, owners="policy")
    except HomeError as exc:
        raise PolicyError(str(path), [str(exc)]) from None
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


__all__ = [
    "ACTION_SYNONYMS",
    "HOST_CHANNELS",
    "IDENTITY_NAME",
    "Action",
    "AllTools",
    "Capability",
    "ChannelName",
    "Condition",
    "Count",
    "Identity",
    "Layer",
    "Policy",
    "PolicyError",
    "RateLimit",
    "Rule",
    "RuleEntry",
    "ToolRule",
    "identity_for_token",
    "parse_policy",
    "policy_schema",
    "read_policy",
    "token_digest",
]
