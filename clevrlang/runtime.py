"""Running IR on one input: the interpreter every back end specialises, and failures.

An :class:`Interpreter` walks a DAG once (shared nodes are evaluated once) and dispatches
each node to one method per function *family* of the vocabulary (``op_filter``,
``op_query``, ...). Back ends override the families whose meaning they change; image,
codec and metric functions mean the same everywhere and live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from clevrlang.language.errors import ClevrError, ExecutionError, UsageError
from clevrlang.language.ir import CONST, Node, postorder
from clevrlang.language.vocabulary import render_value


@dataclass(frozen=True)
class Failure:
    """A question whose program cannot run on its input (e.g. ``unique`` of two objects).

    Returned in place of an answer by ``answer(..., errors="return")``; never a magic string.
    ``node`` is the failing node's label and ``at`` the node itself, kept as data (raising
    the failure again names it the same way).
    """

    message: str
    node: str = ""
    at: Node | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, error: ClevrError) -> Failure:
        """The failure an error describes (its node, when it names one)."""
        at = error.node
        return cls(error.message, at.label() if at is not None else "", at)

    def __str__(self) -> str:
        return f"while executing {self.node}: {self.message}" if self.node else self.message

    def raise_for(self, question: int):
        """Raise this failure as the ExecutionError of question ``question`` of a batch."""
        raise ExecutionError(f"question {question}: {self.message}", node=self.at)


class Interpreter:
    """Evaluates IR nodes on one input (a scene, an image); one method per family."""

    def __init__(self, context=None):
        self.context = context  # the "current" scene / image that scene() refers to
        self.values: dict[Node, Any] = {}

    def run(self, roots: Iterable[Node]) -> dict[Node, Any]:
        """Evaluate every node reachable from ``roots``; returns node -> value."""
        for node in postorder(roots):
            if node in self.values:
                continue
            args = [self.values[i] for i in node.inputs]
            try:
                self.values[node] = self.call(node, args)
            except ExecutionError as e:
                if e.node is None and not e.where:
                    e.node = node
                raise
        return self.values

    def value(self, root: Node):
        return self.run([root])[root]

    def call(self, node: Node, args: list):
        if node.op == CONST:
            return node.values[0]
        f = node.function
        method = getattr(self, f"op_{f.family}", None)
        if method is None:
            raise ExecutionError(f"the {self.name} back end cannot run {node.op}")
        return method(node, *args)

    name = "base"
    probability: float | None = None  # of the last answer (Capabilities.probabilities)

    def describe(self, node: Node, value) -> str:
        """A node's value for traces (back ends add object ids and attributes)."""
        return render(value)

    def draw(self, path):
        """Where the back end declares ``Capabilities.draw``: its last input, annotated."""
        raise UsageError(f"the {self.name} back end has nothing to --show")

    # -- families whose meaning does not depend on the back end -------------------------
    def op_image(self, node: Node, path: str):
        from clevrlang.images import load_image

        return load_image(path)

    def op_codec(self, node: Node, *args):
        from clevrlang import codecs

        return codecs.apply(node.op, node.values, args)

    def op_metric(self, node: Node, a, b):
        from clevrlang import codecs

        return codecs.metric(node.op, a, b)


render = render_value  # a value as CLEVR's answer string (``True`` -> ``"yes"``)


def explain(err: Exception) -> str:
    """One line for a failure, for tables and predictions files."""
    return err.message if isinstance(err, ClevrError) else str(err)


__all__ = ["Failure", "Interpreter", "render", "explain", "UsageError"]
