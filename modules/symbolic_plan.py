"""The batched symbolic executor: many programs over many scenes in a few NumPy calls.

Each program compiles once (cached per IR root) into a small table of rows
``(family, argument, value, input0, input1, depth)``. A batch concatenates the tables;
rows are grouped by (depth, family), and each group runs as one vectorised operation on
int64 bitmask object sets, gathering from stacked per-scene tables. A question whose
``unique`` fails is marked invalid and later re-run by :class:`SceneInterpreter`, which
names the failing node -- the fast path never needs to produce messages.
"""

from __future__ import annotations

import weakref
from typing import Sequence

import numpy as np

from clevrlang.errors import ExecutionError
from clevrlang.ir import CONST, Node, postorder
from clevrlang.runtime import Failure
from clevrlang.scene import Scene
from clevrlang.vocabulary import ATTRIBUTE_TYPES, ATTRIBUTES, ENUMS, RELATIONS, Type

# Row families (the batched counterpart of the interpreter's op_* methods).
CONST_, SCENE, FILTER, UNIQUE, RELATE, UNION, INTERSECT, COUNT, EXIST, QUERY, SAME, EQUAL, \
    LESS, GREATER = range(14)
_FAMILY = {
    "scene": SCENE, "filter": FILTER, "unique": UNIQUE, "relate": RELATE, "count": COUNT,
    "exist": EXIST, "query": QUERY, "same": SAME, "equal": EQUAL,
}
_BY_OP = {"union": UNION, "intersect": INTERSECT, "less_than": LESS, "greater_than": GREATER,
          "equal_integer": EQUAL}

_compiled: "weakref.WeakKeyDictionary[Node, np.ndarray]" = weakref.WeakKeyDictionary()


def _const_code(node: Node) -> int:
    v = node.values[0]
    if node.type in ENUMS:
        return ENUMS[node.type].index(v)
    if node.type in (Type.INT, Type.BOOL):
        return int(v)
    raise ExecutionError(f"a {node.type} constant cannot be used in a CLEVR program")


def _row(node: Node, index: dict[Node, int]) -> list[int]:
    ins = [index[i] for i in node.inputs] + [-1, -1]
    if node.op == CONST:
        return [CONST_, 0, _const_code(node), -1, -1, node.depth]
    f = node.function
    if f is None or not f.clevr or (node.op == "scene" and node.inputs):
        raise ExecutionError(f"{node.label()} is not a CLEVR function on a scene graph; "
                             "run it with an interpreter (clevr run) instead")
    family = _BY_OP.get(node.op, _FAMILY.get(f.family))
    arg = value = 0
    if f.attribute:
        arg = ATTRIBUTES.index(f.attribute)
        if node.values:
            value = ENUMS[ATTRIBUTE_TYPES[f.attribute]].index(node.values[0])
    elif node.op == "relate":
        arg = RELATIONS.index(node.values[0])
    return [family, arg, value, ins[0], ins[1], node.depth]


def compile_program(root: Node) -> np.ndarray:
    """The (k, 6) int64 row table of one program; the root is the last row. Cached."""
    table = _compiled.get(root)
    if table is None:
        order = postorder([root])
        index = {n: i for i, n in enumerate(order)}
        table = np.array([_row(n, index) for n in order], dtype=np.int64).reshape(-1, 6)
        table.setflags(write=False)
        _compiled[root] = table
    return table


def _stack_scenes(scenes: Sequence[Scene]):
    """Dense per-scene tables, padded to the largest scene."""
    n_max = max((s.n for s in scenes), default=1) or 1
    codes = np.zeros((len(scenes), n_max, len(ATTRIBUTES)), dtype=np.int64)
    relate = np.zeros((len(scenes), len(RELATIONS), n_max), dtype=np.int64)
    masks = np.zeros((len(scenes), len(ATTRIBUTES), 8), dtype=np.int64)
    full = np.zeros(len(scenes), dtype=np.int64)
    for k, s in enumerate(scenes):
        codes[k, : s.n] = s.codes
        relate[k, :, : s.n] = s.relate
        masks[k] = s.attr_masks
        full[k] = (1 << s.n) - 1
    return codes, relate, masks, full


def execute(roots: Sequence[Node], scenes: Sequence[Scene]) -> list:
    """Answer strings (or :class:`Failure`) for ``roots[i]`` on ``scenes[i]``."""
    if not roots:
        return []
    tables = [compile_program(r) for r in roots]
    lengths = np.fromiter((len(t) for t in tables), dtype=np.int64, count=len(tables))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    plan = np.concatenate(tables)
    qid = np.repeat(np.arange(len(roots)), lengths)
    base = starts[qid]
    in0 = np.where(plan[:, 3] >= 0, plan[:, 3] + base, 0)
    in1 = np.where(plan[:, 4] >= 0, plan[:, 4] + base, 0)

    # One table row per distinct scene object; questions index into it.
    uniq: dict[int, int] = {}
    distinct: list[Scene] = []
    scene_of_q = np.empty(len(roots), dtype=np.int64)
    for q, s in enumerate(scenes):
        k = uniq.get(id(s))
        if k is None:
            k = uniq[id(s)] = len(distinct)
            distinct.append(s)
        scene_of_q[q] = k
    codes, relate, masks, full = _stack_scenes(distinct)
    sq = scene_of_q[qid]

    fam, arg, value, depth = plan[:, 0], plan[:, 1], plan[:, 2], plan[:, 5]
    val = np.zeros(len(plan), dtype=np.int64)
    ok = np.ones(len(plan), dtype=bool)
    order = np.lexsort((fam, depth))
    keys = depth[order] * 16 + fam[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    for idx in np.split(order, cuts):
        _run_group(int(fam[idx[0]]), idx, val, ok, in0, in1, arg, value, sq,
                   codes, relate, masks, full)

    return _answers(roots, scenes, val[ends - 1], ok[ends - 1])


def _run_group(f, idx, val, ok, in0, in1, arg, value, sq, codes, relate, masks, full):
    a = val[in0[idx]]
    if f == CONST_:
        val[idx] = value[idx]
        return
    if f == SCENE:
        val[idx] = full[sq[idx]]
        return
    ok[idx] = ok[in0[idx]]
    if f in (UNION, INTERSECT, EQUAL, LESS, GREATER):
        b = val[in1[idx]]
        ok[idx] &= ok[in1[idx]]
        val[idx] = {UNION: lambda: a | b, INTERSECT: lambda: a & b, EQUAL: lambda: a == b,
                    LESS: lambda: a < b, GREATER: lambda: a > b}[f]()
    elif f == FILTER:
        val[idx] = a & masks[sq[idx], arg[idx], value[idx]]
    elif f == UNIQUE:
        single = np.bitwise_count(a) == 1
        ok[idx] &= single
        # For a single bit, popcount(m - 1) is its position; invalid sets get object 0.
        val[idx] = np.where(single, np.bitwise_count(a - 1), 0)
    elif f == RELATE:
        val[idx] = relate[sq[idx], arg[idx], a]
    elif f == COUNT:
        val[idx] = np.bitwise_count(a)
    elif f == EXIST:
        val[idx] = a != 0
    elif f == QUERY:
        val[idx] = codes[sq[idx], a, arg[idx]]
    elif f == SAME:
        same = masks[sq[idx], arg[idx], codes[sq[idx], a, arg[idx]]]
        val[idx] = same & ~(np.int64(1) << a)
    else:  # pragma: no cover - every family of the vocabulary is handled above
        raise AssertionError(f"unknown row family {f}")


def _answers(roots, scenes, values, valid) -> list:
    from clevrlang.modules.symbolic import SceneInterpreter

    out: list = []
    for root, scene, v, good in zip(roots, scenes, values.tolist(), valid.tolist()):
        if not good:
            try:
                SceneInterpreter(scene).value(root)
                out.append(Failure("invalid on this scene"))  # the slow path disagreed
            except ExecutionError as e:
                out.append(Failure(e.message, (e.where or "").removeprefix("while executing ")))
            continue
        t = root.type
        if t is Type.BOOL:
            out.append("yes" if v else "no")
        elif t is Type.INT:
            out.append(str(v))
        elif t in ENUMS:
            out.append(ENUMS[t][v])
        elif t is Type.OBJECT:
            out.append(f"#{v}")
        else:  # an object set
            out.append("{" + ", ".join(f"#{i}" for i in range(64) if v >> i & 1) + "}")
    return out
