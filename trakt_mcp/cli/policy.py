"""`trakt-mcp policy check|explain|schema`, `approve CODE` and `audit`: the guard's commands for people.

`trakt_mcp.server.guarded` (which loads the MCP SDK) is imported inside the commands that need it, so that building the
command line stays cheap for every command, the server's own start-up included."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from guard.approvals import ApprovalError
from guard.catalog import InvalidArguments
from guard.engine import LEVELS, Decision, Engine, Quota, UnknownIdentity, View
from guard.policy import PolicyError, policy_schema
from guard.routing import judge_routed
from trakt_mcp.cli import policycode
from trakt_mcp.settings import Settings
from trakt_mcp.terminal import ask as terminal_ask
from trakt_mcp.terminal import command, printable

EXIT_INVALID = 2


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    policy = subcommands.add_parser("policy", parents=[common], help="check, explain and describe guard policies")
    actions = policy.add_subparsers(title="policy commands", metavar="ACTION", required=True)
    check = actions.add_parser("check", parents=[common], help="validate a policy and show every tool's action")
    check.add_argument("path", nargs="?", help="policy file (default: --policy / TRAKT_MCP_POLICY / built-in)")
    check.add_argument("--identity", metavar="NAME", help="show this identity's effective table")
    check.set_defaults(run=run_check)
    explain = actions.add_parser("explain", parents=[common], help="which rules match a tool, and which decides")
    explain.add_argument("tool")
    explain.add_argument("--identity", metavar="NAME", help="explain for this identity")
    explain.add_argument("--args", metavar="JSON", help="decide for a call with these arguments: which condition fires")
    explain.set_defaults(run=run_explain)
    show = actions.add_parser(
        "show",
        parents=[common],
        help="print the policy in force (--policy / TRAKT_MCP_POLICY, else the built-in one) as JSON",
        description="The output is a valid policy file: `policy show --builtin > policy.json` starts one to edit.",
    )
    show.add_argument("--builtin", action="store_true", help="the built-in policy, whatever --policy says")
    show.set_defaults(run=run_show)
    schema = actions.add_parser("schema", parents=[common], help="print the policy file's JSON Schema")
    schema.set_defaults(run=lambda args, settings: _print_schema())
    policycode.register(actions, common)

    approve = subcommands.add_parser(
        "approve",
        parents=[common],
        help="approve, at this terminal, an action an agent asked for (one use); without a code, list what waits",
    )
    approve.add_argument("code", nargs="?", help="the code the agent passed on, e.g. ABCD-2345")
    approve.set_defaults(run=run_approve)


def _engine(settings: Settings) -> Engine | None:
    from trakt_mcp.server import guarded

    try:
        return guarded.load_engine(settings, guarded.build_catalog(None))
    except PolicyError as exc:
        print(f"trakt-mcp: {exc}", file=sys.stderr)
        return None


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    """The policy in force as a policy file (quick restrictions included as hide entries), and on stderr which."""
    if args.builtin:
        settings = settings.model_copy(update={"policy": None})
    engine = _engine(settings)
    if engine is None:
        return EXIT_INVALID
    document = engine.policy.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    print(json.dumps({"version": engine.policy.version, **document}, indent=2, ensure_ascii=False))
    print(f"# the policy in force: {_source(engine.source)}", file=sys.stderr)
    return 0


def _source(source: str) -> str:
    return source.replace("built-in", "built-in (no --policy or TRAKT_MCP_POLICY given)", 1)


def _print_schema() -> int:
    print(json.dumps(policy_schema(), indent=2))
    return 0


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _view(engine: Engine, identity: str | None) -> View | None:
    try:
        return engine.view(identity)
    except UnknownIdentity:
        known = ", ".join(engine.policy.identities) or "none"
        print(f"trakt-mcp: the policy declares no identity {identity!r} (declared: {known})", file=sys.stderr)
        return None


def _limits(quotas: Sequence[Quota]) -> str:
    return ", ".join(f"{q.limit.max} per {q.limit.window:g}s" for q in quotas) or "-"


def _conditions(decision: Decision) -> str:
    words = {"require": "require", "deny_if": "deny if", "confirm_if": "confirm if"}
    return "; ".join(f"{words[check.kind]} {check.text}" for check in decision.checks) or "-"


def _heading(engine: Engine, view: View) -> str:
    who = f"identity {view.identity}" if view.identity else "the local user (stdio)"
    lines = [f"policy: {_source(engine.source)} (valid), for {who}"]
    if view.shared:
        quotas = "; ".join(f"{_limits([q])} ({q.path})" for q in view.shared)
        lines.append(f"shared by every call: {quotas}")
    if engine.policy.identities and view.identity is None:
        lines.append(f"identities: {', '.join(engine.policy.identities)} (see --identity NAME)")
    if engine.shadow is not None:
        lines.append(
            f"shadow: {engine.shadow.source} decides beside it without acting; the table shows what acts "
            f"(`{command('audit --shadow')}` sums what the shadow would have done)"
        )
    return "\n".join(lines)


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    if args.path:
        settings = settings.model_copy(update={"policy": Path(args.path)})
    engine = _engine(settings)
    view = _view(engine, args.identity) if engine else None
    if engine is None or view is None:
        return EXIT_INVALID
    rows = [("TOOL", "GROUP", "RISK", "ACTION", "RATE LIMIT", "CONDITIONS", "DECIDED BY")]
    for name, tool in sorted(engine.catalog.tools.items()):
        decision = view.decisions[name]
        if tool.endpoint and decision.rule == "default":
            continue  # the endpoints call_trakt_api reaches: listed when a rule (or a flag) decides them
        own = [quota for quota in decision.limits if quota not in view.shared]
        rows.append((name, tool.group, tool.risk, decision.action, _limits(own), _conditions(decision), decision.rule))
    print(_heading(engine, view) + "\n")
    print(_table(rows))
    return 0


def _arguments(text: str | None) -> dict[str, Any] | str | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"--args is not valid JSON ({exc})"
    return value if isinstance(value, dict) else "--args must be a JSON object, e.g. '{\"items\": []}'"


def run_explain(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    view = _view(engine, args.identity) if engine else None
    if engine is None or view is None:
        return EXIT_INVALID
    name = engine.resolve(args.tool, endpoints=True)
    arguments = _arguments(args.args)
    if name is None or isinstance(arguments, str):
        problem = arguments if isinstance(arguments, str) else f"no tool named {args.tool!r} (see `policy check`)"
        print(f"trakt-mcp: {problem}", file=sys.stderr)
        return EXIT_INVALID
    decision = view.decisions[name]
    tool = engine.catalog.tools[name]
    who = f" for identity {view.identity}" if view.identity else ""
    print(f"{name} (group @{tool.group}, risk @{tool.risk}) under {engine.source}{who}:")
    matches = engine.explain(name, view.identity)
    for match in matches:
        marker = "-> decides" if match.path == decision.rule else "   matches " if view.identity else "   overridden"
        what = "hide" if match.rule is None else match.rule.action
        print(f"  {marker}  {match.path}: {what} ({match.kind} match)")
    if decision.rule == "default" or not matches:
        print(f"  -> decides  default: {decision.action} (no hide entry or rule of this layer matches)")
    for check in decision.checks:
        print(f"  condition   {check.path}: {check.kind} {check.text}")
    for quota in decision.limits:
        print(f"  rate limit  {quota.path}: at most {_limits([quota])}")
    order = ", ".join(LEVELS)
    print(f"\nEffective: {decision.action}. Precedence: hide, then {order}, then default.")
    if view.identity:
        print("An identity can only be stricter than the top level: the stricter action wins, all limits apply.")
    via = decision.confirm_via
    if arguments is not None and tool.routed:
        return _explain_route(view, decision, arguments)
    if arguments is not None:
        outcome = decision.judge(arguments)
        fired = f"fired {outcome.rule}: {outcome.condition}" if outcome.condition else f"decided by {outcome.rule}"
        reason = f" ({outcome.reason})" if outcome.reason else ""
        print(f"With --args: {outcome.action}, {fired}{reason}")
        via = outcome.confirm_via if outcome.action == "confirm" else None
        if outcome.action != "confirm":
            return 0
    if decision.may_ask:
        _print_channels(engine, view, via)
    return 0


def _explain_route(view: View, decision: Decision, arguments: dict[str, Any]) -> int:
    """For call_trakt_api --args: the endpoint the call reaches and what decides it."""
    try:
        canonical = view.catalog.normalize(decision.tool, arguments) if view.catalog.normalize else arguments
        judged = judge_routed(view, decision, canonical)
    except InvalidArguments as exc:
        print(f"trakt-mcp: {exc}", file=sys.stderr)
        return EXIT_INVALID
    outcome = judged.outcome
    fired = f"fired {outcome.rule}: {outcome.condition}" if outcome.condition else f"decided by {outcome.rule}"
    reason = f" ({outcome.reason})" if outcome.reason else ""
    print(f"With --args: reaches endpoint {judged.endpoint}: {outcome.action}, {fired}{reason}")
    print(f'(see `policy explain "api:{judged.endpoint}"` for every rule matching that endpoint)')
    return 0


def _print_channels(engine: Engine, view: View, via: Sequence[str] | None) -> None:
    """Who would be asked to confirm, here and now, for this caller."""
    import os
    import shutil

    from guard.channels.base import DEFAULT_ORDER, plan
    from guard.channels.desktop import find_dialog

    identity = engine.policy.identities.get(view.identity) if view.identity else None
    trusted = view.identity is None or (identity is not None and identity.trust_host)
    found = find_dialog(sys.platform, os.environ, shutil.which)
    usable = {"desktop": found if isinstance(found, str) else None, "terminal": None}
    order = via or DEFAULT_ORDER
    lines, chosen = plan(order, trusted, usable)
    source = "confirm_via" if via else "the default order"
    print(f"\nConfirmation channels ({source}), the first that can ask is used:")
    for line in lines:
        print(f"  {line}")
    print(f"Would ask through: {chosen}")
    if view.identity is None:
        print(
            "A person signed in to multi-user mode (serve --public-url) is asked only on their own approval page, "
            "<public-url>/approvals, never through these channels."
        )


def _elsewhere(settings: Settings) -> str:
    return (
        f"(looked in the state folder {settings.home}; a server started with another TRAKT_MCP_HOME or --home keeps "
        "its approvals there: pass the same --home)"
    )


def list_waiting(settings: Settings) -> int:
    """`trakt-mcp approve` without a code: what waits for the owner, newest last."""
    from trakt_mcp.server import guarded

    waiting = [pending for pending in guarded.approvals(settings).waiting() if not pending.approved]
    if not waiting:
        print(f"Nothing waits for approval {_elsewhere(settings)}.")
        return 0
    now = time.time()
    rows = [("CODE", "EXPIRES", "ASKED BY", "TOOL", "EFFECT")]
    for pending in waiting:
        who = f"identity {pending.identity}" if pending.identity else "local user"
        action = pending.action if len(pending.action) <= 70 else pending.action[:69] + "…"
        rows.append((pending.code, f"in {max(0, round(pending.expires - now))} s", who, pending.tool, action))
    print(_table([tuple(printable(cell) for cell in row) for row in rows]))
    print(f"\nApprove one with `{guarded.approve_command(settings)} CODE` (state folder {settings.home}).")
    return 0


def without_nulls(value: Any) -> Any:
    """The arguments as a person reads them: the fields left unset (null) are not listed."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def run_approve(args: argparse.Namespace, settings: Settings, ask: Callable[[str], str] = terminal_ask) -> int:
    from trakt_mcp.server import guarded

    if args.code is None:
        return list_waiting(settings)
    store = guarded.approvals(settings)
    try:
        pending = store.load(args.code)
    except ApprovalError as exc:
        print(f"trakt-mcp approve: {exc} {_elsewhere(settings)}", file=sys.stderr)
        return 1
    if not sys.stdin.isatty():
        print(
            "trakt-mcp approve: refusing: approvals need a person at a real terminal (stdin is not one)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    left = max(0, round(pending.expires - time.time()))
    who = f"An agent (identity {printable(pending.identity)})" if pending.identity else "An agent"
    print(f"{who} asks to run {printable(pending.tool)}:\n\n  {printable(pending.action)}\n")
    shown = json.dumps(without_nulls(pending.arguments), indent=2, ensure_ascii=False).split("\n")
    print("Arguments: " + "\n".join(printable(line) for line in shown))
    print(f"(request {pending.code}, expires in {left} s; approval allows ONE call with exactly these arguments)")
    answer = ask("Approve? [y/N] ").strip().lower()
    approved = answer in ("y", "yes")
    try:
        store.decide(pending.code, approved)
    except ApprovalError as exc:
        print(f"trakt-mcp approve: {exc}", file=sys.stderr)
        return 1
    print("Approved: the agent may now repeat the call once." if approved else "Not approved; request discarded.")
    return 0 if approved else 1
