"""Depth-first instantiation of one CLEVR template on one scene, on bitmask object sets.

This is CLEVR's ``instantiate_templates_dfs`` (generate_questions.py) with the same rules and
a faster engine:

* values are Python ints: an object set is a bitmask, an object its index; each step is run
  once when it is chosen (partial execution), not by re-running the whole program;
* a choice that makes ``unique`` ambiguous, breaks a ``NULL`` or ``OUT_NEQ`` constraint, or
  (at the end) gives an answer the balance forbids or a degenerate question is pruned
  exactly where CLEVR prunes it;
* a sub-search that failed is remembered by the outputs its remaining steps read (and, for
  templates with a raw ``relate``, the same outputs with each relate replaced by the whole
  scene, which decide degeneracy), so an equal sub-search is not run again. To make that
  exact, the random extra options CLEVR adds (filters matching nothing, trivial relate
  filters) are drawn once per (step, input) within a search, not anew on every visit.

Children are visited in a uniformly random order (CLEVR shuffles, then pops from a stack),
drawn lazily, so a search that succeeds early does not shuffle what it never visits.
"""

from __future__ import annotations

from functools import cached_property

from clevrlang.language import semantics
from clevrlang.language.vocabulary import (ATTRIBUTE_TYPES, ATTRIBUTES, ENUMS, FUNCTIONS, RELATIONS,
                                  function_for, render_value)
from clevrlang.scene import Scene
from clevrlang.world.templates import NULL_OTHER, NULL_SHAPE, Step, Template

INVALID = None  # the value of a step whose unique failed
_NULL_KEY = (None, None, None, None)
_TRIVIAL_FRACTION = 0.1  # CLEVR's trivial_frac for relate filters


class SceneIndex:
    """One scene's tables as Python ints: attribute masks, relations, CLEVR's filter keys.

    ``table`` lists CLEVR's filter options: every (size, color, material, shape) key with
    ``None`` for "any" that matches at least one object, with its object mask, in the order
    CLEVR's ``precompute_filter_options`` first meets them.
    """

    def __init__(self, scene: Scene):
        n = scene.n
        self.n, self.full = n, (1 << n) - 1
        codes = scene.codes.tolist()
        masks = scene.attr_masks.tolist()
        domains = [ENUMS[ATTRIBUTE_TYPES[a]] for a in ATTRIBUTES]
        self.values = [tuple(domains[a][c] for a, c in enumerate(row)) for row in codes]
        self.attr_mask = [{v: masks[a][k] for k, v in enumerate(d)} for a, d in enumerate(domains)]
        self.relate = {rel: scene.relate[r].tolist() for r, rel in enumerate(RELATIONS)}
        self.row = semantics.scene_row(scene)  # what the functions read (language.semantics)
        table: dict[tuple, int] = {}
        for vals in self.values:
            for m in range(16):
                key = tuple(v if m >> a & 1 else None for a, v in enumerate(vals))
                if key not in table:
                    table[key] = self.key_mask(key)
        self.table = list(table.items())

    def key_mask(self, key: tuple) -> int:
        mask = self.full
        for a, v in enumerate(key):
            if v is not None:
                mask &= self.attr_mask[a][v]
        return mask

    @cached_property
    def random_keys(self) -> list[tuple[tuple, int]]:
        """Every key CLEVR's random option can draw (each attribute's values or None), so a
        uniform pick from this list is CLEVR's draw."""
        sizes, colors, materials, shapes = (
            list(masks.items()) + [(None, self.full)] for masks in self.attr_mask)
        return [((s, c, m, h), ms & mc & mm & mh) for s, ms in sizes for c, mc in colors
                for m, mm in materials for h, mh in shapes]

    def random_key(self, rng) -> tuple[tuple, int]:
        """CLEVR's "empty" filter option: each attribute uniform over its values or None
        (CLEVR draws these lazily, so they need not be empty)."""
        keys = self.random_keys
        return keys[int(rng.random() * len(keys))]


def _final(kind: str | None, r: int):
    """A filter step's closing function (unique, count, exist, or none) on its set."""
    return r if kind is None else semantics.evaluate(FUNCTIONS[kind], None, (), (r,))


class Search:
    """One template on one scene; :meth:`run` returns True when an instance was found.

    ``choice[t]`` then holds each step's choice: a filter key, a (relation, key) pair, a
    parameter value, or None; ``out[t]`` each step's output.
    """

    def __init__(self, template: Template, index: SceneIndex, allowed: set, rng):
        self.tpl, self.idx, self.allowed, self.rng = template, index, allowed, rng
        n = len(template.steps)
        self.out: list = [None] * n
        self.choice: list = [None] * n
        self.shadow = [[None] * n for _ in template.relates]
        self.failed: set = set()
        self.options: dict = {}

    def run(self) -> bool:
        return self._visit(0)

    # -- the search --------------------------------------------------------------------------
    def _visit(self, t: int) -> bool:
        steps = self.tpl.steps
        if t == len(steps):
            return self._accept()
        step, out, failed, need = steps[t], self.out, self.failed, self.tpl.need[t + 1]
        shadows = self.shadow
        for opt in self._shuffled(self._candidates(step, t)):
            v = self._apply(step, opt, out, t)
            if v is INVALID or (step.out_neq and any(out[j] == v for j in step.out_neq)):
                continue
            out[t], self.choice[t] = v, opt
            for r, sh in enumerate(shadows):
                sh[t] = self._shadow(r, step, opt, t)
            key = (t, tuple([out[j] for j in need]),
                   tuple([tuple([sh[j] for j in need]) for sh in shadows]) if shadows else ())
            if key in failed:
                continue
            if self._visit(t + 1):
                return True
            failed.add(key)
        return False

    def _accept(self) -> bool:
        answer = self.out[-1]
        if render_value(answer) not in self.allowed:
            return False
        # CLEVR's is_degenerate: replacing a relate by the whole scene changes nothing.
        return not any(sh[-1] is not INVALID and sh[-1] == answer for sh in self.shadow)

    def _shuffled(self, items: list):
        """``items`` in uniformly random order, drawn lazily (Fisher-Yates)."""
        items = list(items)
        n, random = len(items), self.rng.random
        for i in range(n):
            j = i + int(random() * (n - i))
            items[i], items[j] = items[j], items[i]
            yield items[i]

    # -- options -----------------------------------------------------------------------------
    def _candidates(self, step: Step, t: int) -> list:
        if step.kind == "plain":
            return [None]
        if step.kind == "param":
            return [] if step.null[0] else list(step.domain)
        last = self.out[t - 1]
        cache_key = (t, last)
        opts = self.options.get(cache_key)
        if opts is None:
            opts = (self._filter_options(step, last) if step.kind == "filter"
                    else self._relate_options(step, last))
            nulls = [a for a, z in enumerate(step.null) if z]
            if nulls:  # NULL constraints: those slots must stay empty
                opts = [o for o in opts if all(o[-2][a] is None for a in nulls)]
            self.options[cache_key] = opts
        return opts

    def _filter_options(self, step: Step, objs: int) -> list:
        """CLEVR's find_filter_options on the previous step's output, plus its extras."""
        table = self.idx.table
        if step.final == "unique":
            return [(k, m) for k, m in table if (objs & m).bit_count() == 1]
        opts = [(k, m) for k, m in table if not (step.final is None and k == _NULL_KEY)]
        if step.final == "exist":
            extra = len(opts)  # as many options that (likely) match nothing
        else:  # filter, count: as many as there are singletons
            extra = sum(1 for _, m in opts if (objs & m).bit_count() == 1)
        return opts + [self.idx.random_key(self.rng) for _ in range(extra)]

    def _relate_options(self, step: Step, obj: int) -> list:
        """CLEVR's find_relate_filter_options: (relation, key) pairs whose filter changes
        the related set, plus about 10 % trivial ones."""
        unique = step.final == "unique"
        zero = step.final in ("count", "exist")
        keep, trivial = [], []
        for rel, related in self.idx.relate.items():
            rel_mask = related[obj]
            for k, m in self.idx.table:
                inter = rel_mask & m
                c = inter.bit_count()
                if (unique and c != 1) or (not zero and c == 0):
                    continue
                (trivial if inter == m else keep).append((rel, k, m))
        n_trivial = int(round(len(keep) * _TRIVIAL_FRACTION / (1 - _TRIVIAL_FRACTION)))
        return keep + self.rng.sample(trivial, min(n_trivial, len(trivial)))

    # -- execution ---------------------------------------------------------------------------
    def _apply(self, step: Step, opt, vals: list, t: int):
        """The output of ``step`` with choice ``opt`` given the outputs ``vals``."""
        kind, idx = step.kind, self.idx
        if kind == "filter":
            key, m = opt
            if step.final is None and key == _NULL_KEY:
                return vals[t - 1]  # CLEVR maps a filter with no filters to the last node
            x = vals[step.inputs[0]]
            return INVALID if x is INVALID else _final(step.final, x & m)
        xs = [vals[j] for j in step.inputs]
        if INVALID in xs:
            return INVALID
        if kind == "relate_filter":
            rel, _, m = opt
            return _final(step.final, idx.relate[rel][xs[0]] & m)
        return semantics.evaluate(FUNCTIONS[step.op], idx.row,
                                  (opt,) if kind == "param" else (), xs)

    def _shadow(self, r: int, step: Step, opt, t: int):
        """Step ``t``'s output when raw relate number ``r`` is replaced by scene()."""
        if t == self.tpl.relates[r]:
            return self.idx.full
        if t not in self.tpl.depends[r]:
            return self.out[t]
        return self._apply(step, opt, self.shadow[r], t)

    # -- results -----------------------------------------------------------------------------
    def vals(self) -> dict[str, str]:
        """Each template parameter's value, CLEVR's way (empty filters: "" or "thing")."""
        vals: dict[str, str] = {}
        for step, opt in zip(self.tpl.steps, self.choice):
            if step.kind == "param":
                vals[step.param] = opt
            elif step.kind in ("filter", "relate_filter"):
                if step.relation:
                    vals[step.relation] = opt[0]
                for name, attr, v in zip(step.slots, ATTRIBUTES, opt[-2]):
                    vals[name] = v if v is not None else (NULL_SHAPE if attr == "shape"
                                                          else NULL_OTHER)
        return vals

    def program(self) -> list[dict]:
        """The chosen instance as CLEVR's node list (released keys), in the order CLEVR's
        generator builds it: each template node expands to relate, filters, then
        unique/count/exist."""
        prog: list[dict] = []
        pos: list[int] = []

        def add(fn: str, inputs: list[int], values: list[str]) -> None:
            prog.append({"function": fn, "inputs": inputs, "value_inputs": values})

        for step, opt in zip(self.tpl.steps, self.choice):
            if step.kind in ("filter", "relate_filter"):
                base = pos[step.inputs[0]]
                prev, start = base, len(prog)
                if step.relation:
                    add("relate", [prev], [opt[0]])
                    prev = len(prog) - 1
                for attr, v in zip(ATTRIBUTES, opt[-2]):
                    if v is not None:
                        add(function_for("filter", attr).name, [prev], [v])
                        prev = len(prog) - 1
                if step.final:
                    add(step.final, [base + len(prog) - start], [])
            else:
                add(step.op, [pos[j] for j in step.inputs], [opt] if step.kind == "param" else [])
            pos.append(len(prog) - 1)
        return prog
