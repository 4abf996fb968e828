"""`trakt-mcp login / logout / status`, with --sandbox, on an instant clock."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FakeTime
from trakt_mcp.cli import auth as cli_auth
from trakt_mcp.cli import main as cli
from trakt_mcp.sandbox import FakeTrakt, Fault
from trakt_mcp.settings import SANDBOX_CLIENT_SECRET


@pytest.fixture(autouse=True)
def instant_clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    clock = FakeTime(start=1_750_000_000.0)
    monkeypatch.setattr(cli_auth, "SLEEP", clock.sleep)
    monkeypatch.setattr(cli_auth, "CLOCK", clock.clock)
    return clock


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def token_file(home: Path) -> Path:
    return home / "sandbox" / "token.json"


def test_login_status_logout_in_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], instant_clock: FakeTime
) -> None:
    home = str(tmp_path / "home")
    code, out, _ = run(capsys, "login", "--sandbox", "--home", home)
    assert code == 0
    assert "Sandbox sign-in: nothing to open" in out and "trakt.tv" not in out
    assert "Waiting for approval: next check in 1 second" in out
    assert "Signed in to Trakt" in out and str(token_file(Path(home))) in out
    assert instant_clock.sleeps, "the countdown waited (on the injected clock)"
    stored = json.loads(token_file(Path(home)).read_text())
    assert stat.S_IMODE(token_file(Path(home)).stat().st_mode) == 0o600

    code, status, _ = run(capsys, "status", "--sandbox", "--home", home)
    assert code == 0
    assert "Client ID: set (sandbox-client-id)" in status and "Signed in: yes" in status
    assert f"Token store: file {token_file(Path(home))}" in status and "- Policy: built-in (" in status

    code, again, _ = run(capsys, "login", "--sandbox", "--home", home)
    assert code == 0 and "Already signed in" in again

    code, bye, _ = run(capsys, "logout", "--sandbox", "--home", home)
    assert code == 0 and "Signed out" in bye and not token_file(Path(home)).exists()
    code, after, _ = run(capsys, "status", "--sandbox", "--home", home)
    assert "Signed in: no" in after
    code, nothing, _ = run(capsys, "logout", "--sandbox", "--home", home)
    assert "Nothing to clear" in nothing

    for text in (out, status, again, bye, after, nothing):
        for secret in (stored["access_token"], stored["refresh_token"], SANDBOX_CLIENT_SECRET):
            assert secret not in text


def test_login_reports_a_code_that_expires(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trakt_mcp.sandbox.routes import oauth

    monkeypatch.setattr(oauth, "DEVICE_CODE_LIFETIME", 1)
    code, out, err = run(capsys, "login", "--sandbox", "--home", str(tmp_path / "home"))
    assert code == 1 and "expired" in err and "Signed in" not in out
    assert not token_file(tmp_path / "home").exists()


def test_status_without_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--home", str(tmp_path / "home"))
    assert code == 0
    assert "Client ID: not set" in out and "TRAKT_CLIENT_ID" in out
    assert "Signed in: no" in out and "Token store: keyring" in out and "Policy: built-in" in out


def test_status_names_the_fallback_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    home = tmp_path / "home"
    code, out, _ = run(capsys, "status", "--client-id", "abc", "--home", str(home))
    assert code == 0 and "Client ID: set (abc)" in out and f"Token store: file {home / 'token.json'}" in out


@pytest.mark.parametrize("fault", [Fault(status=503), Fault(exception=httpx.ConnectError)])
def test_login_keeps_waiting_through_passing_trouble_while_polling(
    fault: Fault, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5xx or a dropped connection on one poll is not the end of the sign-in: the code is still valid."""
    from trakt_mcp import sandbox  # the server imports its fake from here, in sandbox mode only

    class FlakyTrakt(FakeTrakt):
        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.inject(dataclasses.replace(fault, path_prefix="/oauth/device/token", times=1))

    monkeypatch.setattr(sandbox, "FakeTrakt", FlakyTrakt)
    code, out, err = run(capsys, "login", "--sandbox", "--home", str(tmp_path / "home"))
    assert code == 0, err
    assert "Still waiting for approval" in err
    assert "Signed in to Trakt" in out
