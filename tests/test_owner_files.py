"""The owner's files cannot be bent (issue 24, breaks 2 and 10), through real `trakt-mcp` processes: a policy file
others may write (or that sits in a folder others may write, or that belongs to someone else) is refused at start
and at every reload with the fix; a client config nested 100,000 levels deep is refused with a clear message."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.process_support import fake_trakt, http_server, owner_token, trakt_environment, write_json

NOBODY = 65534
POLICY = {"version": "1", "default": "allow"}
START_TIMEOUT = 60


def trakt_mcp(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAKT_MCP_HOME": str(home)}
    command = [sys.executable, "-m", "trakt_mcp", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=START_TIMEOUT)


def starting(tmp_path: Path, policy: Path) -> subprocess.CompletedProcess[str]:
    """The server started on `policy` (it exits at once when the policy is refused)."""
    return trakt_mcp(tmp_path / "home", "--policy", str(policy), "--transport", "streamable-http", "--port", "1")


@pytest.mark.parametrize("bent", ["file 0666", "folder 0777", "file of another user", "link into a 0777 folder"])
def test_a_policy_others_could_change_is_refused_at_start_with_the_fix(tmp_path: Path, bent: str) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    policy = write_json(folder / "policy.json", POLICY)
    if bent == "file 0666":
        policy.chmod(0o666)
        fix = f"chmod go-w {policy}"
    elif bent == "folder 0777":
        folder.chmod(0o777)
        fix = f"chmod go-w {folder}"
    elif bent == "file of another user":
        os.chown(policy, NOBODY, NOBODY)
        fix = "belongs to another user"
    else:
        folder.chmod(0o777)
        link = tmp_path / "policy.json"
        link.symlink_to(policy)
        policy = link
        fix = f"chmod go-w {folder}"
    started = starting(tmp_path, policy)
    assert started.returncode != 0
    assert fix in started.stderr and "Traceback" not in started.stderr, started.stderr


async def test_an_edit_by_another_account_is_refused_at_reload_and_the_owners_policy_stays(tmp_path: Path) -> None:
    """As in the attack: the policy was left 0666; another account adds its own identity. The reload refuses the
    edit with the fix, the caller it added is unknown (401), the owner's policy stays in force."""
    mallory = secrets.token_urlsafe(24)
    policy = write_json(tmp_path / "policy.json", POLICY)
    with fake_trakt() as (_, api):
        env = trakt_environment(tmp_path / "home", api)
        async with http_server(env, "--policy", str(policy), log=tmp_path / "server.log") as url:
            policy.chmod(0o666)
            digest = hashlib.sha256(mallory.encode()).hexdigest()
            write_json(policy, {**POLICY, "identities": {"mallory": {"token_sha256": digest}}})  # still the owner's
            deadline = time.monotonic() + 20
            status = ""
            async with httpx.AsyncClient(timeout=30) as http:
                while "writable by other users" not in status and time.monotonic() < deadline:
                    await anyio.sleep(0.5)
                    headers = {"Authorization": f"Bearer {owner_token(env)}", "Accept": "application/json"}
                    await http.get(url, headers=headers)  # any request: the guard re-reads the policy on use
                    status = (tmp_path / "home" / "guard-status.json").read_text()
                refused = await http.post(url, headers={"Authorization": f"Bearer {mallory}"}, json={})
    assert "writable by other users" in status and "chmod go-w" in status, status
    assert refused.status_code == 401


@pytest.mark.parametrize("client", ["vscode", "claude-desktop"])
def test_install_into_a_config_nested_100000_deep_says_so_and_changes_nothing(tmp_path: Path, client: str) -> None:
    config = tmp_path / "config.json"
    deep = "[" * 100_000 + "]" * 100_000
    config.write_text(deep)
    done = trakt_mcp(tmp_path / "home", "install", client, "--config", str(config))
    assert done.returncode == 1
    assert "levels of nesting" in done.stderr and "Nothing was changed" in done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert config.read_text() == deep


# --- smaller points ----------------------------------------------------------------------------------------------


def test_a_full_disk_is_named_as_such_not_as_permissions(tmp_path: Path) -> None:
    import sqlite3

    from guard.store.sqlite import SqliteStore

    said = str(SqliteStore(tmp_path / "state.db")._explain(sqlite3.OperationalError("database or disk is full")))
    assert "is full" in said and "df -h" in said and "chmod" not in said


async def test_a_symlinked_approval_key_tells_the_agent_what_is_wrong(tmp_path: Path) -> None:
    from guard.home import secret_key
    from tests.conftest import text_of
    from tests.guard_server import Harness, write_policy

    rules = {"remove_item": {"action": "confirm", "confirm_via": ["terminal"]}}
    h = Harness(tmp_path / "home", write_policy(tmp_path / "policy.json", {"version": "1", "rules": rules}))
    (tmp_path / "elsewhere").write_bytes(b"k" * 32)
    (h.home / "guard.key").symlink_to(tmp_path / "elsewhere")
    h.approvals._key = lambda: secret_key(h.home)
    async with h.client() as client:
        result = await client.call_tool("remove_item", {"id": 1})
    said = text_of(result)
    assert result.is_error and "symbolic link" in said and "internal error" not in said, said
    assert h.ran == []
