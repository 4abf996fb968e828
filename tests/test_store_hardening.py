"""The state folder and the audit trail against a hostile agent and a careless disk, through real `trakt-mcp`
processes (#17 items 3 and 7, and #12's failure modes): each test reproduces a finding that held before."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guard.audit import AuditLog
from guard.home import HomeError, secure_folder
from tests.process_support import audit_lines
from tests.test_store_processes import CODE, CONFIRM, env_for, limited_policy, raw_server, trakt_mcp
from trakt_mcp.server.quickstart import SNAPSHOT_PREFIX, snapshot_key
from trakt_mcp.settings import Settings


def together(homes: Path | list[Path], *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Several `trakt-mcp` commands run at once (the suite stays fast), on one home or one home each."""
    places = homes if isinstance(homes, list) else [homes] * len(commands)
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "trakt_mcp", *argv],
            env=env_for(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for home, argv in zip(places, commands, strict=True)
    ]
    results = []
    for process in started:
        out, err = process.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


SEARCH = ("call", "--sandbox", "search_shows", "query=breaking", "limit=1")


def test_a_flood_of_unknown_tools_cannot_flush_the_audit_trail(tmp_path: Path) -> None:
    home, policy = tmp_path / "home", limited_policy(tmp_path / "p.json", 1000)
    name = "no_such_tool\x1b[2J\u202e" + "x" * 5000
    with raw_server(home, policy) as server:
        server.call("search_shows", {"query": "breaking", "limit": 1})
        assert not server.read()["result"].get("isError")
        for _ in range(500):
            server.call(name, {})
        answers = [server.read() for _ in range(500)]
    assert all(answer["error"]["code"] == -32602 for answer in answers)  # unknown tool: a JSON-RPC error
    lines = audit_lines(home)
    assert lines[0]["tool"] == "search_shows" and lines[0]["decision"] == "allowed"  # the real call is still there
    unknown = [line for line in lines if line.get("unknown_tool")]
    assert len(unknown) == 120, (len(lines), lines[-1])  # the meta-limit: past it, refused calls are counted
    assert all(len(line["tool"]) < 100 and "\\x1b[2J" in line["tool"] for line in unknown)
    assert all(line["tool"].endswith("(5,017 characters)") for line in unknown)
    assert "\x1b" not in (home / "audit.jsonl").read_text(encoding="ascii")
    # The next process of the same caller writes the burst as one line with its count.
    later = trakt_mcp(home, *SEARCH, "--policy", str(policy))
    assert later.returncode == 0, later.stdout + later.stderr
    bursts = [line for line in audit_lines(home) if line["decision"] == "suppressed"]
    assert [burst["count"] for burst in bursts] == [380], bursts
    assert "refused calls" in bursts[0]["reason"]


def test_a_flood_cannot_rotate_recent_history_away(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=400, backups=2)
    log.write({"tool": "clear_auth", "decision": "confirmed"})
    for index in range(300):
        log.write({"tool": "nope", "arguments": {"id": index}})
    kept = "".join(path.read_text() for path in tmp_path.glob("audit.jsonl*"))
    assert '"clear_auth"' in kept and kept.count("\n") == 301
    old = time.time() - 8 * 86_400  # older than the floor: now rotation may drop them
    for path in tmp_path.glob("audit.jsonl.*[0-9]"):
        os.utime(path, (old, old))
    log.write({"tool": "fetch_item"})
    log.write({"tool": "fetch_item", "arguments": {"note": "x" * 300}})
    assert len(list(tmp_path.glob("audit.jsonl.*[0-9]"))) <= 3


def test_a_planted_audit_symlink_is_not_followed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = tmp_path / "victim.txt"
    target.write_text("precious\n")
    (home / "audit.jsonl").symlink_to(target)
    done = trakt_mcp(home, *SEARCH)
    assert done.returncode == 0 and "Breaking Bad" in done.stdout
    assert target.read_text() == "precious\n"
    assert "symbolic link" in done.stderr and f"rm {home / 'audit.jsonl'}" in done.stderr


def listed_once(home: Path, policy: Path) -> None:
    """One stdio session that lists the tools: the server writes its quick-start snapshot and status file."""
    with raw_server(home, policy) as server:
        server.send("tools/list", {})
        assert "tools" in server.read()["result"]


def test_symlinks_at_temporary_and_status_file_names_are_never_written_through(tmp_path: Path) -> None:
    home, policy = tmp_path / "home", limited_policy(tmp_path / "p.json", 5)
    settings = Settings.load({"sandbox": True, "policy": str(policy)}, environ={"TRAKT_MCP_HOME": str(home)})
    snapshot = home / "cache" / f"{SNAPSHOT_PREFIX}{snapshot_key(settings)}.json"
    snapshot.parent.mkdir(mode=0o700, parents=True)
    os.chmod(home, 0o700)
    victims = []
    for planted in (home / "guard-status.json", snapshot.with_suffix(".tmp")):  # the names written before
        victim = tmp_path / f"victim-{planted.name}"
        victim.write_text("precious")
        planted.symlink_to(victim)
        victims.append(victim)
    listed_once(home, policy)
    assert all(victim.read_text() == "precious" for victim in victims)
    assert snapshot.is_file() and not snapshot.is_symlink()
    assert not (home / "guard-status.json").is_symlink()


def test_a_hand_written_approval_is_refused(tmp_path: Path) -> None:
    home, policy = tmp_path / "home", tmp_path / "p.json"
    policy.write_text(json.dumps(CONFIRM))
    with raw_server(home, policy) as server:
        server.call("search_shows", {"query": "breaking", "limit": 1})
        assert CODE.search(json.dumps(server.read()))
        with sqlite3.connect(home / "state.db") as db:  # "approved: true", written by hand
            db.execute("UPDATE records SET value = json_set(value, '$.approved', json('true')) WHERE kind = 'approval'")
        server.call("search_shows", {"query": "breaking", "limit": 1})
        second = server.read()
    assert second["result"]["isError"] and "Nothing ran" in json.dumps(second)
    assert [line["decision"] for line in audit_lines(home)] == ["approval_pending", "approval_pending"]


def test_a_state_folder_others_can_write_to_is_refused_with_the_fix(tmp_path: Path) -> None:
    shared, readable = tmp_path / "shared", tmp_path / "readable"
    for home, mode in ((shared, 0o777), (readable, 0o755)):
        home.mkdir()
        os.chmod(home, mode)
    refused, tightened = together([shared, readable], list(SEARCH), list(SEARCH))
    assert refused.returncode == 2 and "Breaking Bad" not in refused.stdout
    assert f"chmod 700 {shared}" in refused.stderr
    assert tightened.returncode == 0  # merely readable (an older install): made private, and it runs
    assert stat.S_IMODE(readable.stat().st_mode) == 0o700


def test_a_state_folder_owned_by_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    if os.geteuid() == 0:  # give it away for real, and ask a real process
        os.chown(home, 65534, 65534)
        refused = trakt_mcp(home, *SEARCH)
        assert refused.returncode == 2 and "belongs to another user" in refused.stderr and "chown" in refused.stderr
    else:  # without root nothing can be given away: the same check, told that we are someone else
        monkeypatch.setattr(os, "getuid", lambda: home.stat().st_uid + 1)
        with pytest.raises(HomeError, match=r"belongs to another user.*chown"):
            secure_folder(home)


def test_every_file_the_server_creates_is_private(tmp_path: Path) -> None:
    home, policy = tmp_path / "home", tmp_path / "p.json"
    policy.write_text(
        json.dumps({"version": "1", "default": "allow", "rules": {"search_shows": {"action": "confirm"}}})
    )
    with raw_server(home, policy) as server:  # a snapshot, the status file, the store, the key, the audit
        server.send("tools/list", {})
        server.read()
        server.call("search_shows", {"query": "breaking", "limit": 1})
        server.read()
        server.call("start_device_auth", {})
        assert "Sign in to Trakt" in json.dumps(server.read())
    found = {path.relative_to(home).as_posix(): stat.S_IMODE(path.lstat().st_mode) for path in home.rglob("*")}
    assert {"state.db", "guard.key", "audit.jsonl", "guard-status.json"} <= set(found)
    assert any(name.startswith("cache/") for name in found)
    for name, mode in found.items():
        assert mode == (0o700 if (home / name).is_dir() else 0o600), name
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_fifo_at_the_policy_path_freezes_nothing(tmp_path: Path) -> None:
    home, policy = tmp_path / "home", limited_policy(tmp_path / "p.json", 100)
    with raw_server(home, policy) as server:
        policy.unlink()
        os.mkfifo(policy)
        time.sleep(1.2)  # past the reload interval: the next request looks at the file
        started = time.monotonic()
        server.send("ping", {})
        assert "result" in server.read(timeout=5)
        server.call("search_shows", {"query": "breaking", "limit": 1})
        assert not server.read(timeout=5)["result"].get("isError")
        assert time.monotonic() - started < 5
    status = json.loads((home / "guard-status.json").read_text())
    assert "not a regular file" in status["error"]
    refused = trakt_mcp(home, *SEARCH, "--policy", str(policy))
    assert refused.returncode == 2 and "not a regular file" in refused.stderr


def test_a_corrupt_state_file_blocks_limited_calls_and_names_the_fix(tmp_path: Path) -> None:
    home, policy = tmp_path / "home", limited_policy(tmp_path / "p.json", 5)
    home.mkdir(mode=0o700)
    (home / "state.db").write_bytes(b"this is not a database" * 100)
    os.chmod(home / "state.db", 0o600)
    blocked, status = together(home, [*SEARCH, "--policy", str(policy)], ["status", "--sandbox"])
    assert blocked.returncode == 1 and "Breaking Bad" not in blocked.stdout
    assert f"{home / 'state.db'} is corrupt" in blocked.stdout and "mv " in blocked.stdout
    assert "UNUSABLE" in status.stdout and "is corrupt" in status.stdout


def test_a_state_file_locked_too_long_blocks_limited_calls_and_names_the_fix(tmp_path: Path) -> None:
    home, policy = tmp_path / "home", limited_policy(tmp_path / "p.json", 5)
    home.mkdir(mode=0o700)
    holder = sqlite3.connect(home / "state.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        blocked = trakt_mcp(home, *SEARCH, "--policy", str(policy))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert blocked.returncode == 1 and "Breaking Bad" not in blocked.stdout
    assert "stayed locked by another process" in blocked.stdout and str(home / "state.db") in blocked.stdout


def _append(path: str, writer: int, count: int) -> None:
    log = AuditLog(Path(path), max_bytes=8_000, backups=2, keep=3600)
    for index in range(count):
        log.write({"tool": "fetch_item", "writer": writer, "index": index, "pad": "x" * (index % 50)})


def test_many_processes_appending_and_rotating_lose_tear_and_duplicate_nothing(tmp_path: Path) -> None:
    import multiprocessing

    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_append, args=(str(path), writer, 400)) for writer in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0
    files = [file for file in tmp_path.glob("audit.jsonl*") if file.suffix != ".lock"]
    assert len(files) > 10  # it rotated many times while four processes wrote
    lines = [json.loads(line) for file in files for line in file.read_text().splitlines()]
    assert sorted((line["writer"], line["index"]) for line in lines) == [(w, i) for w in range(4) for i in range(400)]
