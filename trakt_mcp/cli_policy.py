"""`trakt-mcp policy check|explain|schema`, `approve CODE` and `audit`: the guard's commands for people."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from guard.approvals import ApprovalError
from guard.engine import LEVELS, Engine
from guard.policy import PolicyError, policy_schema
from trakt_mcp import guarded
from trakt_mcp.settings import Settings

EXIT_INVALID = 2


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    policy = subcommands.add_parser("policy", parents=[common], help="check, explain and describe guard policies")
    actions = policy.add_subparsers(title="policy commands", metavar="ACTION", required=True)
    check = actions.add_parser("check", parents=[common], help="validate a policy and show every tool's action")
    check.add_argument("path", nargs="?", help="policy file (default: --policy / TRAKT_MCP_POLICY / built-in)")
    check.set_defaults(run=run_check)
    explain = actions.add_parser("explain", parents=[common], help="which rules match a tool, and which decides")
    explain.add_argument("tool")
    explain.set_defaults(run=run_explain)
    schema = actions.add_parser("schema", parents=[common], help="print the policy file's JSON Schema")
    schema.set_defaults(run=lambda args, settings: _print_schema())

    approve = subcommands.add_parser(
        "approve", parents=[common], help="approve, at this terminal, an action an agent asked for (one use)"
    )
    approve.add_argument("code", help="the code the agent passed on, e.g. ABCD-2345")
    approve.set_defaults(run=run_approve)

    audit = subcommands.add_parser("audit", parents=[common], help="show the latest guard decisions")
    audit.add_argument("-n", "--count", type=int, default=20, help="how many entries (default 20)")
    audit.set_defaults(run=run_audit)


def _engine(settings: Settings) -> Engine | None:
    try:
        return guarded.load_engine(settings, guarded.build_catalog(None))
    except PolicyError as exc:
        print(f"trakt-mcp: {exc}", file=sys.stderr)
        return None


def _print_schema() -> int:
    print(json.dumps(policy_schema(), indent=2))
    return 0


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    if args.path:
        settings = settings.model_copy(update={"policy": Path(args.path)})
    engine = _engine(settings)
    if engine is None:
        return EXIT_INVALID
    rows = [("TOOL", "GROUP", "RISK", "ACTION", "RATE LIMIT", "DECIDED BY")]
    for name, tool in sorted(engine.catalog.tools.items()):
        decision = engine.decisions[name]
        limit = decision.rate_limit
        rate = f"{limit.max} per {limit.window:g}s" if limit else "-"
        rows.append((name, tool.group, tool.risk, decision.action, rate, decision.rule))
    print(f"policy: {engine.source} (valid)\n")
    print(_table(rows))
    return 0


def run_explain(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    if engine is None:
        return EXIT_INVALID
    name = engine.resolve(args.tool)
    if name is None:
        print(f"trakt-mcp: no tool named {args.tool!r} (see `trakt-mcp policy check`)", file=sys.stderr)
        return EXIT_INVALID
    decision = engine.decisions[name]
    tool = engine.catalog.tools[name]
    print(f"{name} (group @{tool.group}, risk @{tool.risk}) under {engine.source}:")
    matches = engine.explain(name)
    for match in matches:
        marker = "-> decides" if match.path == decision.rule else "   overridden"
        what = "hide" if match.rule is None else match.rule.action
        print(f"  {marker}  {match.path}: {what} ({match.kind} match)")
    if not matches:
        print(f"  -> decides  default: {decision.action} (no hide entry or rule matches)")
    order = ", ".join(LEVELS)
    print(f"\nEffective: {decision.action}. Precedence: hide, then {order}, then default.")
    return 0


def run_approve(args: argparse.Namespace, settings: Settings, ask: Callable[[str], str] = input) -> int:
    store = guarded.approvals(settings)
    try:
        pending = store.load(args.code)
    except ApprovalError as exc:
        print(f"trakt-mcp approve: {exc}", file=sys.stderr)
        return 1
    if not sys.stdin.isatty():
        print(
            "trakt-mcp approve: refusing: approvals need a person at a real terminal (stdin is not one)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    left = max(0, round(pending.expires - time.time()))
    print(f"An agent asks to run {pending.tool}:\n\n  {pending.action}\n")
    print(f"Arguments: {json.dumps(pending.arguments, indent=2, ensure_ascii=False)}")
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


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    from guard.audit import AuditLog

    entries = list(AuditLog(guarded.audit_path(settings)).tail(max(args.count, 1)))
    if not entries:
        print(f"No audit entries yet ({guarded.audit_path(settings)}).")
        return 0
    rows = [("TIME", "CLIENT", "TOOL", "DECISION", "RULE", "OUTCOME", "MS", "ARGUMENTS")]
    for entry in entries:
        rows.append(
            (
                str(entry.get("time", ""))[:19].replace("T", " "),
                str(entry.get("client") or "-"),
                str(entry.get("resource") or entry.get("tool") or "-"),
                str(entry.get("decision", "")),
                str(entry.get("rule") or "-"),
                str(entry.get("outcome", "")),
                str(entry.get("duration_ms", "")),
                json.dumps(entry.get("arguments", {}), ensure_ascii=False)[:60],
            )
        )
    print(_table(rows))
    return 0
