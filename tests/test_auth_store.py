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
from tests.auth_support import flow, keyring_entry
from tests.conftest import FakeTime, Session, text_of
from tests.memory_keyring import MemoryKeyring
from trakt_mcp.app import App
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.settings import Settings
from trakt_mcp.tokens import FileStore, KeyringStore, Token, TokenStoreError, open_token_store

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
