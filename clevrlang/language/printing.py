"""The canonical layout of one expression, shared by ``Program.to_clv`` (the IR) and
``clevr fmt`` (the syntax tree), so that both print a program the same way.

The rule: a function of no input is a call with empty parentheses (``scene()``); a function
of one input that is not a constant is a pipe stage (``x |> count``); any other is a call
(``union(a, b)``, ``load("a.png")``). The walk keeps its own stack, so a 10,000-deep program
prints like a short one.

>>> tree = ("count", [("filter_color[red]", [("scene", [])])])
>>> layout(tree, lambda t: t, lambda t: False)
'scene() |> filter_color[red] |> count'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

# What a printer says about an expression: its text when it is a leaf (a constant, a name),
# else its label (``filter_color[red]``) and its inputs.
Parts = Union[str, tuple[str, Sequence[Any]]]


def is_stage(inputs: Sequence[Any], is_const: Callable[[Any], bool]) -> bool:
    """Whether a function applied to ``inputs`` is written as a ``|>`` stage."""
    return len(inputs) == 1 and not is_const(inputs[0])


def layout(root: Any, parts: Callable[[Any], Parts], is_const: Callable[[Any], bool]) -> str:
    """``root`` as one line of .clv text; ``parts`` is asked about each sub-expression once,
    in the order its text appears (so it may hand out let names in turn)."""
    out: list[str] = []
    stack: list[Any] = [root]  # expressions to print, and str pieces to copy
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        p = parts(item)
        if isinstance(p, str):
            out.append(p)
            continue
        label, inputs = p
        if not inputs:
            out.append(f"{label}()")
        elif is_stage(inputs, is_const):
            stack += [f" |> {label}", inputs[0]]
        else:
            out.append(f"{label}(")
            stack.append(")")
            for k in range(len(inputs) - 1, -1, -1):
                stack.append(inputs[k])
                if k:
                    stack.append(", ")
    return "".join(out)
