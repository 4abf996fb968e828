"""`trakt-mcp people list|log-out`: the operator's view of multi-user mode's people (`--public-url`), read from the
same state the servers share (`people.db` in the state folder, or the `--state` PostgreSQL database).

`people log-out USERNAME` does what the person's own "Log out" on their account page does, for the operator: their
Trakt token is revoked at Trakt and removed, every token this server issued them and every grant is revoked, and
every browser session of theirs ends, so each of their apps gets 401 on its next request in every process and
replica. They may sign in again (to keep someone out, the policy decides who may do what, not this command)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from trakt_mcp.settings import Settings

if TYPE_CHECKING:
    from guard.store import Store
    from trakt_mcp.remote.store import PeopleStore


NOBODY = "Nobody has signed in to multi-user mode on this state (the state folder {home}; or pass --state URL)."


def register(subcommands: Any, common: argparse.ArgumentParser) -> None:
    people = subcommands.add_parser(
        "people",
        parents=[common],
        help="multi-user mode's people: `people list`, `people log-out USERNAME`",
        description="The people who signed in to this server with their own Trakt account (multi-user mode, "
        "--public-url), from TRAKT_MCP_HOME/people.db or the --state database the replicas share.",
    )
    actions = people.add_subparsers(title="people commands", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="each person, their apps and what each may do")
    listing.set_defaults(run=run_list)
    log_out = actions.add_parser(
        "log-out",
        parents=[common],
        help="revoke a person's Trakt token at Trakt and every token, grant and browser session of theirs",
    )
    log_out.add_argument("username", help="their Trakt username, as `people list` shows it")
    log_out.set_defaults(run=run_log_out)


@contextmanager
def people_on(settings: Settings) -> Iterator[PeopleStore | None]:
    """The people store the servers on this state share (and the guard's store under it when it is PostgreSQL),
    closed after; None when this state folder has never served anyone (nothing is created to say so)."""
    from guard.store.postgres import PostgresStore
    from trakt_mcp.remote.sqlite import FILE_NAME, open_people_store
    from trakt_mcp.server.guarded import open_store

    if settings.state_url is None:
        if not (settings.home / FILE_NAME).exists():
            yield None
            return
        store: PeopleStore = open_people_store(settings.home)
        shared: Store | None = None
    else:
        from trakt_mcp.remote.postgres import PostgresPeopleStore

        shared = open_store(settings)
        assert isinstance(shared, PostgresStore)
        store = PostgresPeopleStore(shared)
    try:
        yield store
    finally:
        store.close()
        if shared is not None:
            shared.close()


def person_rows(store: PeopleStore) -> list[tuple[str, str, str, str]]:
    """One row per app a person granted (a person without one: one row); never a token."""
    rows = []
    for username in store.people():
        trakt = "signed in" if store.sealed_trakt_token(username) is not None else "signed out"
        apps = []
        for grant in store.grants(username):
            if not grant.revoked:
                client = store.client(grant.client_id)
                name = client.name if client is not None else grant.client_id
                apps.append((name, ", ".join(grant.capabilities) or "nothing"))
        for index, (app, may) in enumerate(apps or [("-", "-")]):
            rows.append((username if index == 0 else "", trakt if index == 0 else "", app, may))
    return rows


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from guard.store import StoreError
    from trakt_mcp.cli.audit import table

    try:
        with people_on(settings) as store:
            rows = person_rows(store) if store is not None else []
    except StoreError as exc:
        print(f"trakt-mcp people list: {exc}", file=sys.stderr)
        return 1
    print(table([("PERSON", "TRAKT", "APP", "MAY"), *rows]) if rows else NOBODY.format(home=settings.home))
    return 0


def run_log_out(args: argparse.Namespace, settings: Settings) -> int:
    import anyio

    from guard.store import StoreError
    from trakt_mcp.terminal import command

    username = args.username
    try:
        with people_on(settings) as store:
            if store is None or username not in store.people():
                print(
                    f"trakt-mcp people log-out: nobody named {username!r} has signed in here (see "
                    f"`{command('people list')}`). Nothing changed.",
                    file=sys.stderr,
                )
                return 1
            trakt = anyio.run(_revoke_at_trakt, settings, store, username)
            revoked, ended = store.revoke_person(username), store.end_browser_sessions(username)
    except StoreError as exc:
        print(f"trakt-mcp people log-out: {exc}", file=sys.stderr)
        return 1
    print(
        f"{username} is logged out: {trakt} {revoked} tokens and every grant revoked, {ended} browser sessions ended. "
        "Each of their apps must sign in again."
    )
    return 0


async def _revoke_at_trakt(settings: Settings, store: PeopleStore, username: str) -> str:
    """What happened to the person's Trakt token, as a sentence."""
    from trakt_mcp.remote.people import People
    from trakt_mcp.remote.sealing import load_sealer
    from trakt_mcp.server.build import trakt_client
    from trakt_mcp.trakt.gate import signing_in

    if store.sealed_trakt_token(username) is None:
        return "no Trakt token was stored;"
    if settings.sandbox:
        store.put_trakt_token(username, None, time.time())
        return "their sandbox Trakt token was removed (the fake Trakt lives in the server, nothing to revoke);"
    trakt = trakt_client(settings)
    try:
        people = People(settings, trakt.http, store, load_sealer(settings.home), "", time.time)
        with signing_in():  # the operator's command revokes the person's own token (trakt.gate)
            done = await people.manager(username).sign_out()
    finally:
        await trakt.aclose()
    if done.revoke_error is not None:
        return f"their Trakt token was removed here, but Trakt did not revoke it ({done.revoke_error});"
    return "their Trakt token was revoked at Trakt and removed;"
