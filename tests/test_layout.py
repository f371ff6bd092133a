"""The package's shape: layers import one way, no import cycles, modules and functions of readable size.

Imports are read with ``ast`` from the source (nothing is imported): every ``import`` and ``from`` statement,
at module level, inside functions or under ``if TYPE_CHECKING:``, with relative imports resolved. The layer
rules and the cycle checks count all of them: an import moved into a function still ties the two modules
together, so it hides a cycle rather than removing it. Cycles are refused between modules and between folders
(a folder importing another that imports it back; a folder and the folders inside it do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tms

PACKAGE = Path(tms.__file__).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
LONG_REASON = "Long because:"  # a docstring line starting with this excuses a long function


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = modules()


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, top_level: bool):
    """Yield ``(import node, is module-level)`` for every import below ``node``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, top_level
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk(child, False)
        elif isinstance(child, ast.If) and _is_type_checking(child):
            yield from _walk(child, False)
        else:
            yield from _walk(child, top_level)


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _in_package(name: str) -> str | None:
    """The tms module that ``name`` refers to (the longest known prefix), or None outside tms."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(importer: str) -> list[tuple[str, bool, int]]:
    """``(imported tms module, module-level?, line)`` for every import of a tms module in ``importer``."""
    tree = ast.parse(MODULES[importer].read_text(), filename=str(MODULES[importer]))
    found = []
    for node, top in _walk(tree, True):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = _resolve(importer, node)
            # "from pkg import sub" imports the submodule pkg.sub when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for t in targets:
            mod = _in_package(t)
            if mod is not None:
                found.append((mod, top, node.lineno))
    return found


GRAPH = {m: imports(m) for m in MODULES}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""  # "" for tms itself


GROUND_FLOOR = ("io", "errors")  # tms.io and tms.errors import nothing above them; every layer may use them


def _within(*layers):
    return lambda target: layer(target) in layers + GROUND_FLOOR


def _not(*layers):
    return lambda target: layer(target) not in layers


# importer layer -> which imported tms modules are allowed
RULES = {
    "io": ("imports only tms.errors", _within()),
    "errors": ("imports nothing of tms", lambda target: False),
    "engine": ("imports only tms.engine", _within("engine")),
    "analysis": ("imports only tms.analysis", _within("analysis")),
    "runs": ("imports only tms.runs and tms.engine", _within("runs", "engine")),
    "slt": ("imports only tms.slt, tms.engine and tms.analysis", _within("slt", "engine", "analysis")),
    "plots": ("imports only tms.plots, tms.runs, tms.analysis and tms.engine",
              _within("plots", "runs", "analysis", "engine")),
    "challenge": ("must not import tms.experiments, tms.cli or tms.bench", _not("experiments", "cli", "bench")),
    "experiments": ("must not import tms.cli", _not("cli")),
}


def layer_violations() -> list[str]:
    bad = []
    for importer, found in GRAPH.items():
        for target, _, line in found:
            rule = RULES.get(layer(importer))
            if rule is not None and not rule[1](target):
                bad.append(f"{MODULES[importer].relative_to(PACKAGE.parent)}:{line}: {importer} imports {target} "
                           f"(tms.{layer(importer)} {rule[0]})")
            if layer(target) == "cli" and layer(importer) != "cli" and importer != "tms.__main__":
                bad.append(f"{MODULES[importer].relative_to(PACKAGE.parent)}:{line}: {importer} imports {target} "
                           "(only tms.__main__ and tms.cli itself import tms.cli)")
    return bad


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def module_graph(graph=None) -> dict[str, list[str]]:
    """Module -> the tms modules it imports anywhere (module level, functions, TYPE_CHECKING); a module's own
    package ``__init__`` (an ancestor) does not count, as Python has loaded it first anyway."""
    graph = GRAPH if graph is None else graph
    return {m: sorted({t for t, _, _ in found if t != m and not m.startswith(t + ".")}) for m, found in graph.items()}


def folder(module: str) -> str:
    """The folder (package) a module lives in: itself for a package ``__init__``."""
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def folder_graph(graph=None) -> dict[str, list[str]]:
    """Folder -> the folders its modules import, leaving out a folder's ancestors and descendants."""
    out: dict[str, set] = {}
    for m, targets in module_graph(graph).items():
        a = folder(m)
        out.setdefault(a, set())
        for t in targets:
            b = folder(t)
            if a != b and not a.startswith(b + ".") and not b.startswith(a + "."):
                out[a].add(b)
                out.setdefault(b, set())
    return {k: sorted(v) for k, v in out.items()}


# ------------------------------------------------------------------------------------------- the checker


def test_the_import_reader_resolves_relative_and_function_level_imports():
    found = {(t, top) for t, top, _ in GRAPH["tms.runs.store"]}
    assert ("tms.runs.pipeline", True) in found  # from .pipeline import ...
    assert ("tms.engine.data", True) in {(t, top) for t, top, _ in GRAPH["tms.runs.grid"]}  # from ..engine import data
    reproduce = {t for t, _, _ in GRAPH["tms.experiments.reproduce"]}
    assert {"tms.experiments.paper", "tms.analysis.theory", "tms.plots"} <= reproduce  # from . import paper
    # an import inside a function is found and marked as such
    inner = [(t, top) for t, top, _ in GRAPH["tms.cli.sweep"] if t == "tms.runs.store"]
    assert inner and not any(top for _, top in inner)


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert cycles({"a": ["a"]}) == [["a"]]
    assert cycles({"a": ["b"], "b": []}) == []


def test_a_planted_function_level_cycle_fails(tmp_path):
    """An import inside a function (or under TYPE_CHECKING) that closes a loop is a cycle: read from source."""
    pkg = tmp_path / "tms"
    (pkg / "runs").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "runs" / "__init__.py").write_text("")
    (pkg / "runs" / "a.py").write_text("from . import b\n")
    (pkg / "runs" / "b.py").write_text("def f():\n    from .a import g\n")
    (pkg / "runs" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import X\n")
    (pkg / "runs" / "d.py").write_text("from .c import Y\n")
    planted = {"tms": pkg / "__init__.py", "tms.runs": pkg / "runs" / "__init__.py",
               **{f"tms.runs.{x}": pkg / "runs" / f"{x}.py" for x in "abcd"}}
    saved = dict(MODULES)
    MODULES.clear()
    MODULES.update(planted)
    try:
        graph = {m: imports(m) for m in planted}
        found = cycles(module_graph(graph))
    finally:
        MODULES.clear()
        MODULES.update(saved)
    assert found == [["tms.runs.a", "tms.runs.b"], ["tms.runs.c", "tms.runs.d"]]
    assert not any(top for t, top, _ in graph["tms.runs.b"] if t == "tms.runs.a")  # it was a function-level import


def test_folder_cycles_are_found():
    files = {"tms.a": "tms/a/__init__.py", "tms.a.x": "tms/a/x.py", "tms.b.y": "tms/b/y.py", "tms.b": "tms/b/__init__.py"}
    saved = dict(MODULES)
    MODULES.clear()
    MODULES.update({k: Path(v) for k, v in files.items()})
    try:
        graph = {"tms.a": [], "tms.a.x": [("tms.b.y", False, 1)], "tms.b.y": [("tms.a", True, 1)], "tms.b": []}
        assert cycles(module_graph(graph)) == []  # no module cycle: a.x -> b.y -> a (an ancestor of a.x)
        assert cycles(folder_graph(graph)) == [["tms.a", "tms.b"]]
    finally:
        MODULES.clear()
        MODULES.update(saved)


def test_the_layer_rules_catch_an_upward_import(monkeypatch):
    monkeypatch.setitem(GRAPH, "tms.engine.models", GRAPH["tms.engine.models"] + [("tms.runs.grid", False, 1)])
    monkeypatch.setitem(GRAPH, "tms.bench.toy", GRAPH["tms.bench.toy"] + [("tms.cli.main", False, 2)])
    bad = layer_violations()
    assert any("tms.engine.models imports tms.runs.grid" in b for b in bad)
    assert any("tms.bench.toy imports tms.cli.main" in b for b in bad)


# --------------------------------------------------------------------------------------------- the rules


def test_no_import_cycles_between_modules_or_folders():
    """Every import counted (module level, inside functions, under TYPE_CHECKING), between modules and
    between folders."""
    found = cycles(module_graph()) + cycles(folder_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_layers_import_one_way():
    bad = layer_violations()
    assert not bad, "layer violations:\n" + "\n".join(bad)


def _long_functions(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            excused = any(line.strip().startswith(LONG_REASON) for line in doc.splitlines())
            if n > MAX_FUNCTION_LINES and not excused:
                out.append(f"{path.relative_to(root)}:{node.lineno}: {node.name} has {n} lines")
    return out


def test_modules_and_functions_are_of_readable_size():
    """No module over 400 lines; no function over 60 lines unless its docstring has a line starting with
    "Long because:" that says why."""
    long_modules = [f"{p.relative_to(PACKAGE.parent)}: {n} lines" for p in MODULES.values()
                    if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    long_functions = [f for p in MODULES.values() for f in _long_functions(p)]
    assert not long_modules and not long_functions, "\n".join(
        [f"modules over {MAX_MODULE_LINES} lines:"] + long_modules
        + [f"functions over {MAX_FUNCTION_LINES} lines (say why with '{LONG_REASON}' in the docstring):"]
        + long_functions)


@pytest.mark.parametrize("source,expect", [
    ("def f():\n" + "    x = 1\n" * 70, 1),
    ('def f():\n    """Does f.\n\n    Long because: one table, read top to bottom.\n    """\n' + "    x = 1\n" * 70, 0),
    ("def f():\n" + "    x = 1\n" * 59, 0),
])
def test_the_size_rule_counts_lines_and_reads_the_excuse(tmp_path, source, expect):
    p = tmp_path / "m.py"
    p.write_text(source)
    assert len(_long_functions(p, root=tmp_path)) == expect
