"""A checked program: its top-level results over one shared IR DAG, and its three spellings.

>>> p = parse("count(filter_shape[cylinder](relate[front](unique(filter_size[small](scene())))))")
>>> print(p.to_clv())
scene() |> filter_size[small] |> unique |> relate[front] |> filter_shape[cylinder] |> count
>>> Program.from_clevr_json(p.to_clevr_json()).node is p.node
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from clevrlang.files import read_text
from clevrlang.language import clevr_json
from clevrlang.language.check import Checker, Root
from clevrlang.language.deep import collector_paused
from clevrlang.language.errors import Source, UsageError
from clevrlang.language.ir import CONST, Node, postorder, verify
from clevrlang.language.parser import parse_module
from clevrlang.language.printing import layout
from clevrlang.language.syntax import Module
from clevrlang.language.vocabulary import Type, render_value


@dataclass(frozen=True, eq=False)
class Program:
    """Top-level results (expressions and expectations) and the ``let`` names of shared nodes."""

    roots: tuple[Root, ...]
    names: tuple = ()  # (Node, let name) pairs in let order; a node may have several
    source: Source | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_node(cls, node: Node) -> "Program":
        return cls((Root(node),))

    @classmethod
    def from_clevr_json(cls, nodes: list, where: str | None = None) -> "Program":
        """From a CLEVR JSON program (released or generator spelling)."""
        node, names = clevr_json.node_from_json(nodes, where)
        return cls((Root(node, lets=tuple(names)),), tuple(names))

    # -- views ----------------------------------------------------------------------------
    @property
    def node(self) -> Node:
        """The program's single result; a usage error if it has several (or none)."""
        roots = self.roots
        if len(roots) == 1:
            return roots[0].node
        raise UsageError(f"this program has {len(self.roots)} results; one was expected")

    @property
    def question_type(self) -> str:
        """CLEVR's question type: the last function of the program (``count``, ``exist``...)."""
        return self.node.op

    def split(self) -> list["Program"]:
        """One program per top-level result, each keeping the lets written for it."""
        return [Program((r,), r.lets, self.source) for r in self.roots]

    def nodes(self) -> list[Node]:
        return postorder(r.node for r in self.roots)

    def verify(self) -> None:
        verify(r.node for r in self.roots)

    # -- spellings ------------------------------------------------------------------------
    def to_clevr_json(self, style: str = "released") -> list[dict]:
        return clevr_json.node_to_json(self.node, self.names, style)

    def to_clv(self) -> str:
        """The canonical text: lets for named shared nodes, pipes for one-input functions."""
        return _Printer(self.names).program(self.roots)

    def __str__(self) -> str:
        return self.to_clv()

    # Jupyter's rich display (clevrlang.notebook, imported on first display)
    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython's plain text
        printer.text(self.to_clv())

    def _repr_html_(self) -> str:
        from clevrlang.notebook.display import program_html

        return program_html(self)

    def _repr_markdown_(self) -> str:
        from clevrlang.notebook.display import program_markdown

        return program_markdown(self)


def parse(text: str, name: str = "<input>") -> Program:
    """Parse and type-check .clv text; raises ClevrSyntaxError / ClevrTypeError."""
    return check_module(parse_module(text, name))


def parse_file(path: str | os.PathLike) -> Program:
    """Parse and type-check a .clv file; errors name it (a missing file is one too)."""
    return parse(read_text(path, "a .clv file"), os.fspath(path))


def check_module(module: Module) -> Program:
    """Type-check a parsed module (``clevr fmt`` keeps the syntax tree too)."""
    checker = Checker()
    with collector_paused():
        for statement in module.statements:
            checker.statement(statement)
    return Program(tuple(checker.roots), tuple(checker.names), module.source)


def format_value(value, type: Type | None = None) -> str:
    """A constant as .clv text: an answer word (yes/no, numbers, bare attribute values,
    :func:`render_value`), a quoted string, or a float written in full."""
    if isinstance(value, str) and type is Type.STR:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return repr(value) if isinstance(value, float) else render_value(value)


class _Printer:
    """Prints lets (in let order) then roots; references to a node bound by several lets
    take its names in turn, mirroring :func:`clevrlang.language.ir.tree_postorder`."""

    def __init__(self, names):
        self.names = names
        self.done: set[int] = set()
        self.refs: dict[Node, list[str]] = {}

    def program(self, roots) -> str:
        lines = []
        for root in roots:
            reachable = set(postorder([root.node]))
            for k, (node, name) in enumerate(self.names):
                if k not in self.done and node in reachable and node is not root.node:
                    lines.append(f"let {name} = {self.expr(node, top=True)}")
                    self.refs.setdefault(node, []).append(name)
                    self.done.add(k)
            text = self.expr(root.node, top=True)
            if root.is_expect:
                text = f"expect {text} == {format_value(root.expected, root.node.type)}"
            lines.append(text)
        return "\n".join(lines)

    def expr(self, node: Node, top: bool = False) -> str:
        def parts(n: Node):
            names = self.refs.get(n)
            if names and (n is not node or not top):
                return names.pop(0) if len(names) > 1 else names[0]
            if n.op == CONST:
                return format_value(n.values[0], n.type)
            return n.label(), n.inputs

        return layout(node, parts, lambda n: n.op == CONST)
