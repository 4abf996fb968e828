"""`trakt-mcp reset-limits`: forget every rate-limit window in the shared state store, for every client at once
(the store is shared by all of a user's trakt-mcp processes, so they all start counting afresh).

`trakt-mcp state status|migrate`: where the shared state lives (the SQLite file, or the PostgreSQL database that
replicas share), its schema version and health; `migrate` applies the schema migrations shipped in the package
(replicas also apply them at start, under an advisory lock)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trakt_mcp.settings import Settings


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    reset = subcommands.add_parser(
        "reset-limits",
        parents=[common],
        help="start every rate-limit window afresh (all clients share them)",
        description="Rate limits are counted in TRAKT_MCP_HOME/state.db (or the --state database) by every trakt-mcp "
        "process (Claude, Cursor, VS Code, `call`, replicas...). This forgets the calls counted so far; approvals and "
        "sign-ins stay.",
    )
    reset.set_defaults(run=run_reset_limits)
    state = subcommands.add_parser(
        "state",
        parents=[common],
        help="the shared state store: `state status` (version, health), `state migrate`",
        description="The guard's shared state: TRAKT_MCP_HOME/state.db by default, or the PostgreSQL database named "
        "by --state / TRAKT_MCP_STATE that several replicas share.",
    )
    actions = state.add_subparsers(title="state commands", metavar="ACTION", required=True)
    status = actions.add_parser("status", parents=[common], help="where the state lives, schema version, health")
    status.set_defaults(run=run_state_status)
    migrate = actions.add_parser(
        "migrate", parents=[common], help="apply the schema migrations this trakt-mcp ships (PostgreSQL)"
    )
    migrate.set_defaults(run=run_state_migrate)


def run_reset_limits(args: argparse.Namespace, settings: Settings) -> int:
    from guard.store import StoreError
    from trakt_mcp.server.guarded import open_store

    store = open_store(settings)
    try:
        forgotten = store.clear("windows")
    except StoreError as exc:
        print(f"trakt-mcp reset-limits: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Rate limits reset: {forgotten} counted calls forgotten ({store.location}).")
    return 0


def run_state_status(args: argparse.Namespace, settings: Settings) -> int:
    from guard.store import StoreError
    from guard.store.postgres_schema import latest_version
    from trakt_mcp.server.guarded import STATE_SCHEMAS, open_store

    url = settings.state_url
    store = open_store(settings, migrate_at_start=False)
    expected = ", ".join(f"{schema.component} {latest_version(schema)}" for schema in STATE_SCHEMAS)
    engine = "SQLite, this machine only" if url is None else f"PostgreSQL, shared; schema expected: {expected}"
    print(f"State: {store.location} ({engine})")
    try:
        print(f"Health: {store.health()}")
    except StoreError as exc:
        print(f"Health: UNUSABLE: {exc}")
        return 1
    finally:
        store.close()
    return 0


def run_state_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from guard.store import StoreError
    from guard.store.postgres import PostgresStore
    from trakt_mcp.server.guarded import open_store

    store = open_store(settings, migrate_at_start=False)
    if not isinstance(store, PostgresStore):
        print("The state is the SQLite file in the state folder: it makes its own tables, nothing to migrate.")
        return 0
    try:
        applied, versions = store.migrate()
    except StoreError as exc:
        print(f"trakt-mcp state migrate: {exc}", file=sys.stderr)
        return 1
    now = ", ".join(f"{component} {version}" for component, version in sorted(versions.items()))
    if applied:
        print(f"{store.location}: applied {', '.join(map(str, applied))}; schema now {now}.")
    else:
        print(f"{store.location}: schema already current ({now}), nothing to apply.")
    return 0
