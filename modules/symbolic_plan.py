"""The batched symbolic executor: many programs over many scenes in a few NumPy calls.

Each program compiles once (cached per IR root) into a small table of int32 rows ``(key,
param, in0, in1)``: ``key`` is level * 16 + family (the root's also carries its result
type above ``_KEY_BITS``), inputs are row offsets relative to the row. Every scene is one
int64 row of lookup tables (:attr:`Scene.lookup_row`): the object mask of each of the 324
filter combinations (size?, color?, material?, shape?), then per object its relation
masks, same-attribute masks and attribute codes. So ``filter[large red metal](scene())``
is one gather, and ``relate``, ``same_*`` and ``query_*`` are one family: "look up at
``param`` in the object's block" (fused with the ``unique`` that usually gives the object).

A batch concatenates the cached tables (one ``bytes.join``), sorts rows by key, and runs
each (level, family) group as one vectorised operation on int64 bitmask object sets. The
per-question Python work is two ``map`` calls (plan and scene lookups) and the answer
list. A question whose ``unique`` fails is re-run by :class:`SceneInterpreter`, which
names the failing node -- the fast path never needs to produce messages. Compiling walks
the program with an explicit stack: depth does not matter up to 4 million levels.

:class:`SymbolicBackend` (``get_backend("symbolic")``) answers batches with :func:`execute`.
"""

from __future__ import annotations

from itertools import count, repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Sequence

import numpy as np

from clevrlang.backends import Backend, Capabilities
from clevrlang.language import semantics
from clevrlang.language.errors import ExecutionError, UsageError
from clevrlang.language.ir import CONST, Node
from clevrlang.language.vocabulary import ENUMS, Type, render_value
from clevrlang.modules.symbolic import SceneInterpreter
from clevrlang.runtime import Failure
from clevrlang.scene import Scene, combo_id

if TYPE_CHECKING:
    from clevrlang.language.program import Program

# Row families: the kernels of clevrlang.language.semantics, plus constants and PICK (lookup fused
# with the unique that gives its object); each fits in the key's 4 family bits.
_FAMILIES = ("const", "select", "filter", "lookup", "pick", *semantics.UNARY,
             *semantics.OPERATORS)
assert len(_FAMILIES) <= 16, _FAMILIES
CONST_, SELECT, FILTER, LOOKUP, PICK, UNIQUE = range(6)
_CODE = {k: i for i, k in enumerate(_FAMILIES)}
_SCENE_KERNELS = {_CODE[k]: f for k, f in semantics.SCENE_KERNELS.items()}  # (table, at, a)
_BINARY = {_CODE[k]: f for k, f in semantics.OPERATORS.items()}
_UNARY = {_CODE[k]: f for k, f in semantics.UNARY.items() if k != "unique"}
_LOOKUP_ROW = attrgetter("lookup_row")

# 16-byte records: NumPy gathers those as fast as plain integers (20 bytes: 30x slower).
_ROW = np.dtype([("key", "<i4"), ("param", "<i4"), ("in0", "<i4"), ("in1", "<i4")])
_KEY_BITS = 26  # below: level * 16 + family; above, on the root row only: result type + 1
_KEY_MASK = (1 << _KEY_BITS) - 1
_INT32 = np.iinfo(np.int32)

# Plans per root as raw bytes (b"".join is the cheapest way to concatenate thousands),
# strongly held (a dict lookup is cheaper than a weak one); cleared when it grows past a
# bound so a long session cannot grow it without limit. Each entry keeps its program alive,
# so the bound is a few evaluation chunks (4,096 questions, a Program and a Node each), not a
# split: at 200,000 an evaluation kept every program (190 MiB after 80,000 questions).
_compiled: dict[Node | Program, bytes] = {}
_CACHE_LIMIT = 32_768


def _const_code(node: Node) -> int:
    v = node.values[0]
    if node.type in ENUMS:
        return ENUMS[node.type].index(v)
    if node.type in (Type.INT, Type.BOOL):
        # Clamped to the table's int32: compared with counts (<= 62) it means the same.
        return min(max(int(v), _INT32.min), _INT32.max)
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


def _row_of(node: Node) -> tuple[int, int, tuple[Node, ...]]:
    """(family, param, input nodes) of the row that computes ``node``."""
    if node.op == CONST:
        return CONST_, _const_code(node), ()
    f = _check(node)
    kernel = semantics.kernel_of(f)
    if kernel == "filter":  # a chain of filters is one combination
        chain, base = _filter_chain(node)
        if base.op == "scene" and not base.inputs:
            return SELECT, combo_id(chain), ()
        return FILTER, combo_id(chain), (base,)
    if kernel == "lookup" and node.inputs[0].op == "unique":
        # fused: look up from the set, checking it is one object
        return PICK, semantics.param(f, node.values), node.inputs[0].inputs
    return _CODE[kernel], semantics.param(f, node.values), node.inputs


def compile_program(root: Node) -> bytes:
    """The rows of one program (``_ROW`` records) as bytes; the root is the last. Cached.

    An explicit stack instead of recursion: a 10,000-deep program compiles like any other.
    """
    table = _compiled.get(root)
    if table is not None:
        return table
    rows: list[tuple] = []
    index: dict[Node, int] = {}
    levels: list[int] = []
    stack = [root]
    while stack:
        node = stack[-1]
        if node in index:
            stack.pop()
            continue
        family, param, inputs = _row_of(node)
        waiting = [i for i in inputs if i not in index]
        if waiting:
            stack.extend(reversed(waiting))
            continue
        stack.pop()
        at = len(rows)
        ins = [index[i] for i in inputs]
        level = 1 + max((levels[i] for i in ins), default=-1)
        rel = [i - at for i in ins] + [0, 0]  # 0: no input (points at itself, never read)
        rows.append((level * 16 + family, param, rel[0], rel[1]))
        levels.append(level)
        index[node] = at
    if levels[-1] * 16 > _KEY_MASK:
        raise ExecutionError(f"a program {levels[-1]:,} levels deep is too deep for the batched "
                             "executor; run it with an interpreter (clevr run)")
    key, *rest = rows[-1]
    rows[-1] = (key | (_KINDS.index(root.type) + 1) << _KEY_BITS, *rest)
    table = np.array(rows, dtype=_ROW).tobytes()
    if len(_compiled) >= _CACHE_LIMIT:
        _compiled.clear()
    _compiled[root] = table
    return table


def program_table(root: Node) -> np.ndarray:
    """The compiled rows of one program as a record array (for inspection and tests)."""
    return np.frombuffer(compile_program(root), dtype=_ROW)


def _scene_table(scenes: Sequence[Scene]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct scenes' rows, flattened, and each question's offset into it."""
    first: dict[Scene, int] = {}  # distinct scenes -> the first question on each
    firsts = np.fromiter(map(first.setdefault, scenes, count()), dtype=np.intp,
                         count=len(scenes))
    rows = list(map(_LOOKUP_ROW, first))
    width = max(map(len, rows))
    if width * len(rows) == sum(map(len, rows)):  # all as wide as the widest
        table = np.concatenate(rows)  # one C call (np.stack loops in Python per row)
    else:  # a scene with more than PAD objects widens every row
        table = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            table[i, :len(r)] = r
        table = table.ravel()
    at = np.zeros(len(scenes), dtype=np.intp)
    at[list(first.values())] = np.arange(0, len(rows) * width, width)
    return table, at[firsts]


def _plan(roots: Sequence[Node | Program]) -> np.ndarray:
    tables = list(map(_compiled.get, roots))
    try:
        data = b"".join(tables)
    except TypeError:  # a program not compiled yet (None)
        data = b"".join([t if t is not None else _compile_for(r)
                         for t, r in zip(tables, roots)])
    return np.frombuffer(data, dtype=_ROW)


def _compile_for(root: Node | Program) -> bytes:
    """A Program's table is cached under the Program too: a batch then reads the cache
    straight from the list it was given, with no per-question ``.node``."""
    if type(root) is Node:
        return compile_program(root)
    table = compile_program(root.node)
    _compiled[root] = table
    return table


def execute(roots: Sequence[Node | Program], scenes: Sequence[Scene]) -> list:
    """Answer strings (or :class:`Failure`) for ``roots[i]`` on ``scenes[i]``; a root
    is an IR node or a one-result :class:`Program`."""
    if not roots:
        return []
    plan = _plan(roots)
    table, scene_at = _scene_table(scenes)
    key = plan["key"]
    root_rows = np.flatnonzero(key > _KEY_MASK)  # one per question, in question order
    kinds = (key[root_rows] >> _KEY_BITS) - 1
    base = np.repeat(scene_at, np.diff(root_rows, prepend=-1))  # each row's scene

    # Sort rows by key = (level, family): each group is one slice of ``order``. Values stay
    # in plan order (inputs are relative offsets there). Radix sort on the narrowest type
    # that holds the key.
    key = key & _KEY_MASK
    top = int(key.max())
    order = np.argsort(key.astype(np.uint8 if top < 256 else np.uint16 if top < 65536
                                  else np.int32), kind="stable")
    p = plan[order]
    cols = (order, p["param"], base[order] + p["param"], order + p["in0"], p["in1"], root_rows)
    keys = p["key"] & _KEY_MASK
    cuts = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist(), len(p)]
    val = np.empty(len(p), dtype=np.int64)
    bad = np.zeros(len(roots), dtype=bool)
    for lo, hi, k in zip(cuts[:-1], cuts[1:], (keys[cuts[:-1]] & 15).tolist()):
        _run_group(k, slice(lo, hi), cols, val, bad, table)
    return _answers(roots, scenes, val[root_rows], kinds, bad)


def _run_group(f: int, g: slice, cols, val, bad, table) -> None:
    """One (level, family) group: rows ``order[g]``; ``at`` = scene row start + param."""
    order, param, at, in0, in1, root_rows = cols
    out = order[g]
    if f == CONST_:
        val[out] = param[g]
        return
    if f == SELECT:
        val[out] = semantics.select(table, at[g])
        return
    a = val[in0[g]]
    if f == UNIQUE:
        val[out] = _only_object(a, out, bad, root_rows)
    elif f == PICK:
        val[out] = semantics.lookup(table, at[g], _only_object(a, out, bad, root_rows))
    elif f in _BINARY:
        val[out] = _BINARY[f](a, val[out + in1[g]])
    elif f in _UNARY:
        val[out] = _UNARY[f](a)
    else:
        val[out] = _SCENE_KERNELS[f](table, at[g], a)


def _only_object(objs, rows, bad, root_rows) -> np.ndarray:
    """``unique`` of each set. For a single bit, popcount(m - 1) is its position; a failed
    one gets object 0 (so later lookups stay in range) and sends its question (the first
    root at or after its row) to the interpreter."""
    single = semantics.popcount(objs) == 1
    if not single.all():
        bad[np.searchsorted(root_rows, rows[~single])] = True
    return np.where(single, semantics.single(objs), 0)


def _answers(roots, scenes, values, kinds, bad) -> list:
    start = _WORD_AT[kinds]
    out = _WORDS[start + np.clip(values, 0, _WORD_N[kinds] - 1)].tolist()
    odd = (start < 0) | ((kinds == _INT) & ((values < 0) | (values >= _WORD_N[_INT])))
    for i in np.flatnonzero(odd).tolist():
        out[i] = _render(_KINDS[kinds[i]], int(values[i]), _node(roots[i]))
    for i in np.flatnonzero(bad).tolist():
        try:
            SceneInterpreter(scenes[i]).value(_node(roots[i]))
            out[i] = Failure("invalid on this scene")  # the slow path disagreed
        except ExecutionError as e:
            out[i] = Failure.of(e)
    return out


def _node(root: Node | Program) -> Node:
    return root if type(root) is Node else root.node


def _render(t: Type, v: int, root: Node) -> str:
    """Values that are not CLEVR answer words: big integers, objects, object sets."""
    if root.op == CONST:  # the table holds it clamped to int32
        return render_value(root.values[0], t)
    return render_value(v, t)


_KINDS = tuple(Type)
_INT = _KINDS.index(Type.INT)


def _word_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Answer words of every result type in one array, where each type's words start
    (-1: a type without words) and how many it has; integer codes index them."""
    lists = {t: list(vs) for t, vs in ENUMS.items()}
    lists[Type.BOOL] = [render_value(False), render_value(True)]
    lists[Type.INT] = [render_value(i) for i in range(64)]
    start = np.full(len(_KINDS), -1, dtype=np.int64)
    size = np.ones(len(_KINDS), dtype=np.int64)
    words: list[str] = []
    for t, ws in lists.items():
        start[_KINDS.index(t)], size[_KINDS.index(t)] = len(words), len(ws)
        words += ws
    return np.array(words, dtype=object), start, size


_WORDS, _WORD_AT, _WORD_N = _word_table()


class SymbolicBackend(Backend):
    """``get_backend("symbolic")``: answers programs on scenes, exactly."""

    name = "symbolic"
    capabilities = Capabilities(needs="scenes")

    def answer(self, programs: Sequence[Program | Node], scenes: Sequence[Scene | dict],
               *, errors: str = "raise") -> list:
        """CLEVR answer strings for ``programs[i]`` on ``scenes[i]``.

        ``errors="raise"`` raises ExecutionError for the first question that cannot run;
        ``errors="return"`` puts a :class:`~clevrlang.runtime.Failure` in its place.
        """
        if len(programs) != len(scenes):
            raise UsageError(f"{len(programs)} programs but {len(scenes)} scenes")
        # Per-question Python work is most of the time here: C-level passes only.
        if not all(map(isinstance, scenes, repeat(Scene))):
            scenes = [s if isinstance(s, Scene) else Scene(s, i) for i, s in enumerate(scenes)]
        results = execute(programs, scenes)
        if errors == "raise" and not all(map(isinstance, results, repeat(str))):
            for i, r in enumerate(results):
                if isinstance(r, Failure):
                    r.raise_for(i)
        return results

    def interpreter(self, context) -> SceneInterpreter:
        return SceneInterpreter(context)
