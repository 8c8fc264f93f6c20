"""A checked program: its top-level results over one shared IR DAG, and its three spellings.

>>> p = parse("count(filter_shape[cylinder](relate[front](unique(filter_size[small](scene())))))")
>>> print(p.to_clv())
scene() |> filter_size[small] |> unique |> relate[front] |> filter_shape[cylinder] |> count
>>> Program.from_clevr_json(p.to_clevr_json()).node is p.node
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clevrlang import clevr_json
from clevrlang.check import Checker, Root
from clevrlang.errors import Source, UsageError
from clevrlang.ir import CONST, Node, postorder, verify
from clevrlang.parser import parse_module
from clevrlang.vocabulary import Type


@dataclass(frozen=True, eq=False)
class Program:
    """Top-level results (expressions and expectations) and the ``let`` names of shared nodes."""

    roots: tuple[Root, ...]
    names: dict = field(default_factory=dict)  # Node -> let name, for printing
    source: Source | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_node(cls, node: Node) -> "Program":
        return cls((Root(node),))

    @classmethod
    def from_clevr_json(cls, nodes: list, where: str | None = None) -> "Program":
        """From a CLEVR JSON program (released or generator spelling)."""
        return cls.from_node(clevr_json.node_from_json(nodes, where))

    # -- views ----------------------------------------------------------------------------
    @property
    def node(self) -> Node:
        """The program's single result; a usage error if it has several (or none)."""
        if len(self.roots) != 1:
            raise UsageError(f"this program has {len(self.roots)} results; one was expected")
        return self.roots[0].node

    @property
    def question_type(self) -> str:
        """CLEVR's question type: the last function of the program (``count``, ``exist``...)."""
        return self.node.op

    def nodes(self) -> list[Node]:
        return postorder(r.node for r in self.roots)

    def verify(self) -> None:
        verify(r.node for r in self.roots)

    # -- spellings ------------------------------------------------------------------------
    def to_clevr_json(self, style: str = "released") -> list[dict]:
        return clevr_json.node_to_json(self.node, style)

    def to_clv(self) -> str:
        """The canonical text: lets for named shared nodes, pipes for one-input functions."""
        return _Printer(self.names).program(self.roots)

    def __str__(self) -> str:
        return self.to_clv()


def parse(text: str, name: str = "<input>") -> Program:
    """Parse and type-check .clv text; raises ClevrSyntaxError / ClevrTypeError."""
    module = parse_module(text, name)
    checker = Checker()
    for statement in module.statements:
        checker.statement(statement)
    return Program(tuple(checker.roots), checker.names, module.source)


def format_value(value, type: Type | None = None) -> str:
    """A constant as .clv text: yes/no, numbers, bare attribute values, quoted strings."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and type is Type.STR:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return repr(value) if isinstance(value, float) else str(value)


class _Printer:
    def __init__(self, names: dict):
        self.names = names
        self.emitted: set[Node] = set()

    def program(self, roots) -> str:
        lines = []
        for root in roots:
            for node in postorder([root.node]):
                if node in self.names and node not in self.emitted and node is not root.node \
                        and self._used_below(root.node, node):
                    lines.append(f"let {self.names[node]} = {self.expr(node, top=True)}")
                    self.emitted.add(node)
            text = self.expr(root.node, top=True)
            if root.is_expect:
                text = f"expect {text} == {format_value(root.expected, root.node.type)}"
            lines.append(text)
        return "\n".join(lines)

    @staticmethod
    def _used_below(root: Node, node: Node) -> bool:
        return node.op != CONST and node.op != "scene" or bool(node.inputs)

    def expr(self, node: Node, top: bool = False) -> str:
        if not top and node in self.emitted:
            return self.names[node]
        if node.op == CONST:
            return format_value(node.values[0], node.type)
        label = node.label()
        if not node.inputs:
            return f"{label}()"
        if len(node.inputs) == 1 and node.inputs[0].op != CONST:
            return f"{self.expr(node.inputs[0])} |> {label}"
        return f"{label}({', '.join(self.expr(i) for i in node.inputs)})"
