"""A deployment as deploy/README.md describes it, run for real on loopback: three `trakt-mcp` HTTP replicas that share
one PostgreSQL (`--state`), each with a state folder of its own (as on three machines; only guard.key is the same),
Debian's HAProxy running deploy/haproxy.cfg in front of them, and the fake Trakt on a loopback port."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from guard.home import secret_key
from tests.postgres_support import free_port
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
TOKEN = secrets.token_urlsafe(32)
LIMIT = 5
#: Not passed on to the replicas: no desktop to ask on, no developer's settings.
UNINHERITED = frozenset({"DISPLAY", "WAYLAND_DISPLAY", "TRAKT_MCP_POLICY", "TRAKT_MCP_TOOLS", "TRAKT_MCP_TOOLSETS"})
#: fetch_trending_shows' limit: room for calls after a replica is killed mid-burst.
BIG_LIMIT = 24


def policy(limit: int = LIMIT) -> dict[str, Any]:
    """search_shows at most `limit` calls an hour, fetch_trending_shows BIG_LIMIT; search_movies needs the owner's
    approval; one identity, which may sign the replicas in."""
    return {
        "version": "1",
        "default": "allow",
        "rules": {
            "search_shows": {"action": "allow", "rate_limit": {"max": limit, "window": 3600}},
            "fetch_trending_shows": {"action": "allow", "rate_limit": {"max": BIG_LIMIT, "window": 3600}},
            "search_movies": {"action": "confirm", "confirm_via": ["terminal"]},
        },
        "identities": {
            "household": {
                "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                # Sign-in tools are the owner's unless a rule of the identity's own opens them (issue 24).
                "rules": {"start_device_auth": {"action": "allow"}, "check_auth_status": {"action": "allow"}},
            }
        },
    }


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy") and "/usr/sbin/haproxy") or None
    if not found:
        pytest.fail("HAProxy is not installed: `apt-get install haproxy` (.ci/run does it)")
    return found


def wait_for(url: str, timeout: float = 90.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == status:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer {status} within {timeout:g} s")
        time.sleep(0.1)


@dataclass
class Replica:
    home: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Deployment:
    folder: Path
    state: str
    api: str
    fake: FakeTrakt
    replicas: list[Replica] = field(default_factory=list)
    balancer: subprocess.Popen[bytes] | None = None
    port: int = field(default_factory=free_port)
    #: Multi-user mode (--public-url: the balancer's address), people's tokens sealed with one shared key.
    multi_user: bool = False
    people_key: str = field(default_factory=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def environment(self, home: Path) -> dict[str, str]:
        inherited = {name: value for name, value in os.environ.items() if name not in UNINHERITED}
        return {
            **inherited,
            "TRAKT_MCP_HOME": str(home),
            "TRAKT_MCP_STATE": self.state,
            "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
            "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "TRAKT_API_URL": self.api,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            **({"TRAKT_MCP_PUBLIC_URL": self.base, "TRAKT_MCP_PEOPLE_KEY": self.people_key} if self.multi_user else {}),
        }

    def start(self, replica: Replica) -> None:
        argv = [sys.executable, "-m", "trakt_mcp", "--transport", "streamable-http", "--port", str(replica.port)]
        argv += ["--allowed-host", "127.0.0.1:*", "--policy", str(self.folder / "policy.json")]
        log = (replica.home.parent / f"{replica.home.name}.log").open("ab")
        replica.process = subprocess.Popen(argv, env=self.environment(replica.home), stdout=log, stderr=log)

    def wait_ready(self, replica: Replica) -> None:
        """Until the replica answers /readyz; fails at once, with its log, if the process ends."""
        deadline = time.monotonic() + 90
        while True:
            assert replica.process is not None
            if replica.process.poll() is not None:
                log = (replica.home.parent / f"{replica.home.name}.log").read_text(errors="replace")
                raise AssertionError(f"replica on port {replica.port} exited: {log[-2000:]}")
            try:
                if httpx.get(f"{replica.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"replica on port {replica.port} was not ready within 90 s")
            time.sleep(0.1)

    def kill(self, replica: Replica) -> None:
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(timeout=10)

    def run(self, replica: Replica, *argv: str, stdin: Any = None) -> subprocess.CompletedProcess[str]:
        """`trakt-mcp ARGV...` on the machine of `replica` (its state folder, the shared database)."""
        command = [sys.executable, "-m", "trakt_mcp", *argv]
        env = self.environment(replica.home)
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, stdin=stdin)

    def start_balancer(self, serving: int | None = None) -> None:
        """HAProxy with deploy/haproxy.cfg; with `serving`, only the first `serving` replicas are named and the
        other server lines a closed port, which the health checks take out (bench/replicas.py: fewer replicas)."""
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.terminate()
            self.balancer.wait(timeout=10)
        env = {**os.environ, "TRAKT_MCP_LISTEN": f"127.0.0.1:{self.port}"}
        for index in range(3):
            named = index < len(self.replicas) and (serving is None or index < serving)
            env[f"TRAKT_MCP_REPLICA{index + 1}"] = f"127.0.0.1:{self.replicas[index].port if named else free_port()}"
        log = (self.folder / "haproxy.log").open("ab")
        argv = [haproxy_binary(), "-db", "-f", str(HAPROXY_CONFIG)]
        self.balancer = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        wait_for(f"http://127.0.0.1:{self.port}/readyz")
        if serving is not None:
            time.sleep(3)  # two failed checks a second apart take the unnamed lines out

    def stop(self) -> None:
        for process in [self.balancer, *(replica.process for replica in self.replicas)]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


@contextmanager
def deployment(
    folder: Path, state: str, replicas: int = 3, limit: int = LIMIT, *, multi_user: bool = False
) -> Iterator[Deployment]:
    """With `multi_user`, the replicas serve people who sign in with their own Trakt account (the policy allows
    everything but adding to the watch history, which the person confirms; its identities do not apply there)."""
    fake = FakeTrakt()
    with serve_on_loopback(fake) as api:
        deployed = Deployment(folder, state, api, fake, multi_user=multi_user)
        people = {"version": "1", "default": "allow", "rules": {"add_to_history": {"action": "confirm"}}}
        rules = people if multi_user else policy(limit)
        (folder / "policy.json").write_text(json.dumps(rules))
        key = secret_key(folder / "replica1")  # approvals are tagged with it: every replica has the same one
        for index in range(1, replicas + 1):
            home = folder / f"replica{index}"
            home.mkdir(mode=0o700, exist_ok=True)
            (home / "guard.key").write_bytes(key)
            (home / "guard.key").chmod(0o600)
            deployed.replicas.append(Replica(home, free_port()))
        try:
            for replica in deployed.replicas:
                deployed.start(replica)
            for replica in deployed.replicas:
                deployed.wait_ready(replica)
            deployed.start_balancer()
            yield deployed
        finally:
            deployed.stop()


@asynccontextmanager
async def mcp_client(url: str, mode: str = "legacy") -> AsyncIterator[Client]:
    with anyio.fail_after(30):
        async with (
            create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            yield client
