"""Documents generated from the code stay equal to it: README.md's client sections (the same code as `install
--print`) and tool table (the tool declarations), the bundle manifest's tools and version, and server.json, which
must also validate against the MCP registry's published schema (vendored in tests/data/server.schema.json).
After an intended change: `python -m trakt_mcp.cli.docs`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from trakt_mcp import __version__
from trakt_mcp.cli import docs
from trakt_mcp.cli.clients import CLIENTS
from trakt_mcp.cli.main import main
from trakt_mcp.settings import ENV_VARS
from trakt_mcp.tools import tools_by_name

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FIX = "stale: run `python -m trakt_mcp.cli.docs`"


@pytest.mark.parametrize("section", list(docs.SECTIONS))
def test_readme_sections_are_generated_from_the_code(section: str) -> None:
    assert docs.readme_section(README, section) == docs.SECTIONS[section](), FIX


@pytest.mark.parametrize("client", list(CLIENTS))
def test_each_client_section_is_what_install_print_shows(
    client: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvx and claude on PATH by their plain names: what README.md shows (Claude Code through `claude mcp add`)
    monkeypatch.setattr("shutil.which", lambda name: name if name in ("uvx", "claude") else None)
    monkeypatch.delenv("TRAKT_MCP_HOME")  # the default home: no --home in the entry
    assert main(["install", client, "--print", "--uvx", "trakt-guardrails"]) == 0
    printed = capsys.readouterr().out.strip()
    section = docs.readme_section(README, "clients") or ""
    assert f"#### {CLIENTS[client].title}\n" in section and printed in section


def test_every_tool_and_parameter_is_in_the_readme_table() -> None:
    table = docs.readme_section(README, "tools") or ""
    assert table.startswith("<details>") and table.endswith("</details>")
    for name, spec in tools_by_name().items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        for parameter in spec.args.model_fields:
            assert f"`{parameter}`" in row, (name, parameter)


def test_the_readme_has_the_one_line_uvx_run_and_the_bundle() -> None:
    assert "uvx --from . trakt-guardrails --sandbox" in README
    assert "bundle/build.py" in README and ".mcpb" in README


def test_the_bundle_manifest_lists_every_tool_at_this_version() -> None:
    manifest = json.loads((ROOT / "bundle" / "manifest.json").read_text())
    assert manifest["version"] == __version__, FIX
    assert manifest["tools"] == docs.manifest_tools(), FIX


def test_server_json_validates_against_the_registry_schema() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "server.schema.json").read_text())
    server = json.loads((ROOT / "server.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert not [error.message for error in validator.iter_errors(server)]
    assert server["$schema"] == schema["$id"]
    assert server["version"] == __version__ and server["packages"][0]["version"] == __version__, FIX
    assert {env["name"] for env in server["packages"][0]["environmentVariables"]} <= set(ENV_VARS)
    broken = {**server, "name": "no slash here", "description": "x" * 101}
    assert len(list(validator.iter_errors(broken))) == 2, "the schema really checks"
