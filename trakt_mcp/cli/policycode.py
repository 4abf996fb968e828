"""Policy as code: `policy test CASES`, `policy replay`, `policy diff OLD NEW` and `policy init`. Each runs offline
against the real engine and catalogue (trakt_mcp.guarded); the logic lives in the guard (guard.policytest,
guard.replay, guard.policydiff, guard.presets)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guard.engine import Engine
from guard.policy import PolicyError
from trakt_mcp.cli.audit import parse_age, recent, table
from trakt_mcp.settings import Settings
from trakt_mcp.terminal import command

EXIT_FAILED = 1
EXIT_INVALID = 2
BUILTIN_NAME = "built-in"


def register(actions: Any, common: argparse.ArgumentParser) -> None:
    test = actions.add_parser(
        "test",
        parents=[common],
        help="run a cases file (JSON or TOML) through the real engine: a pass/fail table, exit 1 on a failure",
    )
    test.add_argument("cases", help="cases file; its `policy` key names the policy unless --policy is given")
    test.set_defaults(run=run_test)
    replay = actions.add_parser(
        "replay",
        parents=[common],
        help="decide the audit log's calls again under --policy NEW and show what would flip",
    )
    replay.add_argument("--since", metavar="AGE", help="only calls this recent, e.g. 7d, 12h, 30m (default: all)")
    replay.add_argument("--json", action="store_true", help="the flips as JSON, one object per call")
    replay.add_argument("--examples", type=int, default=3, help="examples shown per flip (default 3)")
    replay.set_defaults(run=run_replay)
    diff = actions.add_parser("diff", parents=[common], help="which tools and identities change verdict")
    diff.add_argument("old", help=f"the policy before (a file, or {BUILTIN_NAME})")
    diff.add_argument("new", help=f"the policy after (a file, or {BUILTIN_NAME})")
    diff.set_defaults(run=run_diff)
    init = actions.add_parser("init", parents=[common], help="write a starter policy and its cases from a preset")
    init.add_argument("path", nargs="?", default="policy.json", help="where to write it (default policy.json)")
    init.add_argument("--preset", choices=["read-only", "careful", "open"], default="careful", help="default careful")
    init.add_argument("--cases", metavar="FILE", help="where to write its cases (default: PATH with .tests.json)")
    init.set_defaults(run=run_init)


def _load(settings: Settings, policy: Path | None, what: str) -> Engine | None:
    from trakt_mcp.server import guarded

    try:
        return guarded.load_engine(settings.model_copy(update={"policy": policy}), guarded.build_catalog(None))
    except PolicyError as exc:
        print(f"trakt-mcp policy {what}: {exc}", file=sys.stderr)
        return None


def run_test(args: argparse.Namespace, settings: Settings) -> int:
    from guard.policytest import CasesError, policy_of, read_cases, run_cases

    path = Path(args.cases)
    try:
        cases = read_cases(path)
    except CasesError as exc:
        print(f"trakt-mcp policy test: {exc}", file=sys.stderr)
        return EXIT_INVALID
    named = getattr(args, "policy", None)
    policy = Path(named) if named else policy_of(path, cases) or settings.policy
    engine = _load(settings, policy, "test")
    if engine is None:
        return EXIT_INVALID
    results = run_cases(engine, cases)
    rows = [("#", "CASE", "TOOL", "IDENTITY", "EXPECTED", "GOT", "DECIDED BY", "RESULT")]
    for index, result in enumerate(results, 1):
        case = result.case
        rows.append(
            (
                str(index),
                case.title,
                case.tool,
                case.identity or "(local)",
                case.expect,
                result.got.verdict,
                result.got.rule,
                "pass" if result.passed else "FAIL",
            )
        )
    print(f"policy: {engine.source}; cases: {path}\n")
    print(table(rows))
    failed = [(index, result) for index, result in enumerate(results, 1) if not result.passed]
    for index, result in failed:
        print(f"\nFAIL #{index} {result.case.title}: " + "; ".join(result.problems))
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed.")
    return EXIT_FAILED if failed else 0


def _audited(settings: Settings) -> list[dict[str, Any]]:
    """Every audited call: the shared PostgreSQL table with replicas (--state), else this home's JSONL files."""
    from guard.audit import AuditLog
    from trakt_mcp.server import guarded

    if settings.state_url is None:
        return list(AuditLog(guarded.audit_path(settings)).entries())
    from guard.audit_table import TableAudit

    store = guarded.open_store(settings)
    try:
        return list(TableAudit(store).entries())  # type: ignore[arg-type]
    finally:
        store.close()


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    from guard.replay import replay
    from guard.store import StoreError

    if settings.policy is None:
        print("trakt-mcp policy replay: name the policy to replay with --policy NEW", file=sys.stderr)
        return EXIT_INVALID
    try:
        since = parse_age(args.since) if args.since else None
    except ValueError as exc:
        print(f"trakt-mcp policy replay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    engine = _load(settings, settings.policy, "replay")
    if engine is None:
        return EXIT_INVALID
    try:
        result = replay(engine, recent(_audited(settings), since))
    except StoreError as exc:
        print(f"trakt-mcp policy replay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        listed = [
            {
                "seq": flip.call.seq,
                "time": datetime.fromtimestamp(flip.call.at, UTC).isoformat(timespec="milliseconds"),
                "identity": flip.call.identity,
                "tool": flip.call.tool,
                "from": flip.call.verdict,
                "to": flip.now.verdict,
                "rule": flip.key[2],
            }
            for flip in result.flips
        ]
        print(json.dumps({"calls": result.calls, "flips": listed}, indent=2))
        return 0
    span = f"in the last {args.since}" if args.since else "in the whole log"
    print(f"Replayed {result.calls} call(s) {span} under {engine.source}: {len(result.flips)} would flip.")
    if not result.flips:
        return 0
    rows = [("FROM", "TO", "RULE", "TOOL", "CALLS")]
    groups = result.groups()
    rows += [(was, now, rule, tool, str(len(flips))) for (was, now, rule, tool), flips in groups]
    print("\n" + table(rows))
    for (was, now, rule, tool), flips in groups:
        print(f"\n{tool}: {was} -> {now} ({rule}), e.g.")
        for flip in flips[: max(args.examples, 0)]:
            at = datetime.fromtimestamp(flip.call.at, UTC).isoformat(timespec="seconds")
            who = flip.call.identity or "(local)"
            shown = json.dumps(flip.call.arguments, ensure_ascii=False)
            print(f"  {at}  {who}  {shown[:100]}")
    return 0


def _policy_path(name: str) -> Path | None:
    return None if name == BUILTIN_NAME else Path(name)


def run_diff(args: argparse.Namespace, settings: Settings) -> int:
    from guard.policydiff import diff

    old = _load(settings, _policy_path(args.old), "diff")
    new = _load(settings, _policy_path(args.new), "diff") if old is not None else None
    if old is None or new is None:
        return EXIT_INVALID
    changes = diff(old, new)
    if not changes:
        print(f"No tool changes verdict for any caller between {old.source} and {new.source}.")
        return 0
    rows = [("IDENTITY", "TOOL", "OLD", "NEW")]
    rows += [(c.identity or "(local)", c.tool, c.old, c.new) for c in changes]
    print(f"{old.source} -> {new.source}: {len(changes)} change(s)\n")
    print(table(rows))
    return EXIT_FAILED


def _write_new(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def run_init(args: argparse.Namespace, settings: Settings) -> int:
    from guard.presets import PRESETS, starter_cases, starter_policy
    from trakt_mcp.server import guarded

    path = Path(args.path)
    cases_path = Path(args.cases) if args.cases else path.with_name(f"{path.stem}.tests.json")
    existing = [str(p) for p in (path, cases_path) if os.path.lexists(p)]
    if existing:
        print(
            f"trakt-mcp policy init: refusing to overwrite {' and '.join(existing)}. Fix: remove it, or name "
            "another file",
            file=sys.stderr,
        )
        return EXIT_INVALID
    catalog = guarded.build_catalog(None)
    policy = starter_policy(args.preset, catalog)
    relative = os.path.relpath(path.resolve(), cases_path.resolve().parent)
    cases = starter_cases(args.preset, catalog, relative)
    try:
        _write_new(path, json.dumps(policy, indent=2) + "\n")
        _write_new(cases_path, json.dumps(cases, indent=2) + "\n")
    except OSError as exc:
        print(f"trakt-mcp policy init: cannot write: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"Wrote {path} (preset {args.preset}: {PRESETS[args.preset]}) and its cases {cases_path}.")
    check = command(f"policy check {shlex.quote(str(path))}")
    test = command(f"policy test {shlex.quote(str(cases_path))}")
    print(f"Next: `{check}`, `{test}`, then --policy {path}.")
    return 0
