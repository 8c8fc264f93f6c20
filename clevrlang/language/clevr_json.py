"""CLEVR's JSON program format <-> IR, exactly.

CLEVR writes a program as a list of nodes, each naming its inputs by list position. Three
spellings exist and all are read:

* released CLEVR v1.0: ``{"function": f, "inputs": [...], "value_inputs": [...]}``
* the generator's output file: ``{"type": f, "inputs": [...], "value_inputs": [...]}``
* the generator's internal form: ``{"type": f, "inputs": [...], "side_inputs": [...]}``

A node list is a tree (or DAG) in some topological order. Writing unfolds the IR into a
tree in post-order, inputs left to right -- except that ``let``-named nodes are written first,
in ``let`` order, and referenced (not repeated) wherever they are used. Reading chooses those
names so that writing gives back the very same list: CLEVR's templates do not always list
nodes in post-order (comparison questions list both objects before querying them).
"""

from __future__ import annotations

from clevrlang.language.errors import DataError, shown
from clevrlang.language.ir import Node, postorder, tree_postorder
from clevrlang.language.vocabulary import ENUMS, FILTER_MACRO, FUNCTIONS, KEYWORDS, MACROS

STYLES = ("released", "generator")


def _fail(msg: str, where: str | None, index: int | None = None) -> DataError:
    at = f"program node {index}: " if index is not None else ""
    return DataError(at + msg, where=where)


# Per CLEVR function: its output type, the types of its required inputs and the words its
# value input takes (CLEVR's functions have at most two inputs and one value input).
_SIGNATURES = {name: (f.output, tuple(f.inputs[: len(f.inputs) - f.optional_inputs]),
                      frozenset(ENUMS[f.params[0].type]) if f.params else None)
               for name, f in FUNCTIONS.items()
               if f.clevr and len(f.inputs) - f.optional_inputs <= 2 and len(f.params) <= 1}
_NONE: list = []  # a missing "inputs" / "value_inputs" (never modified)


def node_from_json(nodes: list, where: str | None = None) -> tuple[Node, list[tuple[Node, str]]]:
    """The IR of a CLEVR JSON program (its last node) and the let names that keep its order."""
    if not isinstance(nodes, list) or not nodes:
        raise _fail("a program must be a non-empty list of nodes", where)
    built: list[Node] = []
    stack: list[int] | None = []  # None once the list is not in plain post-order
    for i, raw in enumerate(nodes):
        node = _plain_node(raw, i, built)
        built.append(node if node is not None else _checked_node(raw, i, built, where))
        if stack is not None:
            # Plain post-order (each node's inputs are the top of the stack, so none is
            # used twice) needs no lets: most files, skipping _layout_names' second pass.
            ins = raw.get("inputs", _NONE)
            if ins:
                if stack[-len(ins):] != ins:
                    stack = None
                    continue
                del stack[-len(ins):]
            stack.append(i)
    names = _layout_names(nodes, built) if stack is None else []
    return built[-1], names


def _plain_node(raw, i: int, built: list[Node]) -> Node | None:
    """The node of a plainly valid ``raw``, or None to let :func:`_checked_node` say what
    is wrong. Reading a questions file does this for every program node, so it is lean
    (no loops: one branch per arity); it accepts nothing that :func:`_checked_node`
    refuses."""
    if type(raw) is not dict:
        return None
    name = raw["function"] if "function" in raw else raw.get("type")
    signature = _SIGNATURES.get(name) if type(name) is str else None
    if signature is None:
        return None
    output, want, words = signature
    inputs = raw.get("inputs", _NONE)
    values = raw["value_inputs"] if "value_inputs" in raw else raw.get("side_inputs", _NONE)
    if type(inputs) is not list or type(values) is not list or len(inputs) != len(want):
        return None
    if words is None:
        if values:
            return None
    elif len(values) != 1 or type(values[0]) is not str or values[0] not in words:
        return None
    if not inputs:
        return Node.make(name, tuple(values), (), output)
    k = inputs[0]
    if type(k) is not int or not 0 <= k < i or built[k].type is not want[0]:
        return None
    if len(inputs) == 1:
        return Node.make(name, tuple(values), (built[k],), output)
    m = inputs[1]
    if type(m) is not int or not 0 <= m < i or built[m].type is not want[1]:
        return None
    return Node.make(name, tuple(values), (built[k], built[m]), output)


def _checked_node(raw, i: int, built: list[Node], where: str | None) -> Node:
    """The node of ``raw`` after every check, each failing with its own message."""
    if not isinstance(raw, dict):
        raise _fail(f"expected an object, found {type(raw).__name__}", where, i)
    name = raw.get("function", raw.get("type"))
    if not isinstance(name, str):
        raise _fail("missing 'function' (or 'type')", where, i)
    f = FUNCTIONS.get(name)
    if f is None or not f.clevr:
        why = ("is a template macro; expand it first" if name in MACROS
               else "is not a CLEVR function")
        raise _fail(f"{shown(name)} {why}", where, i)
    inputs = raw.get("inputs", [])
    values = raw.get("value_inputs", raw.get("side_inputs", []))
    if not isinstance(inputs, list) or not isinstance(values, list):
        raise _fail("'inputs' and 'value_inputs' must be lists", where, i)
    if name == "scene" and inputs:
        raise _fail("scene takes no inputs in CLEVR programs", where, i)
    want = f.inputs[: len(f.inputs) - f.optional_inputs]
    if len(inputs) != len(want):
        raise _fail(f"{name} takes {len(want)} input(s), found {len(inputs)}", where, i)
    args = []
    for j, (k, t) in enumerate(zip(inputs, want)):
        if not isinstance(k, int) or not 0 <= k < i:
            raise _fail(f"input {j} = {shown(k)} must name an earlier node (0..{i - 1})",
                        where, i)
        if built[k].type is not t:
            raise _fail(f"{name} needs {t} for input {j}, node {k} ({built[k].op}) "
                        f"gives {built[k].type}", where, i)
        args.append(built[k])
    if len(values) != len(f.params):
        raise _fail(f"{name} takes {len(f.params)} value input(s), found {len(values)}",
                    where, i)
    for v, p in zip(values, f.params):
        if v not in ENUMS[p.type]:
            raise _fail(f"{name} needs a {p.type} value, found {shown(v)}", where, i)
    return Node.make(name, tuple(values), tuple(args))


def _layout_names(nodes: list, built: list[Node]) -> list[tuple[Node, str]]:
    """Names for the nodes that must be lets for :func:`node_to_json` to keep this order.

    Post-order keeps finished sub-programs on a stack that each function pops its inputs
    from. A function whose inputs are not the top of that stack (or an input used twice)
    means the list was written in another order: the nodes waiting on the stack then are
    written first, as lets.
    """
    bound: set[int] = set()
    stack: list[int] = []
    uses = [0] * len(nodes)
    for raw in nodes:
        for k in raw.get("inputs", []):
            uses[k] += 1
    for i, raw in enumerate(nodes):
        ins = [k for k in raw.get("inputs", []) if k not in bound]
        if stack[len(stack) - len(ins):] != ins or len(stack) < len(ins):
            bound.update(stack)
            stack.clear()
        else:
            del stack[len(stack) - len(ins):]
        if uses[i] > 1:
            bound.add(i)
        elif i not in bound:
            stack.append(i)
    taken: dict[str, int] = {}
    return [(built[k], _fresh(_describe(built[k]), taken)) for k in sorted(bound)]


def _describe(node: Node) -> str:
    """A readable let name: ``red_metal_sphere`` for unique(filter...(...)), else the op (its
    family when it reads an attribute: ``same``, ``query``)."""
    words = []
    n = node.inputs[0] if node.op == "unique" and node.inputs else node
    while n.function is not None and n.function.family == "filter":
        words.insert(0, str(n.values[0]))
        n = n.inputs[0]
    if words:
        return "_".join(words)
    f = node.function
    return {"unique": "obj", "scene": "objs"}.get(node.op, f.family if f.attribute else f.name)


def _fresh(base: str, taken: dict[str, int]) -> str:
    """``base``, else ``base2``, ``base3``...: the first not taken nor reserved. ``taken``
    keeps the next number per base (no value or op ends in a digit, so bases never meet),
    and 10,000 lets of one kind are named in linear time."""
    k = taken.get(base, 1)
    name = base if k == 1 else f"{base}{k}"
    while name in FUNCTIONS or name == FILTER_MACRO or name in KEYWORDS:
        k += 1
        name = f"{base}{k}"
    taken[base] = k + 1
    return name


def node_to_json(node: Node, names=(), style: str = "released") -> list[dict]:
    """CLEVR's node list for an IR node (released v1.0 keys unless ``style="generator"``).

    Nodes in ``names`` (in its order) are written first and shared where used.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    out = []
    for n, inputs in tree_postorder(node, _reachable_lets(node, names)):
        f = FUNCTIONS.get(n.op)
        if f is None or not f.clevr or (n.op == "scene" and n.inputs):
            raise DataError(f"'{n.label()}' cannot be written as a CLEVR JSON program "
                            "(only CLEVR's own functions on the current scene can)")
        if style == "released":
            out.append({"function": n.op, "inputs": inputs, "value_inputs": list(n.values)})
        else:
            item = {"type": n.op, "inputs": inputs}
            if n.values:
                item["side_inputs"] = list(n.values)
            out.append(item)
    return out


def normalize(nodes: list) -> list[dict]:
    """A JSON program in released form, dropping extra keys (``_output``): for comparisons."""
    return [{"function": n.get("function", n.get("type")), "inputs": list(n.get("inputs", [])),
             "value_inputs": list(n.get("value_inputs", n.get("side_inputs", [])))}
            for n in nodes]


def _reachable_lets(root: Node, names) -> list[Node]:
    reachable = set(postorder([root]))
    return [n for n, _ in names if n in reachable and n is not root]
