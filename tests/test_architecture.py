"""Layers only point down (ARCHITECTURE.md): a module never imports a package above it or
beside it. Every import counts, also the lazy ones inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "segmnv3"

# Package -> layer. A module may import its own package and packages of lower layers only.
LAYERS = {
    "core": 0,
    "configs": 1,
    "models": 2,
    "data": 2,
    "engine": 3,
    "deploy": 3,
    "commands": 4,
    "cli": 5,
    "__init__": 5,  # the lazy public API (segmnv3.build_model, segmnv3.profile)
}


def imported_modules(path: Path) -> set[str]:
    """Every ``segmnv3...`` module named by an import statement anywhere in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "segmnv3" or name.startswith("segmnv3.")}


def package_of(module: str, package_root: Path) -> str | None:
    """``segmnv3.models.heads`` -> ``models``; ``segmnv3`` -> ``__init__``; a name imported
    from the root API (``from segmnv3 import build_model``) -> None (counted via ``segmnv3``)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    top = parts[1]
    is_package = (package_root / top).is_dir() or (package_root / f"{top}.py").is_file()
    return top if is_package else None


def owner(relative: Path) -> str:
    """The package a file belongs to: ``models/heads.py`` -> ``models``, ``cli.py`` -> ``cli``."""
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def violations(package_root: Path, layers: dict[str, int]) -> list[str]:
    """``importer -> imported`` lines for every import that points up or sideways."""
    found = []
    for path in sorted(package_root.rglob("*.py")):
        relative = path.relative_to(package_root)
        source = owner(relative)
        for module in sorted(imported_modules(path)):
            target = package_of(module, package_root)
            if target is None or target == source:
                continue
            if layers[target] >= layers[source]:
                found.append(f"{relative} ({source}) -> {module} ({target})")
    return found


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert packages | modules <= set(LAYERS), sorted((packages | modules) - set(LAYERS))


def test_no_module_imports_upward_or_sideways():
    assert violations(PACKAGE, LAYERS) == []


def test_the_check_catches_an_upward_and_a_sideways_import(tmp_path):
    root = tmp_path / "segmnv3"
    for name in ("core", "models", "engine", "deploy"):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
    (root / "core" / "files.py").write_text("def helper():\n    import segmnv3.models.heads\n")
    (root / "deploy" / "run.py").write_text("from segmnv3.engine import trainer\n")
    (root / "engine" / "ok.py").write_text("from segmnv3.core.files import helper\n")
    assert violations(root, LAYERS) == [
        "core/files.py (core) -> segmnv3.models.heads (models)",
        "deploy/run.py (deploy) -> segmnv3.engine (engine)",
    ]


def module_cycles(package_root: Path, package: str) -> list[list[str]]:
    """Import cycles between the modules of one package (``data``), lazy imports included."""
    folder = package_root / package
    graph = {}
    for path in sorted(folder.glob("*.py")):
        prefix = f"segmnv3.{package}."
        targets = {
            m[len(prefix) :].split(".")[0] for m in imported_modules(path) if m.startswith(prefix)
        }
        graph[path.stem] = targets - {path.stem}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_cycle_inside_data_or_core():
    assert module_cycles(PACKAGE, "data") == []
    assert module_cycles(PACKAGE, "core") == []


def test_the_cycle_check_finds_a_lazy_cycle(tmp_path):
    root = tmp_path / "segmnv3"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.py").write_text("from segmnv3.data.b import x\n")
    (root / "data" / "b.py").write_text("def f():\n    from segmnv3.data.a import y\n")
    assert module_cycles(root, "data") == [["a", "b", "a"]]
