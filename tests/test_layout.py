"""The package layout a newcomer can walk: few modules at the top of trakt_mcp/, each module short enough to read,
no import circles, and guard/ independent of trakt_mcp/ (issue 20). Imports are read from the source (every
module-level import, those under `if TYPE_CHECKING:` included), so a circle cannot hide behind laziness at
module level; imports inside functions are deliberate deferrals and do not count."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("trakt_mcp", "guard")
MAX_LINES = 450
MAX_TOP_LEVEL_MODULES = 6


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def module_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports at module level (under `if` blocks too, TYPE_CHECKING included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = resolve(node)
                submodules = {f"{target}.{alias.name}" for alias in node.names} & known
                found.update(submodules)
                if len(submodules) < len(node.names):  # names defined in `target` itself
                    found.add(target)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                if isinstance(node, ast.Try):
                    for handler in node.handlers:
                        visit(handler.body)

    visit(tree.body)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: module_level_imports(name, path, set(known)) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_no_import_circle_in_trakt_mcp_or_guard() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_guard_never_imports_trakt_mcp() -> None:
    graph = import_graph()
    leaks = {m: sorted(t for t in targets if t.startswith("trakt_mcp")) for m, targets in graph.items()}
    assert {m: t for m, t in leaks.items() if m.startswith("guard") and t} == {}


def test_no_module_over_the_line_limit() -> None:
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these by job (limit {MAX_LINES} lines): {long}"


def test_few_modules_stand_directly_in_trakt_mcp() -> None:
    top = sorted(p.name for p in (ROOT / "trakt_mcp").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_every_sub_package_is_on_the_map() -> None:
    """trakt_mcp/__init__.py maps every folder to its job, so a newcomer knows where a change goes."""
    doc = (ROOT / "trakt_mcp" / "__init__.py").read_text()
    folders = sorted(p.parent.name for p in (ROOT / "trakt_mcp").glob("*/__init__.py"))
    assert [f for f in folders if f"{f}/" not in doc] == []
