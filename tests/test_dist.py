"""The published artefacts: `uv build` makes the sdist and, from it, the wheel; a clean virtual environment with
the wheel alone (and its dependencies) runs the server and `call`; `uvx --from WHEEL trakt-guardrails` serves MCP.
Nothing here reads this checkout's source: every process runs in a temporary folder. uv comes with the dev extras;
the build and the dependencies come from the package index (or uv's cache)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from trakt_mcp import __version__
from trakt_mcp.cli.clients import DIST_NAME

ROOT = Path(__file__).resolve().parent.parent
WHEEL_NAME = f"{DIST_NAME.replace('-', '_')}-{__version__}-py3-none-any.whl"


def uv_tool(name: str) -> Path:
    found = Path(sys.executable).parent / name
    if not found.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing in CI (it comes with the dev extras)")
        pytest.skip(f"{name} is not installed here")
    return found


def environment(folder: Path) -> dict[str, str]:
    """A user's shell around the installed program: its own home and state, no keyring, no source tree."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder / "home"),
        "TRAKT_MCP_HOME": str(folder / "state"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
    }
    for name in ("UV_CACHE_DIR", "SSL_CERT_FILE", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [str(uv_tool("uv")), "build", "--out-dir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    yield out


def test_the_sdist_and_the_wheel_carry_the_name_the_commands_and_the_files(dist: Path) -> None:
    assert (dist / f"{DIST_NAME.replace('-', '_')}-{__version__}.tar.gz").exists()
    with zipfile.ZipFile(dist / WHEEL_NAME) as wheel:
        names = wheel.namelist()
        info = f"{DIST_NAME.replace('-', '_')}-{__version__}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        scripts = wheel.read(f"{info}/entry_points.txt").decode()
    assert f"Name: {DIST_NAME}\n" in metadata
    assert f"{DIST_NAME} = " in scripts and "trakt-mcp = " in scripts
    assert "trakt_mcp/py.typed" in names and "guard/py.typed" in names
    assert any(name.startswith("trakt_mcp/apps/static/") for name in names), "the cards' pages ship"
    assert not [name for name in names if name.startswith("tests/")]


def test_a_clean_venv_from_the_wheel_alone_calls_a_tool_and_serves(dist: Path, tmp_path: Path) -> None:
    uv = uv_tool("uv")
    env = environment(tmp_path)
    venv = tmp_path / "venv"
    made = subprocess.run([str(uv), "venv", "--quiet", str(venv)], env=env, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python), str(dist / WHEEL_NAME)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    where = subprocess.run(
        [str(python), "-c", "import trakt_mcp; print(trakt_mcp.__file__)"], env=env, cwd=tmp_path, capture_output=True
    )
    assert str(venv) in where.stdout.decode(), "the installed wheel, not this checkout"

    program = venv / "bin" / DIST_NAME
    done = subprocess.run(
        [str(program), "call", "--sandbox", "search_shows", "query=dune"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("## Search shows: “dune”"), done.stdout

    served = subprocess.run(
        [str(program), "--sandbox"], env=env, cwd=tmp_path, input="", capture_output=True, text=True, timeout=60
    )
    assert served.returncode == 0 and "Traceback" not in served.stderr, served.stderr


async def test_uvx_from_the_wheel_serves_the_sandbox(dist: Path, tmp_path: Path) -> None:
    uvx = uv_tool("uvx")
    env = environment(tmp_path)
    params = StdioServerParameters(
        command=str(uvx),
        args=["--from", str(dist / WHEEL_NAME), DIST_NAME, "--sandbox"],
        env=env,
        cwd=str(tmp_path),
    )
    async with Client(params, mode="legacy") as session:
        tools = (await session.list_tools()).tools
        result = await session.call_tool("search_shows", {"query": "dune"})
    assert len(tools) == 93
    assert not result.is_error and "Search shows" in result.content[0].text  # type: ignore[union-attr]
