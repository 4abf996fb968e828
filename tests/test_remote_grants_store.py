"""What each person decides, in the people store, on both engines (SQLite on one machine, PostgreSQL for replicas):
a grant (person x client -> capabilities) carried by the scope of every live token of that person and client,
changed or revoked in one step that every process sees; browser sessions by digest with an expiry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trakt_mcp.remote.store import BrowserSessionRecord, CodeRecord, PeopleStore, TokenRecord, digest

NOW = 1_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PeopleStore, PeopleStore]]:
    """Two stores on the same state, as two processes (or two replicas) see it."""
    if request.param == "sqlite":
        from trakt_mcp.remote.sqlite import SqlitePeopleStore

        home = tmp_path / "home"
        home.mkdir(mode=0o700)
        pair: tuple[PeopleStore, PeopleStore] = (
            SqlitePeopleStore(home / "people.db"),
            SqlitePeopleStore(home / "people.db"),
        )
        yield pair
        for store in pair:
            store.close()
        return
    from guard.store.postgres import PostgresStore
    from trakt_mcp.remote.postgres import PostgresPeopleStore
    from trakt_mcp.server.guarded import STATE_SCHEMAS

    url = request.getfixturevalue("postgres_url")
    guards = [PostgresStore(url, schemas=STATE_SCHEMAS) for _ in range(2)]
    yield PostgresPeopleStore(guards[0]), PostgresPeopleStore(guards[1])
    for guard in guards:
        guard.close()


def issue(store: PeopleStore, secret: str, username: str, client_id: str, scope: str) -> None:
    record = TokenRecord(digest(secret), "access", client_id, username, "https://x/mcp", scope, f"f-{secret}", NOW + 60)
    store.put_token(record)


def test_a_grant_is_carried_by_every_live_token_of_that_person_and_client(
    stores: tuple[PeopleStore, PeopleStore],
) -> None:
    one, other = stores
    one.put_grant("alice", "phone", ("read",), NOW)
    issue(one, "a1", "alice", "phone", "read")
    issue(one, "a2", "alice", "phone", "read")
    issue(one, "a3", "alice", "laptop", "read rate")
    issue(one, "b1", "bob", "phone", "read")
    other.put_grant("alice", "phone", ("rate", "read", "history"), NOW + 1)
    scopes = {secret: one.token(digest(secret), NOW).scope for secret in ("a1", "a2", "a3", "b1")}  # type: ignore[union-attr]
    assert scopes == {"a1": "history rate read", "a2": "history rate read", "a3": "read rate", "b1": "read"}
    (grant,) = one.grants("alice")
    assert (grant.client_id, grant.capabilities, grant.updated_at) == ("phone", ("history", "rate", "read"), NOW + 1)
    assert one.grants("bob") == []


def test_revoking_one_client_revokes_its_tokens_and_codes_and_leaves_the_other_client(
    stores: tuple[PeopleStore, PeopleStore],
) -> None:
    one, other = stores
    for client in ("phone", "laptop"):
        one.put_grant("alice", client, ("read",), NOW)
        issue(one, f"{client}-token", "alice", client, "read")
    code = CodeRecord(digest("code"), "phone", "alice", "cb", "ch", "https://x/mcp", "read", NOW + 60, "fam")
    one.put_code(code)
    assert other.revoke_grant("alice", "phone") == 1
    assert one.token(digest("phone-token"), NOW).revoked  # type: ignore[union-attr]
    assert not one.token(digest("laptop-token"), NOW).revoked  # type: ignore[union-attr]
    assert one.take_code(digest("code"), NOW) == "used", "a code in flight cannot become a token any more"
    assert [grant.client_id for grant in one.grants("alice")] == ["laptop"]
    one.put_grant("alice", "phone", ("read",), NOW + 5)  # consenting again makes a new grant
    assert {grant.client_id for grant in other.grants("alice")} == {"phone", "laptop"}
    assert one.revoke_person("alice") == 1  # the laptop's token; the phone's was revoked already
    assert other.grants("alice") == []


def test_browser_sessions_by_digest_expire_and_end(stores: tuple[PeopleStore, PeopleStore]) -> None:
    one, other = stores
    one.put_browser_session(BrowserSessionRecord(digest("s-alice"), "alice", NOW, NOW + 100))
    one.put_browser_session(BrowserSessionRecord(digest("s-alice-2"), "alice", NOW, NOW + 100))
    one.put_browser_session(BrowserSessionRecord(digest("s-bob"), "bob", NOW, NOW + 100))
    seen = other.browser_session(digest("s-alice"), NOW + 1)
    assert seen is not None and seen.username == "alice"
    assert other.browser_session("s-alice", NOW + 1) is None, "looked up by digest only"
    assert other.browser_session(digest("s-alice"), NOW + 100) is None, "expired"
    other.end_browser_session(digest("s-alice"))
    assert one.browser_session(digest("s-alice"), NOW + 1) is None
    assert one.end_browser_sessions("alice") == 1
    assert one.browser_session(digest("s-alice-2"), NOW + 1) is None
    assert one.browser_session(digest("s-bob"), NOW + 1) is not None, "bob's session is his"
