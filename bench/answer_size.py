"""Answer size: how much of the agent's context our answers cost next to the reference server's, for the same calls.

Both servers talk to one fake Trakt served over loopback HTTP, signed in with the same token, and get the same fixed
calls on the tools both have; the text each returns is measured in UTF-8 bytes. Prints the total ratio (ours /
reference) and every tool's ratio, worst first.

    bash bench/reference.sh && .venv/bin/python bench/answer_size.py [--reference bench/.reference] [--show TOOL]

The reference copy (iflow-mcp-trakt-mcp-server) calls https://api.trakt.tv from a class attribute and reads its
token from ./auth_token.json, so it is started with that attribute pointed at the fake, in a folder holding the
fake's token. Exits 1 when the total is above 0.8x or a tool above 1.5x.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters, types

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trakt_mcp.sandbox import FakeTrakt  # noqa: E402
from trakt_mcp.sandbox.http import serve_on_loopback  # noqa: E402
from trakt_mcp.server.build import build_server, create_app  # noqa: E402
from trakt_mcp.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings  # noqa: E402

TOTAL_TARGET = 0.8
TOOL_CEILING = 1.5

#: The fixed calls: every read tool, with the arguments an agent would send. Writes are left out: both servers use
#: the same fake account, one after the other, so a write by the first would change what the second reads.
SHOW, MOVIE, PERSON = {"show_id": "breaking-bad"}, {"movie_id": "inception-2010"}, {"person_id": "bryan-cranston"}
SEASON = {**SHOW, "season": 1}
EPISODE = {**SEASON, "episode": 1}
CALLS: list[tuple[str, dict[str, Any]]] = [
    *(
        (f"fetch_{chart}_{kind}", {})
        for chart in ("trending", "popular", "anticipated")
        for kind in ("shows", "movies")
    ),
    *(
        (f"fetch_{chart}_{kind}", {"period": "weekly"})
        for chart in ("favorited", "played", "watched")
        for kind in ("shows", "movies")
    ),
    ("fetch_trending_shows", {"limit": 5, "page": 2}),
    ("fetch_popular_movies", {"limit": 5}),
    ("fetch_boxoffice_movies", {}),
    ("fetch_show_summary", SHOW),
    ("fetch_show_summary", {"show_id": "severance", "extended": False}),
    ("fetch_movie_summary", MOVIE),
    ("fetch_movie_summary", {"movie_id": "the-matrix-1999", "extended": False}),
    ("fetch_person_summary", PERSON),
    ("fetch_season_info", SEASON),
    ("fetch_episode_summary", EPISODE),
    *((f"fetch_{level}_ratings", where) for level, where in (("show", SHOW), ("movie", MOVIE))),
    *((f"fetch_{level}_ratings", where) for level, where in (("season", SEASON), ("episode", EPISODE))),
    *((f"fetch_{level}_videos", where) for level, where in (("show", SHOW), ("movie", MOVIE), ("season", SEASON))),
    ("fetch_episode_videos", EPISODE),
    ("fetch_show_people", SHOW),
    ("fetch_movie_people", MOVIE),
    ("fetch_season_people", SEASON),
    ("fetch_episode_people", EPISODE),
    ("fetch_person_movies", {"person_id": "christopher-nolan"}),
    ("fetch_person_shows", PERSON),
    ("fetch_person_lists", PERSON),
    ("fetch_season_lists", SEASON),
    ("fetch_episode_lists", EPISODE),
    ("fetch_season_stats", SEASON),
    ("fetch_episode_stats", EPISODE),
    ("fetch_season_watching", SEASON),
    ("fetch_episode_watching", EPISODE),
    ("fetch_season_translations", SEASON),
    ("fetch_season_translations", {**SEASON, "language": "de"}),
    ("fetch_episode_translations", EPISODE),
    ("fetch_episode_translations", {**EPISODE, "language": "es"}),
    ("fetch_related_shows", SHOW),
    ("fetch_related_movies", MOVIE),
    ("fetch_show_seasons", SHOW),
    ("fetch_season_episodes", SEASON),
    ("fetch_show_comments", SHOW),
    ("fetch_movie_comments", {**MOVIE, "show_spoilers": True}),
    ("fetch_season_comments", SEASON),
    ("fetch_episode_comments", EPISODE),
    ("fetch_comment", {"comment_id": "1000"}),
    ("fetch_comment_replies", {"comment_id": "1000"}),
    ("search_shows", {"query": "the"}),
    ("search_movies", {"query": "the"}),
    ("fetch_user_watched_shows", {}),
    ("fetch_user_watched_movies", {}),
    ("fetch_user_ratings", {}),
    ("fetch_user_ratings", {"rating_type": "shows"}),
    ("fetch_user_ratings", {"page": 1}),
    ("fetch_user_watchlist", {}),
    ("fetch_history", {}),
    ("fetch_history", {"history_type": "movies"}),
    ("fetch_show_progress", SHOW),
    ("fetch_playback_progress", {}),
    ("fetch_movie_recommendations", {}),
    ("fetch_show_recommendations", {}),
    ("check_auth_status", {}),
]


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def call_all(client: Client, names: set[str]) -> dict[int, str]:
    """Each call's answer text, by its index in CALLS; a call that fails is left out (and reported)."""
    answers = {}
    for index, (name, arguments) in enumerate(CALLS):
        if name in names:
            result = await client.call_tool(name, arguments)
            if result.is_error:
                print(f"failed: {name} {arguments}: {text_of(result)[:200]}", file=sys.stderr)
            else:
                answers[index] = text_of(result)
    return answers


async def ours(base_url: str, token: dict[str, Any], home: Path) -> tuple[set[str], dict[int, str]]:
    settings = Settings.model_validate(
        {"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET, "api_url": base_url, "home": home}
    )
    app = create_app(settings)
    try:
        await app.auth.accept_token(token)
        async with Client(build_server(app), mode="legacy") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            return names, await call_all(client, names)
    finally:
        await app.aclose()


#: Runs the reference with its API base URL pointed at the fake. A copy installed from source (the current
#: 77-tool server, `bash bench/reference.sh SOURCE`) keeps its code in src/, put first on sys.path.
LAUNCH = (
    "import os, sys; sys.path.insert(0, os.environ['REFERENCE_SRC']); "
    "import client.base as base; base.BaseClient.BASE_URL = os.environ['TRAKT_API_URL']; "
    "from server.main import mcp; sys.exit(mcp.run())"
)


async def reference(folder: Path, base_url: str, token: dict[str, Any], cwd: Path) -> tuple[set[str], dict[int, str]]:
    (cwd / "auth_token.json").write_text(json.dumps(token))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TRAKT_API_URL": base_url,
        "TRAKT_CLIENT_ID": SANDBOX_CLIENT_ID,
        "TRAKT_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "REFERENCE_SRC": str((folder / "src").absolute()),
    }
    # Its log lines go to stderr at INFO; they are not what is measured, so they are dropped.
    quiet = f'exec "$0" -c "$1" 2>{os.environ.get("REFERENCE_LOG", os.devnull)}'
    python = str((folder / "bin" / "python").absolute())
    server = StdioServerParameters(command="sh", args=["-c", quiet, python, LAUNCH], env=env, cwd=cwd)
    async with Client(server, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        return names, await call_all(client, names)


def size(text: str) -> int:
    return len(text.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=ROOT / "bench" / ".reference")
    parser.add_argument("--show", help="print both answers of this tool (or of every tool: all)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not (args.reference / "bin" / "python").exists():
        print(f"no reference copy at {args.reference}: run bash bench/reference.sh", file=sys.stderr)
        return 2
    fake = FakeTrakt()
    token = fake.token_json(fake.issue_token())
    with serve_on_loopback(fake) as base_url, tempfile.TemporaryDirectory() as scratch:
        home, cwd = Path(scratch) / "home", Path(scratch) / "reference"
        cwd.mkdir()
        our_names, our_answers = anyio.run(ours, base_url, token, home)
        their_names, their_answers = anyio.run(reference, args.reference, base_url, token, cwd)
    shared = sorted(set(our_answers) & set(their_answers))
    per_tool: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for index in shared:
        name = CALLS[index][0]
        per_tool[name][0] += size(our_answers[index])
        per_tool[name][1] += size(their_answers[index])
        if args.show in (name, "all"):
            print(f"--- ours {CALLS[index]}\n{our_answers[index]}\n--- reference\n{their_answers[index]}\n")
    ours_total = sum(mine for mine, _ in per_tool.values())
    theirs_total = sum(theirs for _, theirs in per_tool.values())
    ratios = sorted(((mine / max(theirs, 1), name) for name, (mine, theirs) in per_tool.items()), reverse=True)
    total = ours_total / max(theirs_total, 1)
    print(f"{len(shared)} calls on {len(per_tool)} tools both servers have ({len(our_names & their_names)} shared)")
    print(f"total: ours {ours_total:,} bytes vs reference {theirs_total:,} bytes: ratio {total:.2f}x")
    print(f"worst tool: {ratios[0][1]} {ratios[0][0]:.2f}x (ceiling {TOOL_CEILING}x)")
    for ratio, name in ratios:
        mine, theirs = per_tool[name]
        print(f"  {ratio:5.2f}x  {mine:7,} / {theirs:7,}  {name}")
    return 0 if total <= TOTAL_TARGET and ratios[0][0] <= TOOL_CEILING else 1


if __name__ == "__main__":
    raise SystemExit(main())
