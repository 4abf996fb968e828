"""A real, throwaway PostgreSQL for the tests: Debian's server binaries, a cluster made with `initdb` in a temporary
folder, listening on its own loopback port. PostgreSQL refuses to run as root, so under root the cluster belongs
to (and runs as) the unprivileged `postgres` user that Debian's package creates.

One cluster per pytest run (`postgres_cluster`, session-scoped: starting it costs about a second); each test gets a
schema of its own (`postgres_url`), so tests never see each other's rows. Without the binaries the tests fail
(they never skip): `.ci/run` installs the `postgresql` package.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Put in every URL the tests use, so that each message can be checked for it (the cluster trusts loopback).
PASSWORD = "s3cret-pw"
ROLE = "trakt"


def server_binary(name: str) -> str:
    """initdb, pg_ctl...: on PATH, or in Debian's versioned folder (/usr/lib/postgresql/*/bin)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is not installed: `apt-get install postgresql` (.ci/run does it)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in a temporary folder; `stop()` and `start()` for the tests where the database goes away."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="trakt-mcp-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_user = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        self._schemas = itertools.count(1)

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, cwd=self.folder, check=False, **self.as_user
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}")

    def create(self) -> None:
        self._run(server_binary("initdb"), "-D", str(self.data), "-U", ROLE, "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)

    def start(self) -> None:
        log = self.folder / "server.log"
        self._run(server_binary("pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run(server_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, schema: str | None = None) -> str:
        """The URL of the cluster's database; with `schema`, one whose connections see only that schema."""
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/postgres{options}"

    def new_schema(self) -> str:
        """A fresh, empty schema (much quicker to make than a database); returns the URL that uses it."""
        import psycopg

        name = f"test_{next(self._schemas)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {name}")  # type: ignore[arg-type]  # the name is made here
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.create()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> str:
    """A schema of this test's own in the run's cluster (its tables, functions and rows are nobody else's)."""
    return postgres_cluster.new_schema()
