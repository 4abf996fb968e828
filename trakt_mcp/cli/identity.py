"""`trakt-mcp identity add NAME`: a fresh bearer token for an HTTP caller, shown once, and the policy snippet that
holds only its SHA-256 digest. `trakt-mcp identity show-local`: the owner's own token for HTTP on loopback."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any

from guard.policy import IDENTITY_NAME, token_digest
from trakt_mcp.http.owner_token import LocalTokenError, ensure_token, token_path
from trakt_mcp.settings import Settings

EXIT_USAGE = 2


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    identity = subcommands.add_parser("identity", parents=[common], help="manage the identities of HTTP callers")
    actions = identity.add_subparsers(title="identity commands", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        parents=[common],
        help="print a new bearer token (once) and the policy snippet with its digest",
        description="The token is printed once and stored nowhere: give it to the client; the policy keeps its "
        "SHA-256 digest only.",
    )
    add.add_argument("name", help="the identity's name, as audit lines and `policy check --identity` show it")
    add.set_defaults(run=run_add)
    local = actions.add_parser(
        "show-local",
        parents=[common],
        help="print the owner's bearer token for HTTP on loopback (made on first use)",
        description="HTTP on 127.0.0.1 needs this token too (unless served with --no-auth): other accounts on this "
        "machine can reach loopback. It is kept readable by you only, in the state folder.",
    )
    local.set_defaults(run=run_show_local)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    name: str = args.name
    if not IDENTITY_NAME.match(name):
        print(
            f"trakt-mcp identity add: name {name!r} is not valid: expected 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            file=sys.stderr,
        )
        return EXIT_USAGE
    token = secrets.token_urlsafe(32)
    snippet = {"identities": {name: {"token_sha256": token_digest(token)}}}
    print(f"Bearer token for {name!r} (shown only now; the client sends it as `Authorization: Bearer <token>`):")
    print(f"\n    {token}\n")
    print(f'Add this entry to the "identities" of your policy file ({settings.policy or "--policy"}):\n')
    print(json.dumps(snippet, indent=2))
    return 0


def run_show_local(args: argparse.Namespace, settings: Settings) -> int:
    try:
        token, _ = ensure_token(settings.home)
    except LocalTokenError as exc:
        print(f"trakt-mcp identity show-local: {exc}", file=sys.stderr)
        return 1
    print(f"Bearer token for HTTP on loopback (kept in {token_path(settings.home)}, readable by you only):")
    print(f"\n    {token}\n")
    print("Clients send it as `Authorization: Bearer <token>`.")
    return 0
