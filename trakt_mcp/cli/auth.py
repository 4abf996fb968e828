"""`trakt-mcp login`, `logout` and `status`: sign-in for a person at a terminal (each works with --sandbox).

What these commands need (the App, the MCP SDK behind the tools) is imported when one of them runs, so that
building the command line stays cheap for every command, the server's own start-up included."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from trakt_mcp.settings import Settings, how_to_configure
from trakt_mcp.terminal import command as shown_command
from trakt_mcp.trakt.errors import NetworkError, ServerError, TraktError

if TYPE_CHECKING:
    from trakt_mcp.app import App
    from trakt_mcp.trakt.client import Clock, Sleep
    from trakt_mcp.trakt.signins import DeviceFlow

#: How `login` waits and tells the time. Tests swap in an instant clock so no test waits real seconds.
SLEEP: Sleep = anyio.sleep
CLOCK: Clock = time.time

Command = Callable[["App"], Awaitable[int]]


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    for name, help_text, command in (
        ("login", "sign in to Trakt in the terminal (device code) and store the token", login),
        ("logout", "revoke the stored Trakt token and remove it", logout),
        ("status", "show configuration, sign-in state, token store and policy", status),
    ):
        parser = subcommands.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(run=_runner(command), reports_storage=name == "status")


def _runner(command: Command) -> Callable[[argparse.Namespace, Settings], int]:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        return run_command(command, settings)

    return run


def run_command(command: Command, settings: Settings) -> int:
    """Run one of these commands with an App for `settings` (also used by `trakt-mcp setup`)."""
    return anyio.run(_with_app, command, settings)


async def _with_app(command: Command, settings: Settings) -> int:
    from guard.gate import owner
    from trakt_mcp.server.build import create_app

    app = create_app(settings, sleep=SLEEP, clock=CLOCK)
    try:
        with owner("a sign-in command at the owner's terminal"):
            return await command(app)
    except TraktError as exc:
        print(f"\ntrakt-mcp: {exc}", file=sys.stderr)
        return 1
    finally:
        await app.aclose()


async def login(app: App) -> int:
    from trakt_mcp.tools.auth import flow_text, signed_in_text
    from trakt_mcp.trakt.signins import DeviceFlow

    auth = app.auth
    started = await auth.start_device()
    if not isinstance(started, DeviceFlow):
        logout = shown_command("logout --sandbox" if app.settings.sandbox else "logout")
        print(f"Already signed in. {signed_in_text(started, auth.now())} Run `{logout}` to switch accounts.")
        return 0
    print(flow_text(started, auth.now()).replace("**", ""))
    while True:
        await _countdown(app, auth.pending or started)
        try:
            result = await auth.poll()
        except (NetworkError, ServerError) as exc:  # passing trouble: the code stays valid, so keep waiting
            print(f"\n{exc} Still waiting for approval.", file=sys.stderr)
            continue
        if result.token is not None:
            print(f"\n{signed_in_text(result.token, auth.now())} Token stored in {auth.store.description}.")
            return 0
        if auth.pending is None:
            print(f"\n{result.state.message}", file=sys.stderr)
            return 1


async def _countdown(app: App, flow: DeviceFlow) -> None:
    """Wait until the next poll is allowed, showing the time left on one updating line."""
    from trakt_mcp.tools.auth import duration

    auth = app.auth
    while (left := flow.next_poll_at - auth.now()) > 0:
        expires = duration(flow.expires_at - auth.now())
        print(
            f"\rWaiting for approval: next check {duration(math.ceil(left))}, code expires {expires}.   ",
            end="",
            flush=True,
        )
        await SLEEP(min(left, 1.0))


async def logout(app: App) -> int:
    from trakt_mcp.tools.auth import clear_auth
    from trakt_mcp.tools.spec import NoArgs

    print(await clear_auth(app, NoArgs()))
    return 0


async def status(app: App) -> int:
    from trakt_mcp.server.guarded import policy_summary, store_summary
    from trakt_mcp.tools.auth import status_lines

    settings = app.settings
    origins = settings.origins
    client = f"set ({settings.client_id}), from {origins.get('client_id', '?')}" if settings.client_id else "not set"
    print(f"- Client ID: {client}")
    secret = f"set, from {origins.get('client_secret', '?')}" if settings.secret else "not set"
    print(f"- Client secret: {secret}")
    if not settings.client_id or not settings.secret:
        print(f"  {how_to_configure()}")
    if settings.sandbox:
        print("- Sandbox: on (offline fake Trakt; a separate token store)")
    print("\n".join(status_lines(app.auth)))
    from trakt_mcp.cli.install import clients_policies

    given = "" if settings.policy is not None else ", as no --policy or TRAKT_MCP_POLICY is given here"
    print(f"- Policy: {policy_summary(settings)}{given}")
    for line in clients_policies():
        print(f"  {line}")
    if app.store is not None:
        limited = _sets_rate_limits(settings)
        what = "rate limits, approvals, sign-ins" if limited else "approvals, sign-ins; the policy sets no rate limit"
        print(f"- Shared state ({what}): {store_summary(app.store, count_windows=limited)}")
    return 0


def _sets_rate_limits(settings: Settings) -> bool:
    """Whether the policy in force counts calls in rate-limit windows (an unreadable one: say what is counted)."""
    from guard.policy import PolicyError
    from trakt_mcp.server.guarded import build_catalog, load_engine

    try:
        return load_engine(settings, build_catalog(None)).policy.sets_rate_limits()
    except (PolicyError, OSError):
        return True
