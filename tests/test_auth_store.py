"""The token store: keyring backend choice, the private fallback file, errors reported, the sandbox kept apart."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked

from tests import auth_support
from tests.auth_support import accept, flow, keyring_entry
from tests.conftest import FakeTime, Session, text_of
from tests.memory_keyring import MemoryKeyring
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.settings import SANDBOX_CLIENT_ID, Settings
from trakt_mcp.trakt.tokens import SERVICE, FileStore, KeyringStore, Token, TokenStoreError, open_token_store

TOKEN = Token(access_token="a" * 64, refresh_token="r" * 64, expires_at=2e9, created_at=1.9e9)

#: The sign-in tests record every token the fake issues (see auth_support).
fake = auth_support.fake


class LockedKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the keyring is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the keyring is locked")


class OtherMemoryKeyring(MemoryKeyring):
    pass


def test_keyring_entry_is_one_json_document_per_client_id(settings: Settings) -> None:
    store = open_token_store(settings)
    assert isinstance(store, KeyringStore)
    store.save(TOKEN)
    assert keyring_entry() == TOKEN.to_json()
    assert store.load() == TOKEN
    assert store.clear() and not store.clear()
    assert store.load() is None


def test_backend_from_environment_is_honoured_each_time(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_token_store(settings)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.OtherMemoryKeyring")
    second = open_token_store(settings)
    assert isinstance(first, KeyringStore) and type(first.backend) is MemoryKeyring
    assert isinstance(second, KeyringStore) and type(second.backend) is OtherMemoryKeyring


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
def test_no_usable_keyring_falls_back_to_a_private_file(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    caplog.set_level(logging.WARNING)
    store = open_token_store(settings)
    open_token_store(settings)
    assert isinstance(store, FileStore) and store.path == settings.home / "token.json"
    announcements = [r for r in caplog.records if "No usable OS keyring" in r.getMessage()]
    assert len(announcements) == 1 and str(store.path) in announcements[0].getMessage()
    store.save(TOKEN)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load() == TOKEN


def test_file_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(tmp_path / "state" / "token.json")
    store.save(TOKEN)
    newer = Token("b" * 64, "c" * 64, 2.1e9, 2e9)

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(TokenStoreError, match=r"Could not save.*disk full"):
        store.save(newer)
    assert store.load() == TOKEN, "the old token is intact"
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["token.json"], "no temporary file is left"
    monkeypatch.undo()
    store.save(newer)
    assert store.load() == newer
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_unreadable_token_file_is_reported_without_its_contents(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "token.json")
    store.path.write_text('{"access_token": "' + "s" * 40 + '"')
    with pytest.raises(TokenStoreError, match="unreadable") as caught:
        store.load()
    assert "s" * 40 not in str(caught.value)


def test_sandbox_never_touches_the_real_keyring_or_file(settings: Settings) -> None:
    sandbox = settings.model_copy(update={"sandbox": True})
    store = open_token_store(sandbox)
    store.save(TOKEN)
    assert isinstance(store, FileStore) and store.path == settings.home / "sandbox" / "token.json"
    assert MemoryKeyring.store == {}
    assert not (settings.home / "token.json").exists()


async def test_keyring_error_is_reported_by_the_tool(
    session: Session, fake: FakeTrakt, fake_time: FakeTime, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.LockedKeyring")
    async with session() as client:
        await client.call_tool("start_device_auth", {})
        flow(fake).approve()
        fake_time.now += 5
        result = await client.call_tool("check_auth_status", {})
    assert result.is_error
    assert "Could not save the Trakt token" in text_of(result) and "KeyringLocked" in text_of(result)


def test_broken_backend_choice_is_reported(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no_such_module.Keyring")
    with pytest.raises(TokenStoreError, match="PYTHON_KEYRING_BACKEND"):
        open_token_store(settings)


class BrokenKeyring(KeyringBackend):
    """A backend failing with whatever its platform library raises (not a KeyringError)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("dbus connection closed")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"dbus connection closed while storing {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("dbus connection closed")


@pytest.mark.parametrize("action", ["load", "save", "clear"])
def test_any_backend_failure_is_reported_as_a_store_error(settings: Settings, action: str) -> None:
    store = KeyringStore(BrokenKeyring(), "client")
    with pytest.raises(TokenStoreError, match=r"Could not .* the Trakt token in keyring.*RuntimeError") as caught:
        getattr(store, action)(*([TOKEN] if action == "save" else []))
    assert TOKEN.access_token not in str(caught.value) and TOKEN.refresh_token not in str(caught.value)


@pytest.mark.parametrize(
    "entry",
    [
        "not json",
        "[]",
        '"a string"',
        '{"access_token": "a"}',
        '{"access_token": null, "refresh_token": null, "expires_at": 2e9, "created_at": 1.9e9}',
        '{"access_token": "", "refresh_token": "r", "expires_at": 2e9, "created_at": 1.9e9}',
        '{"access_token": "a", "refresh_token": "r", "expires_at": "soon", "created_at": 1.9e9}',
    ],
)
def test_a_damaged_entry_is_unreadable(entry: str) -> None:
    with pytest.raises(TokenStoreError, match="unreadable"):
        Token.from_json(entry, "keyring")


async def test_a_damaged_entry_can_be_replaced_by_signing_in_again(
    session: Session, fake: FakeTrakt, fake_time: FakeTime, app: App
) -> None:
    MemoryKeyring.store[(SERVICE, SANDBOX_CLIENT_ID)] = '{"access_token": "half a tok'
    async with session() as client:
        status = await client.read_resource("trakt://user/auth/status")
        started = await client.call_tool("start_device_auth", {})
        flow(fake).approve()
        fake_time.now += 5
        done = await client.call_tool("check_auth_status", {})
    status_text = status.contents[0].text  # type: ignore[union-attr]
    assert "Signed in: unknown" in status_text and "unreadable" in status_text and "Token store: keyring" in status_text
    assert not started.is_error and flow(fake).latest().user_code in text_of(started)
    assert not done.is_error and "Signed in" in text_of(done)
    kept = app.auth.store.load()
    assert kept is not None and fake.token_valid(kept.access_token)


async def test_clear_auth_removes_a_damaged_entry(session: Session, fake: FakeTrakt, app: App) -> None:
    MemoryKeyring.store[(SERVICE, SANDBOX_CLIENT_ID)] = "garbage"
    async with session(elicitation_callback=accept) as client:
        first = await client.call_tool("clear_auth", {})
        second = await client.call_tool("clear_auth", {})
    assert not first.is_error, text_of(first)
    assert "Removed the token" in text_of(first) and "unreadable" in text_of(first)
    assert keyring_entry() is None and "Nothing to clear" in text_of(second)
    assert fake.calls_to("POST", "/oauth/revoke") == []


def test_file_store_replaces_a_symlink_and_a_loose_file_with_a_private_file(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("keep me")
    path = tmp_path / "state" / "token.json"
    path.parent.mkdir()
    path.symlink_to(elsewhere)
    store = FileStore(path)
    store.save(TOKEN)
    assert elsewhere.read_text() == "keep me", "the token was not written through the link"
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    old_umask = os.umask(0)
    try:
        store.save(TOKEN)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and store.load() == TOKEN


def test_a_save_sweeps_token_files_a_crashed_save_left_but_not_one_in_progress(tmp_path: Path) -> None:
    import os
    import time

    from trakt_mcp.trakt.tokens import STALE_TEMP_SECONDS

    store = FileStore(tmp_path / "token.json")
    crashed, in_progress = tmp_path / ".token-crashed.tmp", tmp_path / ".token-busy.tmp"
    crashed.write_text("a token")
    in_progress.write_text("a token")
    old = time.time() - STALE_TEMP_SECONDS - 5
    os.utime(crashed, (old, old))
    store.save(Token(access_token="a" * 64, refresh_token="r" * 64, expires_at=time.time() + 3600, created_at=0))
    assert not crashed.exists()
    assert in_progress.exists()
    assert store.load() is not None
