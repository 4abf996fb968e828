"""Text generated from the code, so the documents cannot drift from it: README.md's per-client sections (from the
same code as `trakt-mcp install --print`) and its table of every tool with its parameters (from the tool
declarations), and the tool list and version of the MCP Bundle manifest and of server.json.

`python -m trakt_mcp.cli.docs` rewrites them; tests/test_docs.py fails when one is stale."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from trakt_mcp import __version__
from trakt_mcp.cli.clients import CLIENTS, DIST_NAME
from trakt_mcp.cli.install import snippet
from trakt_mcp.tools import tools_by_name
from trakt_mcp.tools.spec import published_schema

ROOT = Path(__file__).resolve().parent.parent.parent
README = ROOT / "README.md"
MANIFEST = ROOT / "bundle" / "manifest.json"
SERVER_JSON = ROOT / "server.json"
#: The command README.md's snippets use: it works on any machine with uv, unlike an absolute path.
UVX = ["uvx", DIST_NAME]


def _type(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        fields = defs.get(name, {}).get("properties", {})
        required = set(defs.get(name, {}).get("required", []))
        inner = ", ".join(f"{key}{'' if key in required else '?'}" for key in fields)
        return f"{{{inner}}}"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}), defs)}"
    if "anyOf" in schema:
        return " or ".join(_type(option, defs) for option in schema["anyOf"])
    kind = str(schema.get("type", "any"))
    bounds = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("minLength", "length ≥"))
        if key in schema
    ]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def parameters(schema: dict[str, Any]) -> str:
    """`name` (type, default) for each parameter; required ones in bold."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    shown = []
    for name, prop in schema.get("properties", {}).items():
        text = f"**`{name}`**" if name in required else f"`{name}`"
        detail = _type(prop, defs)
        if "default" in prop:
            detail += f", default {json.dumps(prop['default'])}"
        shown.append(f"{text}: {detail}")
    return "<br>".join(shown) or "–"


def tools_table() -> str:
    rows = ["| tool | toolset | risk | parameters (**bold** = required) | what it does |", "|---|---|---|---|---|"]
    for name, spec in sorted(tools_by_name().items()):
        cells = [f"`{name}`", spec.group, spec.risk, parameters(published_schema(spec.args)), spec.description]
        rows.append("| " + " | ".join(cell.replace("\n", " ") for cell in cells) + " |")
    body = "\n".join(rows)
    summary = f"<summary>All {len(tools_by_name())} tools and their parameters</summary>"
    return f"<details>\n{summary}\n\n{body}\n\n</details>"


def client_sections() -> str:
    parts = []
    for kind in CLIENTS.values():
        language = "bash" if kind.name == "claude-code" else "json"
        project = " (`--project` for this project's " + f"`{kind.project_path}`)" if kind.project_path else ""
        how = "run this" if kind.name == "claude-code" else f"add this to {kind.where}"
        parts.append(
            f"#### {kind.title}\n\n"
            f"`trakt-mcp install {kind.name}`{project} writes the entry for this installation (its absolute path, "
            f"your --home, --policy and restrictions, no secrets); `--print` shows it first. Once `{DIST_NAME}` is "
            f"published on PyPI (it is not yet), {how} instead (the server then runs with uv; `install {kind.name} "
            f"--uvx` writes the same with `--from` this clone):\n\n```{language}\n{snippet(kind, UVX, [])}\n```"
        )
    return "\n\n".join(parts)


SECTIONS = {"clients": client_sections, "tools": tools_table}


def _marked(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated:{name} -->\n)(.*?)(\n<!-- /generated:{name} -->)", re.S)


def readme_section(text: str, name: str) -> str | None:
    found = _marked(name).search(text)
    return found.group(2) if found else None


def manifest_tools() -> list[dict[str, str]]:
    return [{"name": name, "description": spec.description} for name, spec in sorted(tools_by_name().items())]


def main() -> int:
    text = README.read_text(encoding="utf-8")
    for name, make in SECTIONS.items():
        generated = make()

        def fill(found: re.Match[str], generated: str = generated) -> str:
            return found.group(1) + generated + found.group(3)

        text, count = _marked(name).subn(fill, text)
        if count != 1:
            print(f"README.md has no <!-- generated:{name} --> section", file=sys.stderr)
            return 1
    README.write_text(text, encoding="utf-8")
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    manifest.update(version=__version__, tools=manifest_tools())
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    server = json.loads(SERVER_JSON.read_text(encoding="utf-8"))
    server["version"] = __version__
    for package in server.get("packages", []):
        package["version"] = __version__
    SERVER_JSON.write_text(json.dumps(server, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
