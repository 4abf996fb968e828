"""Publishable (issue #25): a distribution name of our own that pyproject, server.json and the bundle agree on;
`call` refuses unknown, hidden and denied tools in one line with exit code 2; `install` never silently replaces
another server and says truthfully what it did; the extension's unfilled placeholders count as unset and its
messages name its settings; every command a message names works where it is read; built-in rules are named so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from trakt_mcp import __version__
from trakt_mcp.cli.clients import DIST_NAME
from trakt_mcp.cli.install import BACKUP_SUFFIX
from trakt_mcp.cli.main import main
from trakt_mcp.settings import BUNDLE_ENV, Settings
from trakt_mcp.trakt.errors import NotConfigured, NotSignedIn

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(sys.executable).parent
TRAKT_MCP = SCRIPTS / "trakt-mcp"


def test_the_name_is_ours_and_every_published_file_agrees() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    server = json.loads((ROOT / "server.json").read_text())
    manifest = json.loads((ROOT / "bundle" / "manifest.json").read_text())
    assert project["name"] == DIST_NAME == server["packages"][0]["identifier"] == manifest["name"]
    versions = {project["version"], server["version"], server["packages"][0]["version"], manifest["version"]}
    assert versions == {__version__}, versions
    readme = (ROOT / "README.md").read_text()
    assert f"<!-- mcp-name: {server['name']} -->" in readme, "the registry checks the package's README for it"
    # The namespace is the publisher's to prove (a GitHub account or a domain): none is claimed until one is.
    namespace = server["name"].split("/")[0]
    assert namespace == "io.github.OWNER" and f"Its name `{server['name']}` is a\nplaceholder" in readme
    assert DIST_NAME != "trakt-mcp" and "trakt-mcp" not in DIST_NAME, "PyPI's trakt-mcp is the reference server"
    assert project["scripts"][DIST_NAME] == project["scripts"]["trakt-mcp"], "`uvx NAME` runs NAME: ours"
    # No repository URL that leads nowhere: this project has none yet.
    assert "repository" not in server and "github.com/trakt-mcp" not in (ROOT / "README.md").read_text()


def run_cli(tmp_path: Path, *argv: str, path: str | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(tmp_path),
        "TRAKT_MCP_HOME": str(tmp_path / "state"),
        "PATH": path if path is not None else "/usr/bin:/bin",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    return subprocess.run(
        [str(TRAKT_MCP), *argv], capture_output=True, text=True, env=env, input=stdin, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serch_shows", "query=dune"], "Unknown tool: serch_shows"),
        (["--read-only", "remove_user_watchlist"], "Unknown tool: remove_user_watchlist"),
        (["--policy", "{policy}", "search_shows", "query=dune"], 'Blocked by policy rule rules."search_shows"'),
    ],
    ids=["unknown", "hidden", "denied"],
)
def test_call_refuses_in_one_line_with_exit_code_2(tmp_path: Path, argv: list[str], expected: str) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text('{"version": "1", "rules": {"search_shows": {"action": "deny"}}}')
    done = run_cli(tmp_path, "call", "--sandbox", *(arg.format(policy=policy) for arg in argv))
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.strip().count("\n") == 0, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_a_call_with_no_terminal_to_answer_on_is_sent_to_approve_not_declined(tmp_path: Path) -> None:
    """`echo y | trakt-mcp call ...`: nobody can answer on stdin, so the owner gets a code for `approve`."""
    assert run_cli(tmp_path, "login", "--sandbox").returncode == 0
    done = run_cli(
        tmp_path, "call", "--sandbox", "remove_user_watchlist", "watchlist_type=movies", 'items=[{"slug": "dune"}]',
        stdin="y\n",
    )  # fmt: skip
    assert "declined" not in done.stdout + done.stderr
    assert f"{TRAKT_MCP} approve --home" in done.stdout, done.stdout
    # The audit tells it apart from an answer at the terminal and from Ctrl-C (tests/test_publish_messages.py).
    line = json.loads((tmp_path / "state" / "audit.jsonl").read_text().splitlines()[-1])
    assert (line["decision"], line["channel"], line["answered_by"]) == ("approval_pending", "terminal", None), line
    # ... and the rule that asks is named as the built-in one, not as a path in a file nobody wrote.
    assert 'the built-in rule "remove_*"' in done.stdout


def test_messages_name_a_command_that_works_in_a_new_shell(tmp_path: Path) -> None:
    argv = ("call", "--sandbox", "remove_user_watchlist", "watchlist_type=movies", 'items=[{"slug": "dune"}]')
    hidden = run_cli(tmp_path, *argv)
    assert f"`{TRAKT_MCP} login --sandbox`" in hidden.stdout, hidden.stdout
    # An activated virtual environment (or `uv run`'s) is on this PATH, but not on a new shell's: the full path.
    activated = run_cli(tmp_path, *argv, path=f"{SCRIPTS}:/usr/bin:/bin")
    assert f"`{TRAKT_MCP} login --sandbox`" in activated.stdout, activated.stdout
    # Linked into a folder of the user's PATH (as pipx does): the bare name works everywhere.
    linked = tmp_path / "bin"
    linked.mkdir()
    (linked / "trakt-mcp").symlink_to(TRAKT_MCP)
    on_path = run_cli(tmp_path, *argv, path=f"{linked}:/usr/bin:/bin")
    assert "`trakt-mcp login --sandbox`" in on_path.stdout, on_path.stdout


CURSOR = ["install", "cursor", "--config"]


def test_install_never_replaces_another_server_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mcp.json"
    reference = {"command": "uvx", "args": ["trakt-mcp"], "env": {"TRAKT_CLIENT_ID": "abc"}}
    original = json.dumps({"mcpServers": {"trakt": reference}})
    config.write_text(original)
    assert main([*CURSOR, str(config)]) == 2
    out = capsys.readouterr()
    assert "another server named 'trakt'" in out.err and "--replace" in out.err
    assert config.read_text() == original and not config.with_name(config.name + BACKUP_SUFFIX).exists()

    assert main([*CURSOR, str(config), "--replace"]) == 0
    out = capsys.readouterr()
    backup = config.with_name(config.name + BACKUP_SUFFIX)
    assert "Replaced the other server named 'trakt'" in out.out and str(backup) in out.out
    assert json.loads(backup.read_text())["mcpServers"]["trakt"] == reference

    assert main([*CURSOR, str(config), "--sandbox"]) == 0  # updating ours keeps the replaced server's copy
    assert "Updated 'trakt'" in capsys.readouterr().out
    assert json.loads(backup.read_text())["mcpServers"]["trakt"] == reference

    assert main(["uninstall", "cursor", "--config", str(config)]) == 0
    assert "put back the server it had replaced" in capsys.readouterr().out
    assert json.loads(config.read_text())["mcpServers"]["trakt"] == reference
    assert main(["uninstall", "cursor", "--config", str(config)]) == 1, "never removes another server's entry"


def test_install_says_added_updated_or_unchanged_and_names_a_backup_only_when_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "new" / "mcp.json"
    config.parent.mkdir()
    assert main([*CURSOR, str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Added 'trakt' to {config}.") and ".bak" not in out
    assert not config.with_name(config.name + BACKUP_SUFFIX).exists()
    assert main([*CURSOR, str(config)]) == 0
    assert capsys.readouterr().out.startswith(f"Unchanged: {config} already has this entry.")
    assert main([*CURSOR, str(config), "--read-only"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Updated 'trakt' in {config}.") and f"{config}{BACKUP_SUFFIX}" in out


def test_unfilled_extension_placeholders_are_unset(tmp_path: Path) -> None:
    environ = {
        "TRAKT_CLIENT_ID": "${user_config.client_id}",
        "TRAKT_CLIENT_SECRET": "${user_config.client_secret}",
        "TRAKT_MCP_POLICY": "${user_config.policy_file}",
        "TRAKT_MCP_HOME": str(tmp_path),
    }
    settings = Settings.load(environ=environ)
    assert settings.client_id is None and settings.client_secret is None and settings.policy is None
    assert "client_id" not in settings.origins, "the keyring may still fill it"


def test_the_server_starts_with_an_unfilled_policy_field(tmp_path: Path) -> None:
    env = {**os.environ, "TRAKT_MCP_HOME": str(tmp_path / "state"), "TRAKT_MCP_POLICY": "${user_config.policy_file}"}
    done = subprocess.run(
        [str(TRAKT_MCP), "policy", "check"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_an_extension_user_is_sent_to_the_extension_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUNDLE_ENV, "1")
    message = str(NotConfigured())
    assert "Settings > Extensions > Trakt" in message and '"Trakt client ID"' in message
    assert "setup" not in message and "--sandbox" not in message
    assert "terminal" not in str(NotSignedIn()), "a shell has not the extension's client ID"
    monkeypatch.delenv(BUNDLE_ENV)
    assert "login` in a terminal" in str(NotSignedIn())
    manifest = json.loads((ROOT / "bundle" / "manifest.json").read_text())
    assert manifest["server"]["mcp_config"]["env"][BUNDLE_ENV] == "1"
    assert manifest["user_config"]["client_id"]["title"] == "Trakt client ID"
