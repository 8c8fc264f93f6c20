"""The library's import graph has no cycle, counting function-local imports too.

A lazy import inside a function hides a cycle from Python but not from a reader: the two
modules still need each other. Every ``import`` statement of every library file is read
with ``ast`` (module level, in functions, in ``try``), except those under
``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from library import library_modules


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
        or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node of ``tree`` outside ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif _type_checking_only(node):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The library modules that module ``name`` (file ``path``) imports.

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module, else ``a.b``;
    the parent packages Python also runs on the way are not edges (every module would then
    sit in a cycle with its package's ``__init__``).
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def import_graph(modules: dict[str, Path] | None = None) -> nx.DiGraph:
    modules = library_modules() if modules is None else modules
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        graph.add_edges_from((name, target) for target in imported(name, path, modules))
    return graph


def cycles(graph: nx.DiGraph) -> list[str]:
    """One cycle per knot of mutually importing modules, as ``a -> b -> a``."""
    out = []
    for knot in sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1):
        cycle = nx.find_cycle(graph.subgraph(knot), knot[0])
        out.append(" -> ".join([a for a, _ in cycle] + [cycle[0][0]]))
    return out


def _package(tmp_path, files: dict[str, str]) -> dict[str, Path]:
    modules = {}
    for name, text in files.items():
        path = tmp_path / (name.replace(".", "_") + ("/__init__.py" if name == "pkg" else ".py"))
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        modules[name] = path
    return modules


def test_every_kind_of_import_is_an_edge_except_type_checking_ones(tmp_path):
    modules = _package(tmp_path, {
        "pkg": "from .a import f\n",                                  # relative, in __init__
        "pkg.a": "def f():\n    from pkg.b import g\n",              # function-local
        "pkg.b": "import pkg.c as c\n",                               # aliased
        "pkg.c": "try:\n    from pkg import d\nexcept ImportError:\n    pass\n",  # a module
        "pkg.d": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
    })
    graph = import_graph(modules)
    assert sorted(graph.edges) == [("pkg", "pkg.a"), ("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"),
                                   ("pkg.c", "pkg.d")]


def test_a_cycle_through_a_function_local_import_is_found_and_printed(tmp_path):
    modules = _package(tmp_path, {"pkg.a": "def f():\n    from pkg.b import g\n",
                                  "pkg.b": "from pkg.a import f\n"})
    assert cycles(import_graph(modules)) == ["pkg.a -> pkg.b -> pkg.a"]


def test_library_imports_have_no_cycle():
    graph = import_graph()
    assert graph.number_of_edges() > graph.number_of_nodes() > 100  # it read the library
    found = cycles(graph)
    assert not found, "import cycles among library modules:\n  " + "\n  ".join(found)


# Entry points that run the command line; everything else is library code the CLI calls.
CLI_CALLERS = {"clevrlang.__main__", "clevrlang.demo"}


def test_library_code_does_not_import_the_command_line():
    graph = import_graph()
    wrong = sorted((a, b) for a, b in graph.edges
                   if (b == "clevrlang.cli" or b.startswith("clevrlang.cli."))
                   and not a.startswith("clevrlang.cli") and a not in CLI_CALLERS)
    assert not wrong, "library modules importing the CLI:\n  " + "\n  ".join(
        f"{a} -> {b}" for a, b in wrong)


def test_inference_back_ends_never_import_their_training():
    """A back end's inference path (its folder less ``training/``) loads no trainer."""
    graph = import_graph()
    for backend in ("learned", "engineered"):
        training = f"clevrlang.modules.{backend}.training"
        assert any(m.startswith(training + ".") for m in graph), f"{training} is missing"
        inference = [m for m in graph if m.startswith(f"clevrlang.modules.{backend}.")
                     and not m.startswith(training)]
        assert f"clevrlang.modules.{backend}.backend" in inference
        for module in inference:
            reached = sorted(m for m in nx.descendants(graph, module) if m.startswith(training))
            assert not reached, f"{module} imports training code: {reached}"
