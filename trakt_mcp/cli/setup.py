"""`trakt-mcp setup`: a new user's first five minutes. Opens (or prints) the page where a Trakt API app is made,
asks for its client ID and secret (the secret is not echoed), keeps both in the keyring (or a 0600 file where no
keyring exists), signs in with the device flow, and offers `install` for the MCP clients it finds."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import webbrowser
from collections.abc import Callable
from typing import Any

from trakt_mcp.settings import TRAKT_APP_PAGE, Settings
from trakt_mcp.terminal import command
from trakt_mcp.trakt import credentials
from trakt_mcp.trakt.tokens import TokenStoreError

EXIT_USAGE = 2
REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"

#: How setup talks to the person (tests swap these).
ASK: Callable[[str], str] = input
ASK_SECRET: Callable[[str], str] = getpass.getpass


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    setup = subcommands.add_parser(
        "setup",
        parents=[common],
        help="first-time set-up: Trakt app credentials into the keyring, sign-in, install into your MCP clients",
    )
    setup.add_argument("--no-browser", action="store_true", help="print the Trakt app page instead of opening it")
    setup.add_argument("--no-login", action="store_true", help="store the credentials only; sign in later")
    setup.set_defaults(run=run_setup, reports_storage=True)


def _has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _yes(question: str, default: bool = True) -> bool:
    answer = ASK(f"{question} [{'Y/n' if default else 'y/N'}] ").strip().lower()
    return default if not answer else answer in ("y", "yes")


def _ask_credentials(settings: Settings, args: argparse.Namespace) -> tuple[str, str] | None:
    print("1. Create a Trakt API app (any name; redirect URI: " + REDIRECT_URI + "):")
    print(f"   {TRAKT_APP_PAGE}")
    if not args.no_browser and _has_display():
        webbrowser.open(TRAKT_APP_PAGE)
    print("2. Copy its Client ID and Client Secret here.")
    known = settings.client_id
    client_id = ASK(f"Client ID{f' [{known}]' if known else ''}: ").strip() or (known or "")
    secret = ASK_SECRET("Client secret (not shown; Enter keeps the stored one): ").strip() or (settings.secret or "")
    if not client_id or not secret:
        print("trakt-mcp setup: both the client ID and the client secret are needed; nothing was stored.")
        return None
    return client_id, secret


def run_setup(args: argparse.Namespace, settings: Settings) -> int:
    if settings.sandbox:
        print(
            f"The sandbox needs no Trakt app: try `{command('login --sandbox')}`, "
            f"then `{command('install CLIENT --sandbox')}`."
        )
        return 0
    pair = _ask_credentials(settings, args)
    if pair is None:
        return EXIT_USAGE
    client_id, secret = pair
    try:
        where = credentials.save(settings.home, client_id, secret)
    except TokenStoreError as exc:
        print(f"trakt-mcp setup: {exc}", file=sys.stderr)
        return 1
    print(f"Stored the client ID and secret in {where}. Environment variables and flags still override them.")
    settings = credentials.apply(settings.model_copy(update={"client_id": None, "client_secret": None}))
    if not args.no_login:
        from trakt_mcp.cli import auth as cli_auth

        print("\n3. Sign in to Trakt:")
        code = cli_auth.run_command(cli_auth.login, settings)
        if code != 0:
            return code
    return _offer_install(args, settings)


def _offer_install(args: argparse.Namespace, settings: Settings) -> int:
    from trakt_mcp.cli.install import found_clients, run_install

    found = found_clients()
    if not found:
        print(f"\nNo MCP client found here. Later: `{command('install claude-desktop')}` (or cursor, vscode, ...).")
        return 0
    print(f"\n4. MCP clients found: {', '.join(kind.title for kind in found)}.")
    for kind in found:
        if _yes(f"Add trakt-mcp to {kind.title}?"):
            options = argparse.Namespace(
                client=kind.name, project=None, config=None, uvx=None, print_only=False, replace=False
            )
            run_install(options, settings)
    return 0
