"""The built-in policy (no policy file): reads and writes allowed; destructive tools, and every generic write
through call_trakt_api, confirmed; call_trakt_api kept away from the OAuth endpoints. Its rules are named
`built-in rules."remove_*"`, never as a path in a file."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from guard.calls import BUILTIN_PATH
from guard.catalog import ENDPOINT_PREFIX, Catalog
from guard.engine import matches_any
from guard.policy import Policy, Rule, RuleEntry
from trakt_mcp.tools import endpoints

_CONFIRM = Rule(action="confirm", reason="destructive: removes data from the Trakt account")
_GENERIC_WRITE = Rule(action="confirm", reason="a generic write: call_trakt_api changes the Trakt account")
_GENERIC_AUTH = Rule(action="deny", reason="sign-in and sign-out have their own tools (start_device_auth, clear_auth)")
#: The built-in policy's rules; each applies only when a registered tool or endpoint matches it. Every generic
#: write is confirmed; the OAuth endpoints are denied to call_trakt_api (exact names outrank the globs).
BUILTIN_RULES = {
    "@destructive": _CONFIRM,
    "remove_*": _CONFIRM,
    "clear_auth": _CONFIRM,
    **{f"{ENDPOINT_PREFIX}{method} *": _GENERIC_WRITE for method in ("POST", "PUT", "DELETE")},
    **{f"{ENDPOINT_PREFIX}{e.key}": _GENERIC_AUTH for e in endpoints.catalogue() if e.risk == "auth"},
}


class BuiltinPolicy(Policy):
    """The policy without a file: its rules are named `built-in rules."remove_*"`, never as a path in a file."""

    def rule_entries(self, prefix: str = "") -> Iterator[RuleEntry]:
        for entry in super().rule_entries(prefix):
            yield dataclasses.replace(entry, path=BUILTIN_PATH + entry.path.removeprefix("rules."))


def builtin_policy(catalog: Catalog) -> Policy:
    rules = {selector: rule for selector, rule in BUILTIN_RULES.items() if matches_any(selector, catalog)}
    return BuiltinPolicy(version="1", default="allow", rules=rules)
