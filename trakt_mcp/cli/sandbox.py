"""`trakt-mcp sandbox reset`: start the offline sandbox account over (its history, ratings, watchlist...)."""

from __future__ import annotations

import argparse
from typing import Any

from trakt_mcp.settings import Settings
from trakt_mcp.terminal import command


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    sandbox = subcommands.add_parser("sandbox", parents=[common], help="the offline sandbox account")
    actions = sandbox.add_subparsers(title="sandbox commands", metavar="ACTION", required=True)
    reset = actions.add_parser(
        "reset",
        parents=[common],
        help="start the sandbox account over from its seeded data (the sandbox sign-in is kept)",
    )
    reset.set_defaults(run=run_reset)


def run_reset(args: argparse.Namespace, settings: Settings) -> int:
    from trakt_mcp.server.build import sandbox_account

    account = sandbox_account(settings)
    try:
        account.unlink()
    except FileNotFoundError:
        print(f"The sandbox account is already as seeded ({account} does not exist).")
        return 0
    print(
        f"The sandbox account starts over (removed {account}). Still signed in to the sandbox: "
        f"`{command('logout --sandbox')}` signs out."
    )
    return 0
