"""How much context the tools/list costs an agent: compact JSON bytes of the whole result, vs the reference.

Run from a fresh clone: `python bench/tools_list_size.py`. Builds the server in-process (sandbox settings, no
network) and lists the tools through a real MCP client session, so it measures exactly what a client receives.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp import Client  # noqa: E402
from mcp.client.extension import ClientExtension  # noqa: E402
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID  # noqa: E402

from trakt_mcp.server.build import build_server, create_app  # noqa: E402
from trakt_mcp.settings import Settings  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference" / "tools.json"
#: `measured.tools_list_bytes_with_descriptions` of the reference, used when tools.json is not next to the clone.
REFERENCE_BYTES = 75165
BUDGET = 30000


class AppsHost(ClientExtension):
    """A client that renders MCP Apps: it gets the cards' `_meta.ui` entries, which must fit the budget too."""

    identifier = EXTENSION_ID

    def settings(self) -> dict[str, object]:
        return {"mimeTypes": [APP_MIME_TYPE]}


def compact(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


async def measure(apps: bool = False) -> tuple[int, int, list[tuple[int, str]]]:
    with tempfile.TemporaryDirectory() as home:
        app = create_app(Settings.load({"sandbox": True, "home": home}, environ={}))
        try:
            async with Client(build_server(app), mode="legacy", extensions=[AppsHost()] if apps else None) as client:
                result = await client.list_tools()
        finally:
            await app.aclose()
    dumped = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    sizes = sorted(((compact(tool), tool["name"]) for tool in dumped["tools"]), reverse=True)
    return compact(dumped), len(dumped["tools"]), sizes


def main() -> int:
    total, count, sizes = anyio.run(measure)
    reference = REFERENCE_BYTES
    if REFERENCE.is_file():
        reference = json.loads(REFERENCE.read_text())["measured"]["tools_list_bytes_with_descriptions"]
    print(f"tools/list: {count} tools, {total:,} bytes (~{total // 4:,} tokens at 4 bytes/token)")
    print(f"vs reference {reference:,} bytes: {total / reference:.1%} (budget {BUDGET:,} bytes = 40%)")
    print("largest tools:")
    for size, name in sizes[:5]:
        print(f"  {size:6,} bytes  {name}")
    with_apps, app_tools, _ = anyio.run(measure, True)
    print(f"with MCP Apps negotiated: {app_tools} tools, {with_apps:,} bytes (+{with_apps - total:,} for the cards)")
    return 0 if max(total, with_apps) <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
