#!/usr/bin/env bash
# Installs a runnable copy of the public Trakt MCP server, for measuring against it in the same run:
#   bash bench/reference.sh && python bench/startup.py --reference "bench/.reference/run"
# The copy on the package registry is iflow-mcp-trakt-mcp-server 0.1.0, a repackaging of an earlier version of
# the public server (33 tools; the current one has 77). It uses typing.TypedDict in pydantic models, which pydantic
# accepts only from Python 3.12; on an older Python the import is switched to typing_extensions, nothing else.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .reference
.reference/bin/pip install -q iflow-mcp-trakt-mcp-server==0.1.0
site=$(.reference/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
.reference/bin/python - "$site" <<'PY'
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
cat > .reference/run <<'SH'
#!/usr/bin/env bash
# The reference server needs a client ID to start; it makes no Trakt call for initialize and tools/list.
TRAKT_CLIENT_ID=${TRAKT_CLIENT_ID:-bench} TRAKT_CLIENT_SECRET=${TRAKT_CLIENT_SECRET:-bench} exec "$(dirname "$0")/bin/trakt-mcp-server"
SH
chmod +x .reference/run
echo "reference installed: bench/.reference/run"
