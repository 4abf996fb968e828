"""Start-up: wall time from process start to a completed `initialize` + `tools/list` over stdio, the time until
the whole server answers (a ping after the list), and the server's peak memory (RSS). Medians of several runs.

    python bench/startup.py [--runs 7] [--reference "COMMAND ..."]

`--reference` measures another stdio MCP server command in the same run (e.g. the public Trakt MCP server), so
the ratio is taken on the same machine at the same moment.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

HANDSHAKE_VERSION = "2025-11-25"


def _send(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def _receive(stream: IO[bytes], request_id: int) -> dict[str, Any]:
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError("the server closed stdout before answering")
        message: dict[str, Any] = json.loads(line)
        if message.get("id") == request_id:
            return message


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the peak resident set size of a live process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure_once(command: list[str], env: dict[str, str]) -> tuple[float, float, int, int]:
    """Seconds to initialize + tools/list, seconds until the whole server answers (a ping after the list), the
    peak RSS in KiB once it does, and the number of tools listed."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin and process.stdout
    try:
        _send(
            process.stdin,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": HANDSHAKE_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "1"},
                },
            },
        )
        _receive(process.stdout, 1)
        _send(process.stdin, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(process.stdin, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
        tools = _receive(process.stdout, 2)["result"]["tools"]
        listed = time.perf_counter() - started
        _send(process.stdin, {"jsonrpc": "2.0", "id": 3, "method": "ping"})
        _receive(process.stdout, 3)
        ready = time.perf_counter() - started
        rss = peak_rss_kib(process.pid)
    finally:
        process.kill()
        process.wait()
    return listed, ready, rss, len(tools)


def measure(label: str, command: list[str], runs: int, env: dict[str, str]) -> float:
    measure_once(command, env)  # warm the OS file cache and bytecode (and, for trakt-mcp, its snapshot)
    samples = [measure_once(command, env) for _ in range(runs)]
    listed = [s[0] for s in samples]
    median = statistics.median(listed)
    print(
        f"{label}: initialize + tools/list median {median * 1000:.0f} ms "
        f"(min {min(listed) * 1000:.0f}, max {max(listed) * 1000:.0f}) over {runs} runs; "
        f"fully serving after {statistics.median(s[1] for s in samples) * 1000:.0f} ms; "
        f"peak RSS {max(s[2] for s in samples) / 1024:.1f} MiB; {samples[0][3]} tools"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reference", help="command line of another stdio MCP server to measure in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRAKT_MCP_HOME": home}
        ours = measure("trakt-mcp --sandbox", [sys.executable, "-m", "trakt_mcp", "--sandbox"], args.runs, env)
        if args.reference:
            theirs = measure("reference", shlex.split(args.reference), args.runs, env)
            print(f"ratio ours/reference: {ours / theirs:.2f} (target < 0.50)")
        else:
            print(f"target without a reference at hand: < 350 ms -> {'met' if ours < 0.35 else 'NOT met'}")


if __name__ == "__main__":
    main()
