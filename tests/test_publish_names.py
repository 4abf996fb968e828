"""Every message that names a command or a package names one that works where it is read (issue #25), the guard's
too: guard/ knows no host, so trakt_mcp tells it how this installation is run (guard.commands), and no string in
either package spells a bare `trakt-mcp ...` command or a package that is not ours."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

from trakt_mcp.cli.main import main
from trakt_mcp.terminal import command

ROOT = Path(__file__).resolve().parent.parent
#: A command spelt with a bare program name, or the reference server's package named as ours.
BARE = re.compile(r"`(trakt-mcp|trakt-guardrails) [a-z]|install trakt-mcp|trakt-mcp\[|pip install -e")
#: README.md's client sections are generated here: the README itself says which `trakt-mcp` it means.
README_GENERATOR = ROOT / "trakt_mcp" / "cli" / "docs.py"
#: The one place that spells the fix for a missing PostgreSQL driver, for this installation (and guard's default).
POSTGRESQL_FIX = {ROOT / "trakt_mcp" / "terminal.py", ROOT / "guard" / "commands.py"}


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_string_names_a_bare_command_or_a_package_that_is_not_ours() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:90]}"
        for package in ("guard", "trakt_mcp")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != README_GENERATOR and BARE.search(path.read_text(encoding="utf-8"))
        for line, text in _strings(path)
        if (match := BARE.search(text)) and not (path in POSTGRESQL_FIX and match.group(0) == "pip install -e")
    ]
    assert found == [], "name commands with trakt_mcp.terminal.command / guard.commands.command"


def test_the_guards_messages_name_this_installations_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAKT_MCP_HOME", str(tmp_path / "state"))
    same = {"token_sha256": "0" * 64}
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"version": "1", "identities": {"a": same, "b": same}}))
    assert main(["policy", "check", str(policy)]) == 2
    assert f"`{command('identity add NAME')}`" in capsys.readouterr().err

    unreachable = "postgresql://nobody@127.0.0.1:1/trakt"
    assert main(["state", "status", "--state", unreachable]) == 1
    assert f"`{command('state status')}` checks it" in capsys.readouterr().out

    monkeypatch.setitem(sys.modules, "psycopg", None)  # an installation without the postgresql extra
    assert main(["state", "status", "--state", unreachable]) == 1
    out = capsys.readouterr().out
    assert f"`{Path(sys.executable).absolute()} -m pip install 'psycopg[binary,pool]<4,>=3.2'`" in out, out
    assert "trakt-guardrails's postgresql extra" in out
