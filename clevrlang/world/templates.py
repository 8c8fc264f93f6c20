"""CLEVR's 90 question templates, compiled for the question generator, and their English.

The templates are CLEVR's own files (``data/clevr/CLEVR_1.0_templates/*.json``, 9 files,
90 families). Each family is compiled once into :class:`Step` records (one per template
node) that :mod:`clevrlang.world.questions` instantiates by depth-first search.

Global family index: CLEVR's generator loads the files in ``os.listdir`` order (unspecified)
and writes each family's index *within its file*; the released v1.0 data numbers families
0-89 without publishing the mapping (clevr-dataset-gen issue #14). We number them in sorted
file-name order, then file order::

    compare_integer 0-8   comparison 9-24   one_hop 25-30   same_relate 31-58
    single_and 59-63      single_or 64-71   three_hop 72-77 two_hop 78-83  zero_hop 84-89

>>> t = load_templates()
>>> len(t), t[84].filename, t[84].local_index, t[84].steps[1].op
(90, 'zero_hop.json', 0, 'filter_count')
>>> FAMILY_OFFSETS["single_and.json"]
59
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from clevrlang.language.errors import DataError
from clevrlang.language.vocabulary import (
    ATTRIBUTES, BOOL_ANSWERS, CLEVR_TYPE_NAMES, COUNT_ANSWERS, ENUMS, FUNCTIONS, MACROS,
    SYNONYMS, Type,
)

TEMPLATE_DIR = "data/clevr/CLEVR_1.0_templates"
#: What a filter slot left empty means in the text and the ``vals`` (CLEVR's convention).
NULL_SHAPE, NULL_OTHER = "thing", ""
#: The attribute types of a filter macro's four value slots, in CLEVR's key order.
_FILTER_TYPES = tuple(ATTRIBUTES)
#: A macro's output type -> the primitive CLEVR appends after its filters.
_MACRO_FINAL = {Type.OBJECT: "unique", Type.INT: "count", Type.BOOL: "exist", Type.OBJECTS: None}


@dataclass(frozen=True)
class Step:
    """One template node, compiled.

    ``kind`` is ``filter`` (filter / filter_unique / filter_count / filter_exist macros),
    ``relate_filter`` (the relate_filter* macros), ``param`` (a primitive with one value
    slot: relate or filter_<attr>) or ``plain`` (no value slot).
    """

    index: int
    op: str  # the template node's type
    kind: str
    inputs: tuple[int, ...]  # template node indices
    final: str | None = None  # macros: unique / count / exist appended after the filters
    slots: tuple[str, ...] = ()  # macros: the four filter parameter names, CLEVR key order
    relation: str | None = None  # relate_filter*: the Relation parameter name
    param: str | None = None  # param steps: the parameter name
    domain: tuple[str, ...] = ()  # param steps: the values it may take, CLEVR's order
    null: tuple[bool, ...] = ()  # per slot (macros) or (param,): must be left empty
    out_neq: tuple[int, ...] = ()  # earlier nodes whose output must differ from this one's


@dataclass(frozen=True)
class Template:
    """One question family: its steps, texts and the bookkeeping the search needs."""

    family: int  # global question_family_index, 0-89
    filename: str
    local_index: int
    text: tuple[str, ...]
    param_types: dict  # parameter name -> CLEVR type name ("Size", "Relation", ...)
    steps: tuple[Step, ...]
    answers: tuple[str, ...]  # every possible answer, in CLEVR's count-table order
    relates: tuple[int, ...]  # raw relate steps (checked for degeneracy)
    depends: tuple[frozenset, ...]  # per raw relate: the steps whose output it reaches
    need: tuple[tuple[int, ...], ...]  # per step t: earlier outputs steps >= t still read

    @property
    def question_type(self) -> str:
        return _primitive_type(self.steps[-1].op)


def _primitive_type(op: str) -> str:
    """The question type (last primitive) a template's last node stands for."""
    if op in MACROS:
        return _MACRO_FINAL[CLEVR_TYPE_NAMES[MACROS[op]["output"]]] or "filter"
    return op


def _output_type(op: str) -> Type:
    return CLEVR_TYPE_NAMES[MACROS[op]["output"]] if op in MACROS else FUNCTIONS[op].output


def _answers(op: str) -> tuple[str, ...]:
    t = _output_type(op)
    if t is Type.BOOL:
        return BOOL_ANSWERS
    if t is Type.INT:
        return COUNT_ANSWERS
    return ENUMS[t]


def _compile_step(i: int, node: dict, types: dict, nulls: set, out_neq: dict, where: str) -> Step:
    op, inputs = node["type"], tuple(node["inputs"])
    names = tuple(node.get("side_inputs", ()))
    neq = tuple(sorted(out_neq.get(i, ())))
    if op in MACROS:
        relation = names[0] if op.startswith("relate") else None
        slots = names[1:] if relation else names
        if tuple(types[s].lower() for s in slots) != _FILTER_TYPES:
            raise DataError(f"node {i} ({op}): filter slots must be size, color, material, "
                            f"shape in that order, found {slots}", where=where)
        final = _MACRO_FINAL[_output_type(op)]
        return Step(i, op, "relate_filter" if relation else "filter", inputs, final, slots,
                    relation, null=tuple(s in nulls for s in slots), out_neq=neq)
    if op not in FUNCTIONS or not FUNCTIONS[op].clevr:
        raise DataError(f"node {i}: unknown function {op!r}", where=where)
    if names:
        if len(names) != 1:
            raise DataError(f"node {i} ({op}): one value slot expected", where=where)
        domain = ENUMS[CLEVR_TYPE_NAMES[types[names[0]]]]
        return Step(i, op, "param", inputs, param=names[0], domain=domain,
                    null=(names[0] in nulls,), out_neq=neq)
    return Step(i, op, "plain", inputs, out_neq=neq)


def _needs(steps: tuple[Step, ...]) -> tuple[tuple[int, ...], ...]:
    """For each t, the outputs of steps < t that the steps >= t read (plus step t-1's,
    which the next macro draws its options from): the key of a sub-search's outcome."""
    need = []
    for t in range(len(steps) + 1):
        used = {j for s in steps[t:] for j in s.inputs + s.out_neq if j < t}
        if t:
            used.add(t - 1)
        need.append(tuple(sorted(used)))
    return tuple(need)


def _depends(steps: tuple[Step, ...], root: int) -> frozenset:
    reach = {root}
    for s in steps[root + 1:]:
        if any(j in reach for j in s.inputs):
            reach.add(s.index)
    return frozenset(reach)


def compile_template(raw: dict, family: int, filename: str, local_index: int) -> Template:
    where = f"{TEMPLATE_DIR}/{filename}[{local_index}]"
    types = {p["name"]: p["type"] for p in raw["params"]}
    nulls, out_neq = set(), {}
    for c in raw["constraints"]:
        if c["type"] == "NULL":
            nulls.add(c["params"][0])
        elif c["type"] == "OUT_NEQ":
            i, j = sorted(c["params"])
            out_neq.setdefault(j, set()).add(i)
        else:  # CLEVR's generator also knows NEQ, but no CLEVR 1.0 template uses it
            raise DataError(f"unsupported constraint type {c['type']!r}", where=where)
    steps = tuple(_compile_step(i, n, types, nulls, out_neq, where)
                  for i, n in enumerate(raw["nodes"]))
    relates = tuple(s.index for s in steps if s.op == "relate")
    return Template(
        family=family, filename=filename, local_index=local_index, text=tuple(raw["text"]),
        param_types=types, steps=steps, answers=_answers(steps[-1].op), relates=relates,
        depends=tuple(_depends(steps, r) for r in relates), need=_needs(steps),
    )


def _template_files() -> list[tuple[str, list]]:
    folder = resources.files("clevrlang").joinpath(TEMPLATE_DIR)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    return [(n, json.loads(folder.joinpath(n).read_text())) for n in names]


@cache
def load_templates() -> tuple[Template, ...]:
    """All 90 families, in global ``question_family_index`` order."""
    out = []
    for filename, raws in _template_files():
        for i, raw in enumerate(raws):
            out.append(compile_template(raw, len(out), filename, i))
    return tuple(out)


def _offsets() -> dict[str, int]:
    offsets: dict[str, int] = {}
    for t in load_templates():
        offsets.setdefault(t.filename, t.family)
    return offsets


FAMILY_OFFSETS: dict[str, int] = _offsets()


def family_index(filename: str, local_index: int) -> int:
    """The global family index of CLEVR's (template file, index in file) pair."""
    return FAMILY_OFFSETS[filename] + local_index


# -- English ---------------------------------------------------------------------------------

_OPTIONAL = re.compile(r"\[([^\[]*)\]")
_ARTICLE = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")
_PAIRS = (("<Z>", "<Z2>"), ("<C>", "<C2>"), ("<M>", "<M2>"), ("<S>", "<S2>"))
_PAIR_KEYS = frozenset(k for pair in _PAIRS for k in pair)


def render_text(text: str, vals: dict[str, str], rng) -> str:
    """A template text with its slots filled as CLEVR does, plus the "an" fix.

    Each value is replaced by a random synonym (one draw per slot), each ``[optional]``
    part is kept with probability 1/2, whitespace is collapsed, and "other"/"another" is
    dropped when the two objects' descriptions differ (CLEVR's heuristic). Beyond CLEVR,
    "a" before a vowel becomes "an" (CLEVR writes "Is there a object?").

    >>> import random
    >>> render_text("Is there a <Z> <C> <M> <S>?", {"<Z>": "", "<C>": "", "<M>": "",
    ...             "<S>": "thing"}, random.Random(0))
    'Is there an object?'
    """
    for name, val in vals.items():
        if val in SYNONYMS:
            val = rng.choice(SYNONYMS[val])
        text = text.replace(name, val)
    text = " ".join(text.split())
    while (m := _OPTIONAL.search(text)) is not None:
        keep = m.group(1) if rng.random() > 0.5 else ""
        text = text[: m.start()] + keep + text[m.end():]
    text = " ".join(text.split())
    text = _other_heuristic(text, vals)
    return _ARTICLE.sub(r"\1n ", text)


def _other_heuristic(text: str, vals: dict[str, str]) -> str:
    """CLEVR drops "other" when the two objects of a same-attribute question are described
    differently ("any other red cubes ... as the blue sphere" is wrong)."""
    if (" other " not in text and " another " not in text) or vals.keys() != _PAIR_KEYS:
        return text
    if any(vals[a] != "" and vals[b] != "" and vals[a] != vals[b] for a, b in _PAIRS):
        text = text.replace(" other ", " ").replace(" another ", " a ")
    return text
