"""The batched symbolic executor: many programs over many scenes in a few NumPy calls.

Each program compiles once (cached per IR root) into a small table of rows
``(family, argument, value, input0, input1, level, result kind)``. Chains of filters fuse
into one row: every scene precomputes the object mask of each of the 324 combinations of
(size?, color?, material?, shape?), so ``filter[large red metal]`` is one gather. A batch
concatenates the tables; rows are sorted by (level, family), and each group runs as one
vectorised operation on int64 bitmask object sets, gathering from stacked per-scene
tables. A question whose ``unique`` fails is marked invalid and re-run by
:class:`SceneInterpreter`, which names the failing node -- the fast path never needs to
produce messages.
"""

from __future__ import annotations

from itertools import repeat
from operator import is_
from typing import Sequence

import numpy as np

from clevrlang.errors import ExecutionError
from clevrlang.ir import CONST, Node
from clevrlang.runtime import Failure
from clevrlang.scene import N_COMBOS, PAD, Scene, combo_id
from clevrlang.vocabulary import ATTRIBUTES, ENUMS, RELATIONS, Type

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
_compiled: dict[Node, bytes] = {}  # a program's int32 rows as raw bytes: b"".join is the
_ROW = 7 * 4                         # cheapest way to concatenate thousands of them
_CACHE_LIMIT = 200_000


def _const_code(node: Node) -> int:
    v = node.values[0]
    if node.type in ENUMS:
        return ENUMS[node.type].index(v)
    if node.type in (Type.INT, Type.BOOL):
        return int(v)
    raise ExecutionError(f"a {node.type} constant cannot be used in a CLEVR program")


def _check(node: Node):
    f = node.function
    if f is None or not f.clevr or (node.op == "scene" and node.inputs):
        raise ExecutionError(f"{node.label()} is not a CLEVR function on a scene graph; "
                             "run it with an interpreter (clevr run) instead")
    return f


def _filter_chain(node: Node) -> tuple[dict[str, str], Node]:
    """The filters of a chain ending at ``node`` (one per attribute) and the chain's input."""
    chain: dict[str, str] = {}
    while node.op != CONST and node.function.family == "filter" \
            and node.function.attribute not in chain:
        chain[node.function.attribute] = node.values[0]
        node = node.inputs[0]
    return chain, node


class _Compiler:
    def __init__(self):
        self.rows: list[list[int]] = []
        self.index: dict[Node, int] = {}

    def emit(self, node: Node) -> int:
        at = self.index.get(node)
        if at is not None:
            return at
        kind = _KINDS.index(node.type)
        if node.op == CONST:
            row = [CONST_, 0, _const_code(node), -1, -1, 0, kind]
        else:
            f = _check(node)
            if f.family == "filter":
                chain, base = _filter_chain(node)
                i0 = self.emit(base)
                row = [FILTER, 0, combo_id(chain), i0, -1, self.rows[i0][5] + 1, kind]
            else:
                ins = [self.emit(i) for i in node.inputs]
                level = 1 + max((self.rows[i][5] for i in ins), default=-1)
                arg = value = 0
                if f.attribute:
                    arg = ATTRIBUTES.index(f.attribute)
                elif node.op == "relate":
                    arg = RELATIONS.index(node.values[0])
                ins += [-1, -1]
                row = [_BY_OP.get(node.op, _FAMILY.get(f.family)), arg, value, ins[0], ins[1],
                       level, kind]
        self.index[node] = len(self.rows)
        self.rows.append(row)
        return self.index[node]


def compile_program(root: Node) -> bytes:
    """The (k, 7) int32 row table of one program, as bytes; the root is the last row. Cached."""
    table = _compiled.get(root)
    if table is None:
        c = _Compiler()
        c.emit(root)
        table = np.array(c.rows, dtype=np.int32).tobytes()
        if len(_compiled) >= _CACHE_LIMIT:
            _compiled.clear()
        _compiled[root] = table
    return table


def program_table(root: Node) -> np.ndarray:
    """The compiled rows of one program as a (k, 7) array (for inspection and tests)."""
    return np.frombuffer(compile_program(root), dtype=np.int32).reshape(-1, 7)


def _stack_scenes(scenes: Sequence[Scene]):
    """Dense per-scene tables (each scene packs its own row once), stacked and flattened."""
    pad = max(PAD, max((s.n for s in scenes), default=1))
    rows = np.stack([s.packed(pad) for s in scenes])
    n_attr, n_rel = len(ATTRIBUTES), len(RELATIONS)
    parts, at = {}, 0
    for name, width in (("full", 1), ("combos", N_COMBOS), ("masks", n_attr * 8),
                        ("codes", pad * n_attr), ("relate", n_rel * pad)):
        parts[name] = np.ascontiguousarray(rows[:, at: at + width]).ravel()
        at += width
    return parts, pad


def execute(roots: Sequence[Node], scenes: Sequence[Scene]) -> list:
    """Answer strings (or :class:`Failure`) for ``roots[i]`` on ``scenes[i]``."""
    if not roots:
        return []
    get = _compiled.get
    tables = [get(r) for r in roots]
    if any(map(is_, tables, repeat(None))):
        tables = [t if t is not None else compile_program(r) for t, r in zip(tables, roots)]
    lengths = np.fromiter(map(len, tables), dtype=np.int64, count=len(tables)) // _ROW
    ends = np.cumsum(lengths)
    plan = np.frombuffer(b"".join(tables), dtype=np.int32).reshape(-1, 7)
    qid = np.repeat(np.arange(len(roots)), lengths)

    # One table row per distinct scene object; questions index into it.
    ids = np.fromiter(map(id, scenes), dtype=np.int64, count=len(scenes))
    _, first, scene_of_q = np.unique(ids, return_index=True, return_inverse=True)
    t, pad = _stack_scenes([scenes[i] for i in first])

    # Sort rows by (level, family): every group becomes a contiguous slice; inputs are
    # renumbered to their sorted positions.
    order = np.argsort((plan[:, 5] * 16 + plan[:, 0]).astype(np.int16), kind="stable")
    pos = np.empty(len(order), dtype=np.int32)
    pos[order] = np.arange(len(order), dtype=np.int32)
    base = (ends - lengths)[qid[order]]
    p = plan[order]
    in0 = pos[p[:, 3] + base]  # -1 (no input) lands on a harmless row
    in1 = pos[p[:, 4] + base]
    sq = scene_of_q[qid[order]]
    fam = p[:, 0]
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(p[:, 5] * 16 + fam)) + 1, [len(p)]])
    val = np.zeros(len(p), dtype=np.int64)
    ok = np.ones(len(p), dtype=bool)
    cols = (p[:, 1].astype(np.int64), p[:, 2].astype(np.int64), in0, in1, sq)
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        _run_group(int(fam[lo]), slice(lo, hi), cols, val, ok, t, pad)

    roots_at = pos[ends - 1]
    return _answers(roots, scenes, val[roots_at], ok[roots_at], plan[ends - 1, 6])


def _run_group(f, g, cols, val, ok, t, pad):
    arg, value, in0, in1, sq = cols
    if f == CONST_:
        val[g] = value[g]
        return
    s = sq[g]
    if f == SCENE:
        val[g] = t["full"][s]
        return
    i0 = in0[g]
    a = val[i0]
    ok[g] = ok[i0]
    if f in (UNION, INTERSECT, EQUAL, LESS, GREATER):
        i1 = in1[g]
        b = val[i1]
        ok[g] &= ok[i1]
        val[g] = (a | b if f == UNION else a & b if f == INTERSECT else a == b if f == EQUAL
                  else a < b if f == LESS else a > b)
    elif f == FILTER:
        val[g] = a & t["combos"][s * N_COMBOS + value[g]]
    elif f == UNIQUE:
        single = np.bitwise_count(a) == 1
        ok[g] &= single
        # For a single bit, popcount(m - 1) is its position; invalid sets get object 0.
        val[g] = np.where(single, np.bitwise_count(a - 1), 0)
    elif f == RELATE:
        val[g] = t["relate"][(s * len(RELATIONS) + arg[g]) * pad + a]
    elif f == COUNT:
        val[g] = np.bitwise_count(a)
    elif f == EXIST:
        val[g] = a != 0
    elif f == QUERY:
        val[g] = t["codes"][(s * pad + a) * len(ATTRIBUTES) + arg[g]]
    elif f == SAME:
        code = t["codes"][(s * pad + a) * len(ATTRIBUTES) + arg[g]]
        val[g] = t["masks"][(s * len(ATTRIBUTES) + arg[g]) * 8 + code] & ~(np.int64(1) << a)
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
