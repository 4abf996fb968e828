"""The state store's contract, the same for SQLite (the default), PostgreSQL (replicas) and memory (tests), and a
limit's `scope`."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guard.store import Store, StoreError, StoreFull, Window
from guard.store.memory import MemoryStore
from guard.store.postgres import PostgresStore
from guard.store.sqlite import SqliteStore
from tests.conftest import text_of
from tests.guard_server import Harness, write_policy

NOW = 1_000_000.0


@pytest.fixture(params=["sqlite", "memory", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "postgresql":
        made = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        made = SqliteStore(tmp_path / "home" / "state.db") if request.param == "sqlite" else MemoryStore()
    yield made
    made.close()


def test_a_sliding_window_lets_max_calls_through_then_says_when_there_is_room(store: Store) -> None:
    window = [Window("k", 3, 60.0)]
    assert [store.take(window, NOW + t) for t in (0, 10, 20)] == [None, None, None]
    assert store.take(window, NOW + 30) == (0, 30.0)  # the first call leaves the window at +60
    assert store.check(window, NOW + 59) is not None
    assert store.take(window, NOW + 61) is None  # slid past the first call
    assert store.take(window, NOW + 62) == (0, 8.0)


def test_a_call_is_counted_in_every_window_or_in_none(store: Store) -> None:
    minute, hour = Window("minute", 5, 60.0), Window("hour", 2, 3600.0)
    assert store.take([minute, hour], NOW) is None
    assert store.take([minute, hour], NOW + 1) is None
    assert store.take([minute, hour], NOW + 2) == (1, 3598.0)
    assert [store.take([minute], NOW + 3) for _ in range(4)] == [None, None, None, (0, 57.0)]  # 2 + 3 = 5


def test_check_counts_nothing_and_a_lowered_max_still_counts_every_call_in_the_window(store: Store) -> None:
    assert all(store.check([Window("k", 1, 60.0)], NOW) is None for _ in range(5))
    for t in range(10):
        assert store.take([Window("k", 100, 60.0)], NOW + t) is None
    assert store.check([Window("k", 10, 60.0)], NOW + 10) == (0, 50.0)
    assert store.check([Window("k", 11, 60.0)], NOW + 10) is None


def test_records_are_capped_expire_and_are_taken_exactly_once(store: Store) -> None:
    store.put("approval", "A", {"n": 1}, NOW + 10, NOW, cap=2)
    store.put("approval", "B", {"n": 2}, NOW + 10, NOW, cap=2)
    with pytest.raises(StoreFull):
        store.put("approval", "C", {"n": 3}, NOW + 10, NOW, cap=2)
    store.put("approval", "A", {"n": 4}, NOW + 10, NOW, cap=2)  # replacing is not adding
    assert [key for key, _ in store.items("approval", NOW)] == ["A", "B"]
    assert store.get("approval", "A", NOW) == {"n": 4}
    assert store.pop("approval", "A", NOW) == {"n": 4} and store.pop("approval", "A", NOW) is None
    assert store.get("approval", "B", NOW + 10) is None  # expired
    for key in "WXYZ":
        store.put("question", key, {}, NOW + 10, NOW, cap=3, evict=True)
    assert [key for key, _ in store.items("question", NOW)] == ["X", "Y", "Z"]  # the oldest made room
    assert store.clear("question") == 3 and store.items("question", NOW) == []


def test_racing_threads_get_exactly_the_last_slot(tmp_path: Path) -> None:
    path = tmp_path / "home" / "state.db"
    stores = [SqliteStore(path) for _ in range(8)]  # eight connections, as eight processes would have
    won: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def race(store: SqliteStore) -> None:
        barrier.wait()
        won.extend(store.take([Window("last", 3, 60.0)], NOW) is None for _ in range(5))

    threads = [threading.Thread(target=race, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won.count(True) == 3 and len(won) == 40


def test_a_corrupt_file_is_reported_with_the_fix_and_never_replaced_by_memory(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"garbage" * 1000)
    store = SqliteStore(path)
    with pytest.raises(StoreError, match=rf"{path} is corrupt\. Fix: stop the servers using it and move it aside"):
        store.take([Window("k", 1, 60.0)], NOW)
    path.unlink()  # fixed: the next use opens it afresh, no restart needed
    assert store.take([Window("k", 1, 60.0)], NOW) is None and "ok" in store.health()


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scoped(scope: str) -> dict[str, Any]:
    limit = {"max": 3, "window": "hour", "scope": scope}
    identities = {name: {"token_sha256": sha(name)} for name in ("ann", "ben", "cat")}
    return {"version": "1", "default": "allow", "all_tools": {"limits": [limit]}, "identities": identities}


@pytest.mark.parametrize(("scope", "ran"), [("server", 3), ("identity", 6), ("grant", 6)])
async def test_a_server_scoped_limit_is_one_window_for_every_caller(tmp_path: Path, scope: str, ran: int) -> None:
    h = Harness(tmp_path / "home", write_policy(tmp_path / "p.json", scoped(scope)))
    async with h.client() as client:
        for caller in ("ann", "ben", "cat"):
            h.caller = caller
            for index in range(2):
                result = await client.call_tool("fetch_item", {"id": index})
                assert not result.is_error or "Rate limited by policy rule all_tools.limits[0]" in text_of(result)
    assert len(h.ran) == ran


def test_reset_limits_starts_every_window_afresh_and_status_shows_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trakt_mcp.cli.main import main

    policy = write_policy(
        tmp_path / "p.json",
        {"version": "1", "default": "allow", "all_tools": {"limits": [{"max": 1, "window": "day"}]}},
    )
    search = ["call", "--sandbox", "--policy", str(policy), "search_shows", "query=breaking"]
    assert [main(search), main(search)] == [0, 1]
    assert main(["status", "--sandbox", "--policy", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "Shared state (rate limits, approvals, sign-ins): " in out and "ok (1 calls in rate-limit windows" in out
    assert main(["reset-limits"]) == 0
    assert "Rate limits reset" in capsys.readouterr().out
    assert main(search) == 0
