#!/usr/bin/env bash
# Installs a runnable copy of the public Trakt MCP server, for measuring against it in the same run:
#   bash bench/reference.sh && python bench/startup.py --reference "bench/.reference/run"
# The copy on the package registry is iflow-mcp-trakt-mcp-server 0.1.0, a repackaging of an earlier version of
# the public server (33 tools; the current one has 77). It uses typing.TypedDict in pydantic models, which pydantic
# accepts only from Python 3.12; on an older Python the import is switched to typing_extensions, nothing else.
#
# With a checkout of the current public server (wwiens/trakt_mcpserver, 77 tools) as argument, installs that instead,
# in bench/.reference-current (its code in src/, its requirements.txt from the registry, with the MCP SDK held at 1.x:
# it is written for 1.x's FastMCP, which 2.x removed). It is meant for Python >= 3.12: set PYTHON to one
# (PYTHON=python3.12 is what bench/README.md's figures used); without it, python3 is used and the typing swap below
# makes it start on 3.11:
#   PYTHON=python3.12 bash bench/reference.sh ~/src/trakt_mcpserver && python bench/startup.py
set -euo pipefail
source_dir=${1:+$(cd "$1" && pwd)}
cd "$(dirname "$0")"
if [ -n "$source_dir" ]; then
    target=.reference-current
    rm -rf "$target" && "${PYTHON:-python3}" -m venv "$target"
    cp -r "$source_dir" "$target/src"
    "$target/bin/pip" install -q -r "$target/src/requirements.txt" "mcp<2"
    site="$target/src"
else
    target=.reference
    python3 -m venv "$target"
    "$target/bin/pip" install -q iflow-mcp-trakt-mcp-server==0.1.0
    site=$("$target/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
fi
"$target/bin/python" - "$site" <<'PY'
import re, sys
from pathlib import Path
for path in Path(sys.argv[1]).glob("*/**/*.py"):
    if path.parts[len(Path(sys.argv[1]).parts)] not in {"client", "config", "models", "server", "utils"}:
        continue
    text = path.read_text()
    def swap(match):
        names = [n.strip() for n in match.group(1).split(",")]
        kept = [n for n in names if n != "TypedDict"]
        return (f"from typing import {', '.join(kept)}\n" if kept else "") + "from typing_extensions import TypedDict"
    new = re.sub(r"^from typing import ([^\n(]*\bTypedDict\b[^\n]*)$", swap, text, flags=re.M)
    if new != text:
        path.write_text(new)
PY
if [ -n "$source_dir" ]; then
    echo "current reference installed: bench/$target (its code in bench/$target/src)"
    exit 0
fi
cat > .reference/run <<'SH'
#!/usr/bin/env bash
# The reference server needs a client ID to start; it makes no Trakt call for initialize and tools/list.
TRAKT_CLIENT_ID=${TRAKT_CLIENT_ID:-bench} TRAKT_CLIENT_SECRET=${TRAKT_CLIENT_SECRET:-bench} exec "$(dirname "$0")/bin/trakt-mcp-server"
SH
chmod +x .reference/run
echo "reference installed: bench/.reference/run"
