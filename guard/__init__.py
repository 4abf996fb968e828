"""A policy guard for MCP servers: hide, deny, confirm and rate-limit tools before their handlers run, and audit
every decision. It knows nothing about the server it guards beyond a `Catalog` the host builds.

Where things are, by job (the data path runs one way: bind -> decide -> remember -> ask -> handler -> record):
- decide: `policy` (the document and its loading), `rules` (one rule: action, conditions, limit), `engine`
  (allow / deny / confirm / limit for a caller), `conditions` (argument conditions), `catalog` (what the host says
  its tools are), `selectors` (how rules name tools), `capabilities` (what a caller's grant opens), `names`,
  `preview` (a verdict ahead of time), `shadow_policy` (shadow rules split off: what acts, what would),
  `shadow_calls` (would_deny / would_confirm / would_limit for one call)
- test offline (policy as code): `verdicts` (one call judged as the gate judges it), `policytest` (cases files),
  `replay` (the audit log decided again), `policydiff`, `presets` (starter policies)
- remember: `store/` (one interface; `sqlite` by default, `postgres` for replicas sharing one database, with its
  shipped `migrations/`; `memory` for tests), `ratelimit`, `approvals`, `home`
  (the private state folder), `reload` (the policy file, re-read when it changes)
- ask: `channels/` (`host` elicitation, `app` card, `desktop` dialog, `terminal` codes), `progress`
- bind: `middleware` (the one MCP choke point), `calls` (a request's subject and verdict), `exact_ids`,
  `jsonlimits` (bounded JSON from outside)
- record: `audit` (the append-only trail), `auditchain` (its HMAC chain), `auditverify` (finding a break),
  `audit_table` (the replicas' trail in the database, chained the same way)
- say: `commands` (how messages name the host's commands and install steps; the host configures it)

The names below are loaded on first use, so a command that only reads a policy (`guard.policy`) does not pay for
importing the MCP SDK that the middleware needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guard.catalog import Catalog, ResourceInfo, ToolInfo
    from guard.engine import Decision, Engine, PolicyError
    from guard.middleware import Guard
    from guard.policy import Identity, Policy, identity_for_token

_EXPORTS = {
    "Catalog": "guard.catalog",
    "ResourceInfo": "guard.catalog",
    "ToolInfo": "guard.catalog",
    "Decision": "guard.engine",
    "Engine": "guard.engine",
    "PolicyError": "guard.engine",
    "Guard": "guard.middleware",
    "Identity": "guard.policy",
    "Policy": "guard.policy",
    "identity_for_token": "guard.policy",
}

__all__ = [
    "Catalog",
    "Decision",
    "Engine",
    "Guard",
    "Identity",
    "Policy",
    "PolicyError",
    "ResourceInfo",
    "ToolInfo",
    "identity_for_token",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'guard' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
