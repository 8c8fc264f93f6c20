"""The program IR: a DAG of frozen, hash-consed function nodes.

A :class:`Node` is one function application (``filter_color[red]`` of its inputs) or a
constant. Building the same node twice returns the same object, so equal sub-programs are
shared (``let`` needs nothing special, and a batch of questions shares its common parts),
identity is equality, and analyses can be cached per node. Nodes never change; analyses
(batch plans, traces) live beside them, keyed by node.

>>> s = Node.make("scene")
>>> a = Node.make("filter_color", ("red",), (s,))
>>> a is Node.make("filter_color", ("red",), (Node.make("scene"),))
True
>>> a.type
<Type.OBJECTS: 'Objects'>
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Iterable, Iterator

from clevrlang.language import deep
from clevrlang.language.vocabulary import FUNCTIONS, Type

CONST = "const"  # a literal: values = (python value,), type given
PARAM = "param"  # a def's formal parameter while its body is checked; never in a Program


# Interned nodes by (op, values, type, inputs), weakly. A plain dict of weak references,
# not a WeakValueDictionary (its get() is a Python-level call): reading a questions file
# makes a node per program node, and a hit here is then a few C calls.
_INTERNED: dict[tuple, weakref.ref] = {}


def _forget(ref: weakref.ref, key: tuple) -> None:
    """A node died: drop its entry, unless its key already names a newer node."""
    if _INTERNED.get(key) is ref:
        del _INTERNED[key]


class Node:
    """One IR node. Create with :meth:`make`; instances are interned and immutable."""

    __slots__ = ("op", "values", "inputs", "type", "depth", "__weakref__")

    op: str
    values: tuple
    inputs: tuple["Node", ...]
    type: Type
    depth: int  # longest path from a leaf; leaves are 0

    @classmethod
    def make(cls, op: str, values: tuple = (), inputs: tuple["Node", ...] = (),
             type: Type | None = None) -> "Node":
        """The node for ``op[values](inputs)``; returns the existing one when there is one.

        ``type`` is given for constants and parameters; for functions it comes from the
        vocabulary. Type *checking* is the checker's job; this only records the result.
        """
        values = tuple(values)
        inputs = tuple(inputs)
        if type is None:
            type = FUNCTIONS[op].output
        # Nodes hash and compare by identity, so the inputs themselves key their user; the
        # entry goes when the node does, so the key keeps nothing alive for longer.
        key = (op, values, type, inputs)
        ref = _INTERNED.get(key)
        node = ref() if ref is not None else None
        if node is None:
            node = object.__new__(cls)
            for name, value in (("op", op), ("values", values), ("inputs", inputs),
                                ("type", type),
                                ("depth", 1 + max((i.depth for i in inputs), default=-1))):
                object.__setattr__(node, name, value)
            _INTERNED[key] = weakref.ref(node, partial(_forget, key=key))
        return node

    @classmethod
    def const(cls, value, type: Type) -> "Node":
        return cls.make(CONST, (value,), (), type)

    def __setattr__(self, name, value):
        raise AttributeError("IR nodes are immutable")

    def __reduce__(self):
        # Unpickling rebuilds through make() to keep interning. The DAG travels as a flat
        # table: pickle (and copy) would recurse once per level through nested inputs.
        return (_from_table, (_table(self),))

    @property
    def function(self):
        """The vocabulary entry of this node's function (None for constants)."""
        return FUNCTIONS.get(self.op)

    def label(self) -> str:
        """``filter_color[red]``, ``count``, ``"img.png"`` -- the node without its inputs."""
        if self.op == CONST:
            return repr(self.values[0]) if isinstance(self.values[0], str) and self.type is Type.STR \
                else str(self.values[0])
        if self.op == PARAM:
            return str(self.values[0])
        if not self.values:
            return self.op
        f = FUNCTIONS.get(self.op)
        parts = []
        for i, v in enumerate(self.values):
            p = f.params[i] if f and i < len(f.params) else None
            parts.append(f"{p.keyword}={v}" if p is not None and p.keyword else str(v))
        return f"{self.op}[{', '.join(parts)}]"

    def __repr__(self) -> str:
        if not self.inputs:
            return f"<{self.label()}>" if self.op == CONST else f"<{self.label()}()>"
        return f"<{self.label()}(...) : {self.type}>"


def postorder(roots: Iterable[Node]) -> list[Node]:
    """Every node reachable from ``roots`` once, inputs before users (a topological order)."""
    seen: set[int] = set()
    order: list[Node] = []
    for root in roots:
        stack: list[tuple[Node, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if id(node) in seen:
                continue
            if i < len(node.inputs):
                stack.append((node, i + 1))
                child = node.inputs[i]
                if id(child) not in seen:
                    stack.append((child, 0))
            else:
                seen.add(id(node))
                order.append(node)
    return order


def _table(root: Node) -> list[tuple]:
    """``root``'s DAG as rows ``(op, values, input row numbers, type)``, inputs first."""
    order = postorder([root])
    row = {id(n): k for k, n in enumerate(order)}
    return [(n.op, n.values, tuple(row[id(i)] for i in n.inputs), n.type) for n in order]


def _from_table(table: list[tuple]) -> Node:
    built: list[Node] = []
    for op, values, inputs, type in table:
        built.append(Node.make(op, values, tuple(built[k] for k in inputs), type))
    return built[-1]


def tree_postorder(root: Node, shared: Iterable[Node] = ()) -> Iterator[tuple[Node, list[int]]]:
    """The DAG unfolded into a tree, post-order, inputs left to right: CLEVR's node-list order.

    ``shared`` nodes (a node may be listed more than once) are visited first, in the order
    given, each at its own position; later uses of such a node take its positions in turn
    (the last one is reused once they run out) instead of unfolding it again. Yields each
    position's node and the list positions of its inputs.
    """
    out: list[tuple[Node, list[int]]] = []
    placed: dict[Node, list[int]] = {}

    def visit(node: Node):  # a generator: deep.run walks any depth without recursion
        slots = placed.get(node)
        if slots:
            return slots.pop(0) if len(slots) > 1 else slots[0]
        idx = []
        for child in node.inputs:
            idx.append((yield visit(child)))
        out.append((node, idx))
        return len(out) - 1

    for node in shared:
        # A let's own position is new even if an earlier let bound the same node.
        earlier = placed.pop(node, None)
        pos = deep.run(visit(node))
        placed[node] = (earlier or []) + [pos]
    deep.run(visit(root))
    return iter(out)


def verify(roots: Iterable[Node]) -> None:
    """Check every node against the vocabulary; raise ValueError saying how to fix it.

    The checker only builds well-typed nodes; this guards passes and hand-built graphs.
    """
    for node in postorder(roots):
        if node.op == CONST:
            if node.inputs or len(node.values) != 1:
                raise ValueError(f"{node!r}: a constant has one value and no inputs")
            continue
        if node.op == PARAM:
            raise ValueError(f"{node!r}: parameter {node.values[0]!r} was not substituted; "
                             "inline the def before building a program")
        f = FUNCTIONS.get(node.op)
        if f is None:
            raise ValueError(f"{node!r}: unknown function {node.op!r}; add it to the vocabulary")
        if node.type is not f.output:
            raise ValueError(f"{node!r}: {node.op} returns {f.output}, node says {node.type}")
        required = f.arity - f.optional_inputs
        if not required <= len(node.inputs) <= f.arity:
            raise ValueError(f"{node!r}: {node.op} takes {f.arity} input(s), has {len(node.inputs)}")
        for i, (child, want) in enumerate(zip(node.inputs, f.inputs)):
            if child.type is not want:
                raise ValueError(f"{node!r}: input {i} is {child.type}, {node.op} wants {want}")
        if len(node.values) != len(f.params):
            raise ValueError(f"{node!r}: {node.op} takes {len(f.params)} value(s), "
                             f"has {len(node.values)}")


def to_networkx(roots: Iterable[Node]):
    """The DAG as a networkx DiGraph (edges input -> user), for ``:ir`` and drawing."""
    import networkx as nx

    graph = nx.DiGraph()
    for node in postorder(roots):
        graph.add_node(id(node), label=node.label(), type=str(node.type), op=node.op)
        for pos, child in enumerate(node.inputs):
            graph.add_edge(id(child), id(node), position=pos)
    return graph
