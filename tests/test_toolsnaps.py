"""Every tool's published contract (name, title, description, input schema, annotations) is snapshotted in
trakt_mcp/tools/__toolsnaps__/, so a change to what agents see fails here until the snapshot is updated on
purpose: UPDATE_TOOLSNAPS=1 python -m pytest tests/test_toolsnaps.py"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Session

SNAPS = Path(__file__).resolve().parents[1] / "trakt_mcp" / "tools" / "__toolsnaps__"


async def test_published_tools_match_their_snapshots(session: Session) -> None:
    async with session() as client:
        listed = await client.list_tools()
    update = os.environ.get("UPDATE_TOOLSNAPS") == "1"
    served = {tool.name for tool in listed.tools}
    problems = []
    for tool in listed.tools:
        published = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
        path = SNAPS / f"{tool.name}.json"
        text = json.dumps(published, indent=2, sort_keys=True) + "\n"
        if update:
            SNAPS.mkdir(exist_ok=True)
            path.write_text(text)
        elif not path.exists():
            problems.append(f"{tool.name}: no snapshot")
        elif path.read_text() != text:
            problems.append(f"{tool.name}: published contract differs from its snapshot")
    stale = sorted(p.stem for p in SNAPS.glob("*.json") if p.stem not in served)
    if update:
        for name in stale:
            (SNAPS / f"{name}.json").unlink()
    else:
        problems += [f"{name}: snapshot of a tool no longer served" for name in stale]
    if problems:
        pytest.fail("Tool contract changed (UPDATE_TOOLSNAPS=1 to accept):\n" + "\n".join(problems))
