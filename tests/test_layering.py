"""The package's layering: no import cycle between ``lifecycle`` modules, and ``lifecycle.io`` below the rest.

Every module of ``lifecycle/`` is parsed with ``ast`` (nothing is imported), and every import statement counts,
at module level or inside a function: an import deferred into a function still ties the two modules together.
Data flows one way (landing → io → raw → dbt → checks → publish), so ``lifecycle.io`` reads and writes files and
never imports the checks, the Dagster assets, the pipelines or the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lifecycle"

#: What no ``lifecycle.io`` module may import (these packages and anything under them).
IO_MUST_NOT_IMPORT = ("lifecycle.checks", "lifecycle.assets", "lifecycle.pipelines", "lifecycle.cli")


def module_files(root: Path = PACKAGE) -> dict[str, Path]:
    """``lifecycle.x.y`` → its file, for every module and package of the package."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``lifecycle`` modules that module ``name`` (at ``path``) imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from lifecycle.io import register` imports the module lifecycle.io.register
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # lifecycle.io.warehouse.connect → lifecycle.io.warehouse
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    files = module_files(root)
    known = set(files)
    return {name: imported_modules(name, path, known) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each group of modules that import one another (Tarjan's strongly connected
    components), as the list of its modules with the first one repeated at the end."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # recursive: the package has a few hundred modules at most
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, set(component)) for component in sorted(components)]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component (breadth first)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(graph[node] & component):
            if succ == start:
                return paths[node] + [start]
            if succ not in paths:
                paths[succ] = paths[node] + [succ]
                queue.append(succ)
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")  # pragma: no cover


def forbidden_imports(graph: dict[str, set[str]]) -> list[str]:
    """``"<io module> imports <module>"`` for every import of ``IO_MUST_NOT_IMPORT`` by a ``lifecycle.io`` module."""
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items() if module == "lifecycle.io" or module.startswith("lifecycle.io.")
        for target in targets if any(target == f or target.startswith(f + ".") for f in IO_MUST_NOT_IMPORT)
    )


def test_the_graph_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "lifecycle.cli" in graph and "lifecycle.io.warehouse" in graph
    # module level (`from lifecycle.settings import …`) and inside a function (`from lifecycle.io.lock import …`)
    assert {"lifecycle.settings", "lifecycle.pipelines.night"} <= graph["lifecycle.cli"]
    assert "lifecycle.io.lock" in graph["lifecycle.pipelines.night"]


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"x": {"y"}, "y": set()}) == []


def test_a_planted_cycle_and_forbidden_import_are_found_in_files(tmp_path):
    """The same reading on a small package written here: a function-level import from io into checks, and checks
    importing io back with ``from package import module``."""
    root = tmp_path / "lifecycle"
    for folder in (root, root / "io", root / "checks"):
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    (root / "io" / "files.py").write_text("def read():\n    from lifecycle.checks.rules import RULE\n    return RULE\n")
    (root / "checks" / "rules.py").write_text("from lifecycle.io import files\n\nRULE = files\n")
    graph = import_graph(root)
    assert graph["lifecycle.io.files"] == {"lifecycle.checks.rules"}
    assert graph["lifecycle.checks.rules"] == {"lifecycle.io.files"}
    assert cycles(graph) == [["lifecycle.checks.rules", "lifecycle.io.files", "lifecycle.checks.rules"]]
    assert forbidden_imports(graph) == ["lifecycle.io.files imports lifecycle.checks.rules"]


def test_no_import_cycle_between_lifecycle_modules():
    found = cycles(import_graph())
    assert not found, "import cycles between lifecycle modules:\n" + "\n".join(" → ".join(c) for c in found)


def test_io_imports_nothing_from_checks_assets_pipelines_or_cli():
    forbidden = forbidden_imports(import_graph())
    assert not forbidden, "lifecycle.io must stay below the checks, assets, pipelines and cli:\n" + "\n".join(forbidden)
