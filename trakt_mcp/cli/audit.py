"""`trakt-mcp audit`: the latest guard decisions; `audit --shadow`: what shadow rules would have done, per rule;
`audit verify`: whether the trail is the one that was written (the HMAC chain of guard.auditchain)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from trakt_mcp.settings import Settings
from trakt_mcp.terminal import printable

EXIT_BROKEN = 1
EXIT_USAGE = 2
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    audit = subcommands.add_parser(
        "audit",
        parents=[common],
        help="show the latest guard decisions; `audit verify` checks that the trail was not edited",
    )
    audit.add_argument(
        "action",
        nargs="?",
        choices=["verify"],
        help="verify: walk the tamper-evident chain and report the first break by file and line (exit 1)",
    )
    audit.add_argument("-n", "--count", type=int, default=20, help="how many entries (default 20)")
    audit.add_argument("--shadow", action="store_true", help="what the shadow rules would have done, per rule")
    audit.add_argument("--since", metavar="AGE", help="with --shadow: only calls this recent, e.g. 7d, 12h, 30m")
    audit.set_defaults(run=run_audit)


def parse_age(text: str) -> float:
    """Seconds in `7d`, `12h`, `30m`, `90s` or `2w`; ValueError naming the expected form."""
    found = _AGE.match(text.strip())
    if found is None:
        raise ValueError(f"--since {text!r} is not an age. Fix: a number and a unit, e.g. 7d, 12h, 30m, 90s")
    return float(found[1]) * _UNIT[found[2]]


def entry_time(entry: dict[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(str(entry.get("time"))).timestamp()
    except ValueError:
        return None


def recent(entries: Iterable[dict[str, Any]], since: float | None) -> Iterator[dict[str, Any]]:
    cutoff = None if since is None else time.time() - since
    for entry in entries:
        at = entry_time(entry)
        if cutoff is None or (at is not None and at >= cutoff):
            yield entry


def table(rows: Sequence[tuple[str, ...]]) -> str:
    rows = [tuple(printable(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _decided(entry: dict[str, Any]) -> str:
    """'confirmed (desktop, by the owner)': the decision, and for a question the channel and who answered."""
    decision = str(entry.get("decision", ""))
    if not entry.get("channel"):
        return decision
    how = "dismissed by" if entry.get("dismissed") else "by"
    by = f", {how} the {entry['answered_by']}" if entry.get("answered_by") else ""
    return f"{decision} ({entry['channel']}{by})"


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    from guard.audit import AuditLog
    from trakt_mcp.server import guarded

    try:
        since = parse_age(args.since) if args.since else None
    except ValueError as exc:
        print(f"trakt-mcp audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "verify":
        return run_verify(settings)
    if settings.state_url is not None:  # replicas: every replica's lines, in the shared table
        return _from_table(args, settings, since)
    log = AuditLog(guarded.audit_path(settings))
    if args.shadow:
        return _shadow_summary(list(recent(log.entries(), since)), settings)
    return _show(list(log.tail(max(args.count, 1))), str(guarded.audit_path(settings)))


def _from_table(args: argparse.Namespace, settings: Settings, since: float | None) -> int:
    from guard.audit_table import TableAudit
    from guard.store import StoreError
    from guard.store.postgres import PostgresStore
    from trakt_mcp.server import guarded

    store = guarded.open_store(settings)
    assert isinstance(store, PostgresStore)
    trail = TableAudit(store)
    try:
        if args.shadow:
            return _shadow_summary(list(recent(trail.entries(), since)), settings)
        entries = list(trail.tail(max(args.count, 1)))
    except StoreError as exc:
        print(f"trakt-mcp audit: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return _show(entries, trail.location)


def _show(entries: list[dict[str, Any]], where: str) -> int:
    if not entries:
        print(f"No audit entries yet ({where}).")
        return 0
    rows = [("TIME", "IDENTITY", "CLIENT", "TOOL", "DECISION", "RULE", "OUTCOME", "MS", "ARGUMENTS")]
    for entry in entries:
        shadow = f" [{entry['shadow']}]" if entry.get("shadow") else ""
        rows.append(
            (
                str(entry.get("time", ""))[:19].replace("T", " "),
                str(entry.get("identity") or "(local)"),
                str(entry.get("client") or "-"),
                str(entry.get("resource") or entry.get("tool") or "-"),
                _decided(entry) + shadow,
                str(entry.get("rule") or "-"),
                str(entry.get("outcome", "")),
                str(entry.get("duration_ms", "")),
                json.dumps(entry.get("arguments", {}), ensure_ascii=False)[:60],
            )
        )
    print(table(rows))
    return 0


def _shadow_summary(entries: list[dict[str, Any]], settings: Settings) -> int:
    counts: Counter[tuple[str, str]] = Counter()
    tools: dict[tuple[str, str], Counter[str]] = {}
    for entry in entries:
        would = entry.get("shadow")
        if not isinstance(would, str):
            continue
        key = (str(entry.get("shadow_rule") or "-"), would)
        counts[key] += 1
        tools.setdefault(key, Counter())[str(entry.get("tool"))] += 1
    if not counts:
        print(f"No shadow rule would have acted on the {len(entries)} audited call(s) (state folder {settings.home}).")
        return 0
    rows = [("SHADOW RULE", "WOULD", "CALLS", "TOOLS")]
    for (rule, would), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        named = ", ".join(f"{tool} ({n})" for tool, n in tools[(rule, would)].most_common())
        rows.append((rule, would.removeprefix("would_"), str(count), named))
    print(table(rows))
    print(f"\n{sum(counts.values())} of {len(entries)} audited call(s) would have been treated differently.")
    return 0


def _verify_table(store: Any, settings: Settings) -> int:
    """With replicas: the shared table's chain (every replica's lines); 0 when intact (then this replica's own file
    is checked as usual), else EXIT_BROKEN. Raises StoreError when the database cannot be read."""
    from guard.audit_table import verify_rows
    from guard.home import KEY_FILE, read_private

    lines = store.audit_tail(None)
    try:
        secret = read_private(settings.home / KEY_FILE)
    except FileNotFoundError:
        secret = b""
    if not secret and lines:
        print(f"audit verify: BROKEN: the key {settings.home / KEY_FILE} is missing", file=sys.stderr)
        return EXIT_BROKEN
    report = verify_rows(lines, secret)
    for problem in report.breaks:
        print(f"audit verify: BROKEN: table guard_audit in {store.location}: {problem}")
    if report.breaks:
        return EXIT_BROKEN
    end = f"seq {report.last.seq}" if report.last else "no chained row"
    older = f"; {report.unchained} older row(s) before the chain began" if report.unchained else ""
    print(f"audit verify: intact: {report.rows} row(s) in table guard_audit ({store.location}), up to {end}{older}.")
    return 0


def run_verify(settings: Settings) -> int:
    from guard.audit import AuditLog
    from guard.auditchain import StoreHead
    from guard.auditverify import verify
    from guard.home import KEY_FILE, read_private
    from guard.store import StoreError
    from trakt_mcp.server import guarded

    log = AuditLog(guarded.audit_path(settings))
    store = guarded.open_store(settings)
    try:
        if settings.state_url is not None and (broken := _verify_table(store, settings)):
            return broken
        with log.steady():
            files = log.files()
            head = StoreHead(store, guarded.audit_head(settings)).recall()
            try:
                secret = read_private(settings.home / KEY_FILE)
            except FileNotFoundError:
                secret = b""
            if not secret and (any(path.stat().st_size for path in files) or head):
                print(f"audit verify: BROKEN: the key {settings.home / KEY_FILE} is missing", file=sys.stderr)
                return EXIT_BROKEN
            report = verify(files, secret, head)
    except StoreError as exc:
        print(f"audit verify: cannot read the chain's head from the state store: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    except OSError as exc:  # HomeError included: a folder or file that cannot be trusted names its fix
        print(f"audit verify: cannot read the audit log: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    finally:
        store.close()
    for note in report.notes:
        print(f"note: {note}")
    if report.breaks:
        for problem in report.breaks:
            print(f"audit verify: BROKEN: {problem}")
        return EXIT_BROKEN
    names = ", ".join(path.name for path in files) or "none"
    unchained = f"; {report.unchained} older line(s) before the chain began" if report.unchained else ""
    end = f"seq {report.last.seq}" if report.last else "no chained line"
    print(f"audit verify: intact: {report.lines} line(s) in {report.files} file(s) ({names}), up to {end}{unchained}.")
    return 0
