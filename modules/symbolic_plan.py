"""The batched symbolic executor: many programs over many scenes in a few NumPy calls.

Each program compiles once (cached per IR root) into a small table of rows
``(family, argument, value, input0, input1, depth, result kind)``. A batch concatenates the tables;
rows are grouped by (depth, family), and each group runs as one vectorised operation on
int64 bitmask object sets, gathering from stacked per-scene tables. A question whose
``unique`` fails is marked invalid and later re-run by :class:`SceneInterpreter`, which
names the failing node -- the fast path never needs to produce messages.
"""

from __future__ import annotations

from typing import Sequence

from itertools import repeat
from operator import is_

import numpy as np

from clevrlang.errors import ExecutionError
from clevrlang.ir import CONST, Node, postorder
from clevrlang.runtime import Failure
from clevrlang.scene import PAD, Scene
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

# Plans per root, strongly held (a dict lookup is cheaper than a weak one); cleared when
# it grows past a bound so a long session cannot grow it without limit.
_compiled: dict[Node, np.ndarray] = {}
_CACHE_LIMIT = 200_000


def _const_code(node: Node) -> int:
    v = node.values[0]
    if node.type in ENUMS:
        return ENUMS[node.type].index(v)
    if node.type in (Type.INT, Type.BOOL):
        return int(v)
    raise ExecutionError(f"a {node.type} constant cannot be used in a CLEVR program")


def _row(node: Node, index: dict[Node, int]) -> list[int]:
    ins = [index[i] for i in node.inputs] + [-1, -1]
    kind = _KINDS.index(node.type)
    if node.op == CONST:
        return [CONST_, 0, _const_code(node), -1, -1, node.depth, kind]
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
    return [family, arg, value, ins[0], ins[1], node.depth, kind]


def compile_program(root: Node) -> np.ndarray:
    """The (k, 7) int64 row table of one program; the root is the last row. Cached."""
    table = _compiled.get(root)
    if table is None:
        order = postorder([root])
        index = {n: i for i, n in enumerate(order)}
        table = np.array([_row(n, index) for n in order], dtype=np.int64).reshape(-1, 7)
        table.setflags(write=False)
        if len(_compiled) >= _CACHE_LIMIT:
            _compiled.clear()
        _compiled[root] = table
    return table


def _stack_scenes(scenes: Sequence[Scene]):
    """Dense per-scene tables (each scene packs its own row once), stacked."""
    pad = max(PAD, max((s.n for s in scenes), default=1))
    rows = np.stack([s.packed(pad) for s in scenes])
    n_attr, n_rel = len(ATTRIBUTES), len(RELATIONS)
    full = rows[:, 0]
    masks = rows[:, 1: 1 + n_attr * 8].reshape(-1, n_attr, 8)
    at = 1 + n_attr * 8
    codes = rows[:, at: at + pad * n_attr].reshape(-1, pad, n_attr)
    relate = rows[:, at + pad * n_attr:].reshape(-1, n_rel, pad)
    return codes, relate, masks, full


def execute(roots: Sequence[Node], scenes: Sequence[Scene]) -> list:
    """Answer strings (or :class:`Failure`) for ``roots[i]`` on ``scenes[i]``."""
    if not roots:
        return []
    get = _compiled.get
    tables = [get(r) for r in roots]
    if any(map(is_, tables, repeat(None))):
        tables = [t if t is not None else compile_program(r) for t, r in zip(tables, roots)]
    lengths = np.fromiter(map(len, tables), dtype=np.int64, count=len(tables))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    plan = np.concatenate(tables)
    qid = np.repeat(np.arange(len(roots)), lengths)
    base = starts[qid]
    in0 = np.where(plan[:, 3] >= 0, plan[:, 3] + base, 0)
    in1 = np.where(plan[:, 4] >= 0, plan[:, 4] + base, 0)

    # One table row per distinct scene object; questions index into it.
    ids = np.fromiter(map(id, scenes), dtype=np.int64, count=len(scenes))
    _, first, scene_of_q = np.unique(ids, return_index=True, return_inverse=True)
    codes, relate, masks, full = _stack_scenes([scenes[i] for i in first])
    sq = scene_of_q[qid]

    # Sort rows by (depth, family): every group becomes a contiguous slice, and inputs are
    # renumbered to their sorted positions.
    order = np.argsort((plan[:, 5] * 16 + plan[:, 0]).astype(np.int16), kind="stable")
    pos = np.empty_like(order)
    pos[order] = np.arange(len(order))
    rows = _Rows(plan[order], pos[in0[order]], pos[in1[order]], sq[order], codes.shape[1])
    keys = rows.depth * 16 + rows.fam
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1, [len(keys)]])
    val = np.zeros(len(plan), dtype=np.int64)
    ok = np.ones(len(plan), dtype=bool)
    tables = (codes.ravel(), relate.ravel(), masks.ravel(), full)
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        _run_group(int(rows.fam[lo]), slice(lo, hi), rows, val, ok, tables)

    roots_at = pos[ends - 1]
    return _answers(roots, scenes, val[roots_at], ok[roots_at], plan[ends - 1, 6])


class _Rows:
    """Sorted row columns plus flat indices into the stacked scene tables."""

    def __init__(self, plan, in0, in1, sq, pad):
        self.fam, self.arg, self.value, self.depth = plan[:, 0], plan[:, 1], plan[:, 2], plan[:, 5]
        self.in0, self.in1, self.sq = in0, in1, sq
        n_attr = len(ATTRIBUTES)
        self.mask_at = (sq * n_attr + self.arg) * 8 + self.value  # masks[s, attr, value]
        self.rel_at = (sq * len(RELATIONS) + self.arg) * pad  # + object: relate[s, r, obj]
        self.code_at = sq * pad * n_attr + self.arg  # + obj * n_attr: codes[s, obj, attr]
        self.attr_at = (sq * n_attr + self.arg) * 8  # + value code: masks[s, attr, code]
        self.n_attr = n_attr


def _run_group(f, g, rows, val, ok, tables):
    codes, relate, masks, full = tables
    if f == CONST_:
        val[g] = rows.value[g]
        return
    if f == SCENE:
        val[g] = full[rows.sq[g]]
        return
    i0 = rows.in0[g]
    a = val[i0]
    ok[g] = ok[i0]
    if f in (UNION, INTERSECT, EQUAL, LESS, GREATER):
        i1 = rows.in1[g]
        b = val[i1]
        ok[g] &= ok[i1]
        val[g] = (a | b if f == UNION else a & b if f == INTERSECT else a == b if f == EQUAL
                  else a < b if f == LESS else a > b)
    elif f == FILTER:
        val[g] = a & masks[rows.mask_at[g]]
    elif f == UNIQUE:
        single = np.bitwise_count(a) == 1
        ok[g] &= single
        # For a single bit, popcount(m - 1) is its position; invalid sets get object 0.
        val[g] = np.where(single, np.bitwise_count(a - 1), 0)
    elif f == RELATE:
        val[g] = relate[rows.rel_at[g] + a]
    elif f == COUNT:
        val[g] = np.bitwise_count(a)
    elif f == EXIST:
        val[g] = a != 0
    elif f == QUERY:
        val[g] = codes[rows.code_at[g] + a * rows.n_attr]
    elif f == SAME:
        code = codes[rows.code_at[g] + a * rows.n_attr]
        val[g] = masks[rows.attr_at[g] + code] & ~(np.int64(1) << a)
    else:  # pragma: no cover - every family of the vocabulary is handled above
        raise AssertionError(f"unknown row family {f}")


def _answers(roots, scenes, values, valid, kinds) -> list:
    from clevrlang.modules.symbolic import SceneInterpreter

    out = np.empty(len(roots), dtype=object)
    for k in np.unique(kinds).tolist():
        idx = np.flatnonzero(kinds == k)
        t, v = _KINDS[k], values[idx]
        if t in _WORDS:
            out[idx] = _WORDS[t][np.clip(v, 0, len(_WORDS[t]) - 1)]
        else:  # objects and object sets are not CLEVR answers; show their ids
            out[idx] = [f"#{x}" if t is Type.OBJECT
                        else "{" + ", ".join(f"#{i}" for i in range(64) if x >> i & 1) + "}"
                        for x in v.tolist()]
    for i in np.flatnonzero(~valid).tolist():
        try:
            SceneInterpreter(scenes[i]).value(roots[i])
            out[i] = Failure("invalid on this scene")  # the slow path disagreed
        except ExecutionError as e:
            out[i] = Failure(e.message, (e.where or "").removeprefix("while executing "))
    return out.tolist()


_KINDS = tuple(Type)
# Answer words per result type, indexed by the executor's integer codes.
_WORDS = {t: np.array(vs, dtype=object) for t, vs in ENUMS.items()}
_WORDS[Type.BOOL] = np.array(["no", "yes"], dtype=object)
_WORDS[Type.INT] = np.array([str(i) for i in range(64)], dtype=object)
