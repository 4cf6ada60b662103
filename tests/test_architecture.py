"""The shape of the code: no import circles among musicrnn/, ui/ and pages/.

Imports inside functions count too. Several are there to keep start-up fast (TensorFlow, music21 and verovio are
only imported when needed), but a lazy import between two of our own modules that import each other is still a
circle: it only hides which module depends on which. Third-party modules are not in the graph, so counting lazy
imports never asks for TensorFlow, music21 or verovio to be imported eagerly.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("musicrnn", "ui", "pages")


def module_name(path: Path) -> str:
    """'musicrnn/plots/notes.py' -> 'musicrnn.plots.notes'; a package's __init__.py is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Our modules an import statement brings in: `from . import x` is module x when x is one, else the package."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:  # relative: from the module's own package, one level up per extra dot
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source for alias in node.names]
    found = set()
    for name in names:
        while name and name not in known:  # `import musicrnn.plots.notes.x` -> the longest module that exists
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """Each of our modules -> the modules it imports, at the top or inside any function."""
    modules = our_modules()
    known = set(modules)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[module] = set().union(
            *(
                imported(node, module, path.name == "__init__.py", known)
                for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            )
        )
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, …, a], or None (a depth-first search that remembers the path it is on)."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph.get(module, ())):
            if target in on_path:
                return path[path.index(target) :] + [target]
            if target not in done and (cycle := visit(target)):
                return cycle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (cycle := visit(module)):
            return cycle
    return None


def test_there_are_no_import_circles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_graph_sees_top_level_function_level_and_relative_imports():
    graph = import_graph()
    assert "musicrnn.midi" in graph["musicrnn.audio"]  # `from .midi import notes_to_midi`, at the top
    assert "musicrnn.model" in graph["musicrnn.train"]  # relative: `from .model import build_model, …`
    assert "musicrnn.recipe" in graph["ui.state"]  # `from musicrnn import recipe`, only inside functions
    assert "musicrnn.plots.notes" in graph["ui.steer"]  # a subpackage's module


def test_a_circle_is_found_and_named():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
