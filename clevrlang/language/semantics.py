"""What each CLEVR function means on a scene graph, written once for every executor.

The interpreter (one program, one scene), the batched plan (thousands of programs as NumPy
groups) and the question generator (CLEVR's template search) all run these kernels; none of
them spells a function's meaning again. An object set is an int64 bitmask, an object its
index, and a scene is read through its lookup row (:attr:`Scene.lookup_row`): the object
mask of every filter combination, then a block of ``ROW_BLOCK`` entries per object (its
relation masks, the masks of the others sharing each attribute, its attribute codes).

A function's *kernel* comes from its vocabulary facts (family, attribute, operator), and
:func:`param` turns its value inputs into an offset into that row, once per node:

=========  ================================  ==========================================
kernel     value                             functions
=========  ================================  ==========================================
select     ``row[at]``                       scene (param 0: "any" everywhere, all)
filter     ``objs & row[at]``                filter_* (param: the filter combination)
lookup     ``row[at + obj * ROW_BLOCK]``     relate, same_*, query_* (query: a code)
unique     the one object's index            unique (checking it is one is the caller's)
count      popcount                          count
exist      ``objs != 0``                     exist
or ... gt  ``OPERATORS[operator](a, b)``     union, intersect, equal_*, less_than, ...
=========  ================================  ==========================================

Each kernel is one expression that means the same on Python ints (``row`` a list: one
question) and on NumPy arrays (``row`` the batch's table, ``at`` an array: a whole group).

>>> from clevrlang.scene import Scene
>>> s = Scene({"objects": [{"size": "large", "color": "red", "material": "metal",
...     "shape": "cube"}, {"size": "small", "color": "red", "material": "rubber",
...     "shape": "sphere"}], "relationships": {"left": [[1], []], "right": [[], [0]],
...     "front": [[], []], "behind": [[], []]}})
>>> row = scene_row(s)
>>> red = apply(FUNCTIONS["filter_color"], row, ("red",), [apply(FUNCTIONS["scene"], row)])
>>> red, apply(FUNCTIONS["count"], row, (), [red])
(3, 2)
>>> decode(FUNCTIONS["query_shape"], apply(FUNCTIONS["query_shape"], row, (), [1]))
'sphere'
"""

from __future__ import annotations

import operator
from functools import cache

import numpy as np

from clevrlang.language.vocabulary import ATTRIBUTES, ENUMS, FUNCTIONS, RELATIONS, Function
from clevrlang.scene import N_COMBOS, ROW_BLOCK, Scene, combo_id

# Where Scene.lookup_row keeps what: filter-combination masks, then a block per object.
REL_AT = N_COMBOS                     # block[r]: objects in relation r to this one
SAME_AT = REL_AT + len(RELATIONS)     # block[4 + a]: the others sharing its attribute a
CODE_AT = SAME_AT + len(ATTRIBUTES)   # block[8 + a]: its attribute a's value code


def popcount(objs):
    """The number of objects in a set (or in each set of an array)."""
    return objs.bit_count() if type(objs) is int else np.bitwise_count(objs)


def single(objs):
    """The index of a set's one object (meaningless unless it has exactly one): for one
    bit, the position is popcount(m - 1)."""
    return objs.bit_length() - 1 if type(objs) is int else np.bitwise_count(objs - 1)


#: The binary functions' meaning, by the vocabulary's ``Function.operator`` (a new
#: operator goes here, before an executor is imported: the batched plan numbers them once).
OPERATORS = {"or": operator.or_, "and": operator.and_, "eq": operator.eq,
             "lt": operator.lt, "gt": operator.gt}

#: The unary kernels of values alone (no scene), by family.
UNARY = {"unique": single, "count": popcount, "exist": lambda objs: objs != 0}


def select(row, at):
    return row[at]


def filter_(row, at, objs):
    return objs & row[at]


def lookup(row, at, obj):
    return row[at + obj * ROW_BLOCK]


SCENE_KERNELS = {"select": select, "filter": filter_, "lookup": lookup}
_FAMILY_KERNELS = {"scene": "select", "filter": "filter", "relate": "lookup", "same": "lookup",
                   "query": "lookup", "unique": "unique", "count": "count", "exist": "exist"}


def kernel_of(f: Function) -> str:
    """The kernel that runs ``f``: its operator for binary functions, else by family."""
    return f.operator or _FAMILY_KERNELS[f.family]


def param(f: Function, values: tuple = ()) -> int:
    """The row offset a scene kernel reads for ``f`` with value inputs ``values``."""
    return _param(f.name, values)


@cache  # keyed by name: hashing a Function hashes every field
def _param(name: str, values: tuple) -> int:
    f = FUNCTIONS[name]
    if f.family == "filter":
        return combo_id({f.attribute: values[0]})
    if f.family == "relate":
        return REL_AT + RELATIONS.index(values[0])
    if f.family in ("same", "query"):
        return (SAME_AT if f.family == "same" else CODE_AT) + ATTRIBUTES.index(f.attribute)
    return 0


def apply(f: Function, row, values: tuple = (), args=()):
    """``f`` on one scene's ``row`` (:func:`scene_row`): its kernel's value (a query gives
    a code: :func:`decode`)."""
    k = kernel_of(f)
    if k in OPERATORS:
        return OPERATORS[k](*args)
    if k in UNARY:
        return UNARY[k](*args)
    return SCENE_KERNELS[k](row, param(f, values), *args)


def evaluate(f: Function, row, values: tuple = (), args=()):
    """``f`` on one scene as the language sees it: a query gives its word, and unique of a
    set that is not one object gives None (its caller says why or prunes)."""
    if f.family == "unique" and popcount(args[0]) != 1:
        return None
    value = apply(f, row, values, args)
    return decode(f, value) if f.family == "query" else value


def decode(f: Function, code):
    """A query's value code as the attribute value (CLEVR's answer word)."""
    return ENUMS[f.output][code]


def scene_row(scene: Scene) -> list[int]:
    """One scene's lookup row as Python ints, for kernels run one question at a time."""
    return scene.lookup_row.tolist()


__all__ = ["OPERATORS", "UNARY", "SCENE_KERNELS", "apply", "evaluate", "decode",
           "kernel_of", "param", "popcount", "single", "scene_row"]
