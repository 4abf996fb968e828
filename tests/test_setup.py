"""`trakt-mcp setup`: credentials into the keyring (or a 0600 file), sign-in, install; `status` says where each
credential came from; and a keyring-stored client secret never shows up in config files, logs, status or audit."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FakeTime
from tests.memory_keyring import MemoryKeyring
from trakt_mcp.cli import auth as cli_auth
from trakt_mcp.cli import main as cli
from trakt_mcp.cli import setup as cli_setup
from trakt_mcp.sandbox import FakeTrakt
from trakt_mcp.sandbox.http import serve_on_loopback

CLIENT_ID = "my-trakt-app-id"
SECRET = "s3cret-VALUE-never-shown-9f2c"


@pytest.fixture
def trakt() -> Iterator[str]:
    """A fake Trakt on loopback that knows this app's ID and secret and approves sign-ins at once."""
    with serve_on_loopback(FakeTrakt(client_id=CLIENT_ID, client_secret=SECRET, auto_approve=True)) as url:
        yield url


@pytest.fixture(autouse=True)
def person(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the person types: the client ID at the first prompt, the secret at the hidden one, then answers."""
    answers: list[str] = []
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return answers.pop(0) if answers else ""

    def ask_secret(prompt: str) -> str:
        prompts.append(prompt)
        return SECRET

    clock = FakeTime()
    monkeypatch.setattr(cli_auth, "SLEEP", clock.sleep)
    monkeypatch.setattr(cli_auth, "CLOCK", clock.clock)
    monkeypatch.setattr(cli_setup, "ASK", ask)
    monkeypatch.setattr(cli_setup, "ASK_SECRET", ask_secret)
    monkeypatch.setattr("webbrowser.open", lambda url: pytest.fail("no browser without --no-browser's opposite"))
    monkeypatch.setenv("HOME", "/nonexistent-home")  # no MCP client is "found" on this machine
    answers.append(CLIENT_ID)
    return prompts


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_setup_stores_both_in_the_keyring_signs_in_and_the_secret_never_shows(
    trakt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], person: list[str]
) -> None:
    home = tmp_path / "home"
    code, out = run(capsys, "setup", "--no-browser", "--api-url", trakt, "--home", str(home))
    assert code == 0, out
    assert "https://trakt.tv/oauth/applications/new" in out and "Stored the client ID and secret in keyring" in out
    assert "Signed in to Trakt" in out
    assert any("not shown" in prompt for prompt in person), "the secret is asked for without echo"
    stored = json.loads(MemoryKeyring.store[("trakt-mcp", "client-credentials")])
    assert stored == {"client_id": CLIENT_ID, "client_secret": SECRET}
    assert not (home / "credentials.json").exists()

    code, status = run(capsys, "status", "--api-url", trakt, "--home", str(home))
    assert f"Client ID: set ({CLIENT_ID}), from keyring" in status
    assert "Client secret: set, from keyring" in status and "Signed in: yes" in status

    config = tmp_path / "mcp.json"
    code, installed = run(capsys, "install", "vscode", "--config", str(config), "--api-url", trakt)
    code, called = run(capsys, "-v", "call", "--api-url", trakt, "--home", str(home), "fetch_user_watchlist")
    assert code == 0, called
    audit = (home / "audit.jsonl").read_text()
    assert "fetch_user_watchlist" in audit
    for text in (out, status, installed, called, config.read_text(), audit):
        assert SECRET not in text


def test_environment_overrides_the_keyring_and_status_says_so(
    trakt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    assert run(capsys, "setup", "--no-browser", "--no-login", "--home", str(home))[0] == 0
    monkeypatch.setenv("TRAKT_CLIENT_ID", "from-env")
    _, status = run(capsys, "status", "--home", str(home))
    assert "Client ID: set (from-env), from environment (TRAKT_CLIENT_ID)" in status
    # another app's ID: the stored secret (of a different app) is not used with it
    assert "Client secret: not set" in status
    _, status = run(capsys, "status", "--home", str(home), "--client-id", CLIENT_ID)
    assert "from flag --client-id" in status and "Client secret: set, from keyring" in status
    assert SECRET not in status


def test_without_a_keyring_the_credentials_go_to_a_private_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    home = tmp_path / "home"
    code, out = run(capsys, "setup", "--no-browser", "--no-login", "--home", str(home))
    assert code == 0 and f"file {home / 'credentials.json'}" in out
    assert stat.S_IMODE((home / "credentials.json").stat().st_mode) == 0o600
    code, status = run(capsys, "status", "--home", str(home))
    assert f"Client secret: set, from file {home / 'credentials.json'}" in status and SECRET not in status


def test_setup_without_a_keyring_signs_in_with_no_log_line_inside_its_report(
    trakt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #25: the file fallback's warning landed in the middle of setup's output, which says it already."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    home = tmp_path / "home"
    code, out = run(capsys, "setup", "--no-browser", "--api-url", trakt, "--home", str(home))
    assert code == 0 and "Signed in to Trakt" in out, out
    assert "WARNING" not in out and "No usable OS keyring" not in out, out


def test_setup_needs_both_values(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_setup, "ASK_SECRET", lambda prompt: "")
    code, out = run(capsys, "setup", "--no-browser")
    assert code == 2 and "nothing was stored" in out and not MemoryKeyring.store
