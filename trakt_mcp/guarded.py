"""The one place the Trakt server meets the guard: the guard's catalog from the registered ToolSpecs and
resources, the policy in force (the file from settings, else the built-in one), and the middleware."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from guard import progress
from guard.approvals import Approvals
from guard.audit import AuditLog
from guard.catalog import Catalog, ResourceInfo, ToolInfo
from guard.engine import Engine, matches_any
from guard.middleware import Guard
from guard.policy import Policy, Rule, read_policy
from guard.reload import PolicyWatcher
from trakt_mcp.errors import TraktError
from trakt_mcp.http import request_identity
from trakt_mcp.resources import RESOURCES, TEMPLATES
from trakt_mcp.settings import Settings
from trakt_mcp.tools import tools_by_name
from trakt_mcp.tools.spec import ToolSpec, explain_validation_error, published_schema

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App

APPROVE_COMMAND = "trakt-mcp approve"
BUILTIN = "built-in (reads and writes allowed; destructive tools need confirmation)"
_CONFIRM = Rule(action="confirm", reason="destructive: removes data from the Trakt account")
#: The built-in policy's rules; each applies only when a registered tool matches it.
BUILTIN_RULES = {"@destructive": _CONFIRM, "remove_*": _CONFIRM, "clear_auth": _CONFIRM}


def audit_path(settings: Settings) -> Path:
    return settings.home / "audit.jsonl"


def approvals(settings: Settings) -> Approvals:
    return Approvals(settings.home / "approvals")


def status_path(settings: Settings) -> Path:
    return settings.home / "guard-status.json"


def build_catalog(app: App | None, tools: dict[str, ToolSpec[Any]] | None = None) -> Catalog:
    """What the guard knows of this server: every ToolSpec registered now, and the resources that expose them."""
    specs = tools_by_name() if tools is None else tools

    async def describe(name: str, arguments: dict[str, Any]) -> str:
        spec = specs[name]
        try:
            return await spec.describe(app, arguments) if app is not None else spec.title
        except (TraktError, ValidationError):
            return f"{spec.title} with {json.dumps(arguments, ensure_ascii=False, sort_keys=True)}"

    def validate(name: str, arguments: dict[str, Any]) -> str | None:
        try:
            specs[name].parse(arguments)
        except ValidationError as exc:
            return f"Invalid arguments, nothing was sent: {explain_validation_error(exc)}"
        return None

    return Catalog.build(
        (
            ToolInfo(spec.name, spec.group, spec.risk, spec.title, published_schema(spec.args))
            for spec in specs.values()
        ),
        (ResourceInfo(r.uri, r.tool, r.arguments) for r in RESOURCES if r.tool in specs),
        describe=describe,
        validate=validate,
        templates=(ResourceInfo(t.uri, t.tool, t.arguments) for t in TEMPLATES if t.tool in specs),
    )


def builtin_policy(catalog: Catalog) -> Policy:
    rules = {selector: rule for selector, rule in BUILTIN_RULES.items() if matches_any(selector, catalog)}
    return Policy(version="1", default="allow", rules=rules)


def load_engine(settings: Settings, catalog: Catalog) -> Engine:
    """The engine for the policy in force; raises guard.PolicyError naming the JSON path and the fix."""
    if settings.policy is None:
        return Engine(builtin_policy(catalog), catalog, "built-in")
    return Engine(read_policy(settings.policy), catalog, str(settings.policy))


class SharedWatcher(PolicyWatcher):
    """The watcher is read by the guard, which tells sessions when the visible tools change, and by the HTTP
    bearer check (`policy`), which cannot: a change that check picks up is kept for the guard to announce."""

    _unannounced = False

    def policy(self) -> Policy:
        engine, changed = super().current()
        self._unannounced = self._unannounced or changed
        return engine.policy

    def current(self) -> tuple[Engine, bool]:
        engine, changed = super().current()
        changed, self._unannounced = changed or self._unannounced, False
        return engine, changed


def policy_in_force(app: App) -> Callable[[], Policy]:
    """Reads the policy in force, hot reload included (for the HTTP transport's bearer check)."""
    assert app.guard is not None, "the guard is installed when the server is built"
    watcher = app.guard.watcher
    assert isinstance(watcher, SharedWatcher)
    return watcher.policy


def install(server: MCPServer, app: App, tools: dict[str, ToolSpec[Any]]) -> Guard:
    """Add the guard to the server (raises PolicyError when the policy is invalid: never start unguarded)."""
    settings = app.settings
    catalog = build_catalog(app, tools)
    watcher = SharedWatcher(lambda: load_engine(settings, catalog), settings.policy, status_file=status_path(settings))
    guard = Guard(
        watcher,
        audit=AuditLog(audit_path(settings)),
        approvals=approvals(settings),
        approve_command=APPROVE_COMMAND,
        identify=request_identity,
    )
    server.middleware.append(guard)
    app.guard = guard
    # The guard binds each request's progress reporter; Trakt waits (paging, retries, sign-in polls) report to it.
    app.client.progress = app.auth.progress = progress.report
    return guard


def policy_summary(settings: Settings) -> str:
    """One line for `trakt-mcp status`: which policy applies, and the last rejected edit if any."""
    if settings.policy is None:
        return BUILTIN
    try:
        status = json.loads(status_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        status = {}
    error = status.get("error") if status.get("policy") == str(settings.policy) else None
    if error:
        return f"{settings.policy} (last edit rejected, the previous version is in force: {error})"
    return str(settings.policy)
