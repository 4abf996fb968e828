"""Generate trakt_mcp/tools/endpoints.json, the endpoint catalogue behind find_trakt_endpoints and call_trakt_api,
from Trakt's API Blueprint (the source of https://trakt.docs.apiary.io, `trakt.apib`).

    python scripts/generate_endpoints.py path/to/trakt.apib [-o trakt_mcp/tools/endpoints.json]

The blueprint is read from the path given; nothing is downloaded. Each action (`### Title [METHOD]` under a
`## Name [/path{?query}]` resource) becomes one entry: method, path template, title, first sentence, group,
whether OAuth is required or optional, whether it is paginated, its path and query parameters, and the top-level
keys (with JSON types) of its example request body.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path
from typing import Any

GROUP = re.compile(r"^##? Group (?P<name>.+?)\s*$")
RESOURCE = re.compile(r"^## .*\[(?P<uri>/[^\]]*)\]\s*$")
ACTION = re.compile(r"^### (?P<title>.+?) \[(?P<method>GET|POST|PUT|DELETE)\]\s*$")
PARAMETER = re.compile(r"^\s{4}\+ (?P<name>\w+) \((?P<spec>[^)]*)\)(?:\s*\.\.\.\s*(?P<text>.*))?$")
TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "array": "array"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _first_sentence(lines: list[str]) -> str:
    for line in lines:
        text = line.strip()
        if not text or text.startswith(("#", "+", "|", ">", "`")):
            continue
        text = re.sub(r"\[\*\*(.+?)\*\*\]\([^)]*\)", r"\1", html.unescape(text))
        text = re.sub(r"[*_`]", "", text)
        sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        return sentence[:200]
    return ""


def _parameter(line: str) -> dict[str, Any] | None:
    match = PARAMETER.match(line)
    if match is None:
        return None
    spec = [part.strip() for part in match["spec"].split(",")]
    kind = next((TYPES[part] for part in spec if part in TYPES), "string")
    example = next((part.strip("`") for part in spec if part.startswith("`")), None)
    entry: dict[str, Any] = {"name": match["name"], "type": kind, "required": "required" in spec}
    if example:
        entry["example"] = example
    text = html.unescape(match["text"] or "").strip()
    if text:
        entry["about"] = re.sub(r"[*`]", "", text)[:160]
    return entry


def _body(lines: list[str], start: int) -> dict[str, str]:
    """The top-level keys (and JSON types) of every example request body of the action starting at `start`."""
    keys: dict[str, str] = {}
    in_request = False
    index = start
    while index < len(lines) and not ACTION.match(lines[index]) and not RESOURCE.match(lines[index]):
        line = lines[index]
        if line.startswith("+ Request"):
            in_request = True
        elif line.startswith("+ Response"):
            in_request = False
        elif in_request and line.strip() == "+ Body":
            block = []
            index += 1
            while index < len(lines) and (not lines[index].strip() or lines[index].startswith("            ")):
                block.append(lines[index])
                index += 1
            try:
                body = json.loads("\n".join(block))
            except ValueError:
                continue
            if isinstance(body, dict):
                keys.update({key: _json_type(value) for key, value in body.items() if key not in keys})
            continue
        index += 1
    return keys


def parse(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    group = ""
    uri = ""
    resource_params: list[dict[str, Any]] = []
    endpoints: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_parameters = False
    for index, line in enumerate(lines):
        if (found := GROUP.match(line)) is not None:
            group, current = found["name"], None
            continue
        if (found := RESOURCE.match(line)) is not None:
            uri, resource_params, current, in_parameters = found["uri"], [], None, False
            continue
        if (found := ACTION.match(line)) is not None and uri:
            path, _, query = uri.partition("{?")
            current = {
                "method": found["method"],
                "path": path,
                "title": found["title"].strip(),
                "group": group,
                "query_names": [name for name in query.rstrip("}").split(",") if name],
                "params": list(resource_params),
                "markers": "",
                "about": "",
                "body": _body(lines, index + 1) if found["method"] in ("POST", "PUT", "DELETE") else {},
            }
            endpoints.append(current)
            following = lines[index + 1 : index + 12]
            current["markers"] = " ".join(item for item in following if item.startswith("#### "))
            current["about"] = _first_sentence(following)
            in_parameters = False
            continue
        if line.strip() == "+ Parameters":
            in_parameters = True
            continue
        if in_parameters:
            parameter = _parameter(line)
            if parameter is not None:
                (current["params"] if current else resource_params).append(parameter)
                continue
            if line.strip() and not line.startswith("        "):
                in_parameters = False
    return _unique([_finish(entry) for entry in endpoints])


def _unique(endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per method and path: the blueprint documents some twice (getting and refreshing a token)."""
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in endpoints:
        key = (entry["method"], entry["path"])
        if key in kept:
            if entry["title"] not in kept[key]["title"]:
                kept[key]["title"] += f" / {entry['title']}"
            continue
        kept[key] = entry
    return list(kept.values())


def _finish(entry: dict[str, Any]) -> dict[str, Any]:
    markers = html.unescape(entry.pop("markers"))
    path_names = re.findall(r"\{(\w+)\}", entry["path"])
    query_names = entry.pop("query_names")
    params = []
    seen = set()
    for parameter in entry["params"]:
        if parameter["name"] in seen:
            continue
        seen.add(parameter["name"])
        where = "path" if parameter["name"] in path_names else "query" if parameter["name"] in query_names else None
        if where is not None:
            params.append({**parameter, "in": where})
    for name in path_names + query_names:
        if name not in seen:
            params.append(
                {
                    "name": name,
                    "type": "string",
                    "required": name in path_names,
                    "in": "path" if name in path_names else "query",
                }
            )
    entry["params"] = params
    entry["auth"] = "required" if "OAuth Required" in markers else "optional" if "OAuth Optional" in markers else "none"
    entry["pages"] = (
        "optional" if "Pagination Optional" in markers else "paginated" if "Pagination" in markers else "none"
    )
    entry["extended"] = "Extended Info" in markers
    entry["filters"] = "Filters" in markers
    entry["vip"] = "VIP" in markers
    if not entry["body"]:
        del entry["body"]
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("blueprint", type=Path, help="Trakt's API Blueprint (trakt.apib)")
    parser.add_argument("-o", "--output", type=Path, default=Path("trakt_mcp/tools/endpoints.json"))
    options = parser.parse_args(argv)
    endpoints = parse(options.blueprint.read_text(encoding="utf-8"))
    if not endpoints:
        print(f"{options.blueprint}: no endpoints found; is it Trakt's API Blueprint?", file=sys.stderr)
        return 1
    options.output.write_text(json.dumps(endpoints, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(endpoints)} endpoints written to {options.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
