"""The PostgreSQL state store beyond the contract every store keeps (tests/test_store.py): migrations under an
advisory lock, `trakt-mcp state status|migrate`, the append-only audit table that `trakt-mcp audit` reads, the
window race across connections, and the messages when the database cannot be used (password always masked)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from guard.store import StoreError, Window
from guard.store.postgres import PostgresStore
from guard.store.postgres_schema import latest_version, masked, migrations
from tests.postgres_support import PASSWORD, free_port
from trakt_mcp.server.guarded import STATE_SCHEMAS

NOW = 1_000_000.0


def trakt_mcp(home: Path, *argv: str, state: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAKT_MCP_HOME": str(home)}
    if state is not None:
        env["TRAKT_MCP_STATE"] = state
    command = [sys.executable, "-m", "trakt_mcp", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_replicas_starting_together_apply_each_migration_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url, schemas=STATE_SCHEMAS) for _ in range(6)]
    failures: list[BaseException] = []
    gate = threading.Barrier(len(stores))

    def start(store: PostgresStore) -> None:
        gate.wait()
        try:
            store.take([Window("k", 100, 60.0)], NOW)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with psycopg.connect(postgres_url) as connection:
        applied = connection.execute("SELECT component, version FROM trakt_mcp_schema ORDER BY 1, 2").fetchall()
        counted = connection.execute("SELECT count(*) FROM guard_calls").fetchone()
    shipped = [(m.component, m.version) for schema in STATE_SCHEMAS for m in migrations(schema)]
    assert applied == sorted(shipped) and ("guard", latest_version()) in applied
    assert counted == (6,)
    for store in stores:
        store.close()


def test_connections_racing_for_the_last_slot_let_exactly_one_through(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(8)]
    stores[0].take([Window("k", 10, 60.0)], NOW)  # migrated once, before the race
    wins: list[bool] = []
    gate = threading.Barrier(len(stores))

    def race(store: PostgresStore) -> None:
        gate.wait()
        for _ in range(5):
            wins.append(store.take([Window("k", 10, 60.0)], NOW) is None)

    threads = [threading.Thread(target=race, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 9  # 10 slots, one taken before
    for store in stores:
        store.close()


def test_state_status_and_migrate_show_the_version_and_never_the_password(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    before = trakt_mcp(home, "state", "status", state=postgres_url)
    expected = ", ".join(f"{schema.component} at 0 of {latest_version(schema)}" for schema in STATE_SCHEMAS)
    assert before.returncode == 1 and f"schema is not current ({expected})" in before.stdout, before.stdout
    assert re.search(r"Fix: run `\S*trakt-mcp state migrate`", before.stdout), "this installation's command"
    migrated = trakt_mcp(home, "state", "migrate", state=postgres_url)
    assert migrated.returncode == 0, migrated.stderr
    assert (
        "applied guard 0001 guard_state, guard 0002 audit, people 0001 people, people 0002 consent" in migrated.stdout
    ), migrated.stdout
    assert "nothing to apply" in trakt_mcp(home, "state", "migrate", state=postgres_url).stdout
    after = trakt_mcp(home, "state", "status", state=postgres_url)
    current = ", ".join(f"{schema.component} {latest_version(schema)}" for schema in STATE_SCHEMAS)
    assert after.returncode == 0 and f"ok, schema {current} (" in after.stdout, after.stdout
    assert masked(postgres_url) in after.stdout
    for run in (before, migrated, after):
        assert PASSWORD not in run.stdout + run.stderr


def test_an_unreachable_database_is_named_with_the_password_masked_and_the_fix(tmp_path: Path) -> None:
    url = f"postgresql://trakt:{PASSWORD}@127.0.0.1:{free_port()}/trakt"
    store = PostgresStore(url)
    with pytest.raises(StoreError) as refused:
        store.take([Window("k", 1, 60.0)], NOW)
    message = str(refused.value)
    assert f"postgresql://trakt:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message and PASSWORD not in message
    assert "Fix: start PostgreSQL" in message
    status = trakt_mcp(tmp_path / "home", "state", "status", state=url)
    assert status.returncode == 1 and "UNUSABLE" in status.stdout and PASSWORD not in status.stdout + status.stderr
    reset = trakt_mcp(tmp_path / "home", "reset-limits", state=url)
    assert reset.returncode == 1 and "does not answer" in reset.stderr and "Traceback" not in reset.stderr


def test_a_state_that_is_not_a_postgresql_url_is_refused_before_anything_starts(tmp_path: Path) -> None:
    run = trakt_mcp(tmp_path / "home", "--state", "mysql://root:hunter2@db/trakt", "state", "status")
    assert run.returncode == 2 and "state: Value error, must be a PostgreSQL URL" in run.stderr, run.stderr
    assert "hunter2" not in run.stderr and "Traceback" not in run.stderr


def test_the_audit_table_is_append_only_chained_and_trakt_mcp_audit_reads_it_from_any_machine(
    tmp_path: Path, postgres_url: str
) -> None:
    called = trakt_mcp(tmp_path / "one", "call", "--sandbox", "search_shows", "query=breaking", state=postgres_url)
    assert called.returncode == 0, called.stderr
    shown = trakt_mcp(tmp_path / "another", "audit", state=postgres_url)  # another state folder: the table
    assert "search_shows" in shown.stdout and "allowed" in shown.stdout, shown.stdout + shown.stderr
    assert (tmp_path / "one" / "audit.jsonl").exists()  # the replica's own JSONL is still written
    again = trakt_mcp(tmp_path / "one", "call", "--sandbox", "search_shows", "query=dune", state=postgres_url)
    assert again.returncode == 0, again.stderr
    intact = trakt_mcp(tmp_path / "one", "audit", "verify", state=postgres_url)
    assert intact.returncode == 0 and "intact: 2 row(s) in table guard_audit" in intact.stdout, intact.stdout
    assert "up to seq 2" in intact.stdout
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for change in ("UPDATE guard_audit SET entry = '{}'", "DELETE FROM guard_audit", "TRUNCATE guard_audit"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                connection.execute(change)  # type: ignore[arg-type]
        assert connection.execute("SELECT count(*) FROM guard_audit").fetchone() == (2,)
        # The database's owner can lift the trigger; the chain still shows the edit.
        connection.execute("ALTER TABLE guard_audit DISABLE TRIGGER guard_audit_append_only")
        connection.execute("UPDATE guard_audit SET entry = replace(entry, 'dune', 'dusk') WHERE id = 2")
    broken = trakt_mcp(tmp_path / "one", "audit", "verify", state=postgres_url)
    assert broken.returncode == 1 and "BROKEN: table guard_audit" in broken.stdout, broken.stdout + broken.stderr
    assert "row 2: its tag does not match" in broken.stdout
