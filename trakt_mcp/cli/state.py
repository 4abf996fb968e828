"""`trakt-mcp reset-limits`: forget every rate-limit window in the shared state store, for every client at once
(the store is shared by all of a user's trakt-mcp processes, so they all start counting afresh)."""

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
        description="Rate limits are counted in TRAKT_MCP_HOME/state.db by every trakt-mcp process of this user "
        "(Claude, Cursor, VS Code, `call`...). This forgets the calls counted so far; approvals and sign-ins stay.",
    )
    reset.set_defaults(run=run_reset_limits)


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
