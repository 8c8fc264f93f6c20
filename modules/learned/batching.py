"""A dataset's programs as arrays, so a training batch's plan is assembled by indexing.

:func:`.compiler.compile_batch` walks every program of a batch in Python (~0.2 s for 256
CLEVR questions on this CPU, more than the network's step on a GPU). Training draws a new
mix of questions every step, so its plans never repeat; what repeats is each question. A
:class:`ProgramTable` walks each program once, for the whole dataset: every distinct node
gets a number, with its depth, token rank and inputs, and each question its post-order list
of node numbers. A batch's plan is then a few NumPy sorts and lookups (:meth:`plan`), the
same plan :func:`~.compiler.compile_batch` builds (the tests compare them), and its set and
count targets come from the object sets found once per world (:meth:`ProgramTable.targets`).

>>> from clevrlang import parse
>>> nodes = [parse("count(filter[red](scene()))").node,
...          parse("exist(filter[cube](filter[red](scene())))").node]
>>> plan = ProgramTable(nodes).plan(np.array([0, 1]), np.array([0, 0]))
>>> [(s.token, s.size) for s in plan.steps]
[('filter_color[red]', 1), ('filter_shape[cube]', 1), ('count', 1), ('exist', 1)]
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch

from clevrlang.language.ir import Node, postorder
from clevrlang.language.vocabulary import Type
from clevrlang.modules.learned.compiler import (_TOKEN_ORDER, Gather, Plan, Step, answer_kind,
                                                check)
from clevrlang.modules.learned.modules import SCENE, token_of

SET_TYPES = (Type.OBJECTS, Type.OBJECT)
_LONG = torch.long


class ProgramTable:
    """Every distinct non-scene node of ``roots`` numbered, and each root's post-order list.

    Arrays per node: ``depth``, ``rank`` (token order), ``inputs`` (n, 2; -1 for the scene
    or no input), ``is_set``; per root: ``start`` (offsets into ``flat``, the concatenated
    post-order lists) and ``kind`` (answer type). ``bits`` (aligned with ``flat``, set by
    :meth:`attach_sets`) holds each set node's objects on its question's scene.
    """

    def __init__(self, roots: Sequence[Node]):
        number: dict[Node, int] = {}
        nodes: list[Node] = []
        walks: dict[Node, list[int]] = {}  # root -> its list (questions repeat programs)
        flat: list[int] = []
        start = [0]
        for root in roots:
            walk = walks.get(root)
            if walk is None:
                walk = walks[root] = []
                for n in postorder([root]):
                    if n.op == SCENE:
                        continue
                    if n not in number:
                        number[n] = len(nodes)
                        nodes.append(n)
                    walk.append(number[n])
            flat.extend(walk)
            start.append(len(flat))
        self.nodes = nodes
        self.number = number
        self.root_nodes = list(roots)
        # compile_batch raises for these; the fast path leaves them to it
        self.runs = np.asarray([check(r) is None for r in roots], bool)
        self.flat = np.asarray(flat, np.int64)
        self.start = np.asarray(start, np.int64)
        self.roots = np.asarray([number.get(r, -1) for r in roots], np.int64)
        self.kind = np.asarray([answer_kind(r) for r in roots], np.int64)
        self.depth = np.asarray([n.depth for n in nodes], np.int64)
        self.rank = np.asarray([_TOKEN_ORDER.get(token_of(n), -1) for n in nodes], np.int64)
        self.tokens = [token_of(n) for n in nodes]
        self.inputs = np.full((len(nodes), 2), -1, np.int64)
        for i, n in enumerate(nodes):
            for j, x in enumerate(n.inputs):
                self.inputs[i, j] = -1 if x.op == SCENE else number[x]
        self.arity = np.asarray([len(n.inputs) for n in nodes], np.int64)
        self.is_set = np.asarray([n.type in SET_TYPES for n in nodes], bool)
        self.bits: np.ndarray | None = None

    ARRAYS = ("runs", "flat", "start", "roots", "kind", "depth", "rank", "inputs", "arity",
              "is_set")

    def arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`restore` needs besides the nodes (a world's cache stores them)."""
        return {k: getattr(self, k) for k in self.ARRAYS}

    @classmethod
    def restore(cls, arrays: dict, nodes: list[Node], roots: Sequence[Node],
                bits: np.ndarray | None = None) -> "ProgramTable":
        """The table :meth:`arrays` came from, without walking a program: ``nodes`` are
        the table's nodes in its numbering, ``roots`` the questions' programs."""
        table = cls.__new__(cls)
        for k in cls.ARRAYS:
            setattr(table, k, np.asarray(arrays[k]))
        table.nodes, table.root_nodes, table.bits = nodes, list(roots), bits
        table.number = {n: i for i, n in enumerate(nodes)}
        table.tokens = [token_of(n) for n in nodes]
        return table

    def subset(self, questions) -> "ProgramTable":
        """The table of ``questions`` (indices of its roots), sharing the nodes."""
        q = np.asarray(questions, np.int64)
        lengths = self.start[q + 1] - self.start[q]
        pos = np.repeat(self.start[q] - np.cumsum(lengths) + lengths, lengths) \
            + np.arange(int(lengths.sum()))
        table = copy.copy(self)
        table.flat, table.start = self.flat[pos], np.concatenate([[0], np.cumsum(lengths)])
        table.roots, table.kind, table.runs = self.roots[q], self.kind[q], self.runs[q]
        table.root_nodes = [self.root_nodes[i] for i in q.tolist()]
        table.bits = None if self.bits is None else self.bits[pos]
        return table

    def plan(self, questions: np.ndarray, slots: np.ndarray, device=None) -> Plan:
        """The plan of ``questions`` (indices of this table's roots), question i on image
        ``slots[i]``: equal to ``compile_batch`` of their roots and slots, built on ``device``."""
        plan, _ = self._assemble(np.asarray(questions, np.int64), np.asarray(slots, np.int64),
                                 device)
        return plan

    def _assemble(self, questions: np.ndarray, slots: np.ndarray, device=None):
        if not self.runs[questions].all():
            from clevrlang.modules.learned.compiler import compile_batch

            plan = compile_batch([self.root_nodes[q] for q in questions], slots.tolist())
            return plan.to(device or "cpu"), None
        lengths = self.start[questions + 1] - self.start[questions]
        first = np.repeat(self.start[questions] - np.cumsum(lengths) + lengths, lengths)
        pos = first + np.arange(int(lengths.sum()))  # into flat, in post-order per question
        slot = np.repeat(slots, lengths)
        node = self.flat[pos]
        n_nodes = max(1, len(self.nodes))
        key = slot * n_nodes + node
        _, once = np.unique(key, return_index=True)
        once.sort()  # first occurrences, in the order compile_batch meets them
        order = np.lexsort((self.rank[node[once]], self.depth[node[once]]))  # stable
        pick = once[order]  # flat positions of the instances, in step order
        i_slot, i_node = slot[pick], node[pick]
        d, r = self.depth[i_node], self.rank[i_node]
        edge = np.flatnonzero((d[1:] != d[:-1]) | (r[1:] != r[:-1])) + 1
        bounds = np.concatenate([[0], edge, [len(pick)]])
        group = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        row = np.arange(len(pick)) - bounds[group]
        sorter = np.argsort(i_slot * n_nodes + i_node)
        keys = (i_slot * n_nodes + i_node)[sorter]

        def locate(s: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """(source, row) of instance (slot, node), the stem's row for the scene."""
            at = sorter[np.searchsorted(keys, s * n_nodes + np.maximum(n, 0))]
            scene = n < 0
            return np.where(scene, -1, group[at]), np.where(scene, s, row[at])

        # Gathers: per step its inputs then its image, then the roots; one entry per row.
        n_images = int(slots.max(initial=-1)) + 1
        lead = i_node[bounds[:-1]]  # a node of each step (one token: one arity)
        step_arity = self.arity[lead]
        base = np.concatenate([[0], np.cumsum(step_arity + 1)])
        arity = step_arity[group]
        src, loc, gid = [], [], []
        for j in range(2):
            m = arity > j
            s_, l_ = locate(i_slot[m], self.inputs[i_node[m], j])
            src.append(s_), loc.append(l_), gid.append(base[group[m]] + j)
        src.append(np.full(len(pick), -1)), loc.append(i_slot), gid.append(base[group] + arity)
        s_, l_ = locate(slots, self.roots[questions])
        src.append(s_), loc.append(l_), gid.append(np.full(len(slots), base[-1]))
        sizes = np.concatenate([[n_images], np.diff(bounds)])  # by source + 1
        gathers = _gathers(np.concatenate(src), np.concatenate(loc), np.concatenate(gid),
                           int(base[-1]) + 1, sizes, device)
        steps = tuple(Step(self.tokens[n], int(self.depth[n]), int(sizes[k + 1]),
                           tuple(gathers[base[k]:base[k] + step_arity[k]]),
                           gathers[base[k] + step_arity[k]])
                      for k, n in enumerate(lead.tolist()))
        kinds = torch.from_numpy(self.kind[questions].copy()).to(device)
        plan = Plan(n_images, steps, gathers[-1], kinds,
                    _Instances(self, n_images, i_slot, i_node), _Where(n_images, group, row))
        return plan, (pos[pick], bounds, i_slot, i_node)

    # -- set supervision ----------------------------------------------------------------
    def attach_sets(self, scenes, image_ids: np.ndarray) -> None:
        """Find each set node's objects (bitmask) on its question's scene: one symbolic run
        per image over all its questions (shared sub-programs once)."""
        from clevrlang.modules.symbolic import SceneInterpreter
        from clevrlang.scene import Scene

        bits = np.zeros(len(self.flat), np.int64)
        by_image: dict[int, list[int]] = {}
        for q, image in enumerate(np.asarray(image_ids).tolist()):
            by_image.setdefault(image, []).append(q)
        for image, questions in by_image.items():
            scene = scenes[image]
            interp = SceneInterpreter(scene if isinstance(scene, Scene) else Scene(scene))
            values = interp.run([self.nodes[self.roots[q]] for q in questions])
            for q in questions:
                a, b = self.start[q], self.start[q + 1]
                for p in range(a, b):
                    n = self.nodes[self.flat[p]]
                    if n.type in SET_TYPES:
                        v = values[n]
                        bits[p] = (1 << v) if n.type is Type.OBJECT else v
        self.bits = bits

    def targets(self, questions, slots, owners: np.ndarray, centres: np.ndarray | None,
                device=None):
        """The plan and, per step, the set head's and count head's target maps (None for
        steps that yield no objects; no count maps without ``centres``).

        ``owners`` (n_images, h, w) and ``centres`` (n_images, k) -- each image's object
        centre cells as flat indices, -1 padded -- are indexed by the plan's image slots.
        """
        if self.bits is None:
            raise ValueError("set targets need the scenes' object sets (attach_sets)")
        plan, made = self._assemble(np.asarray(questions, np.int64), np.asarray(slots, np.int64),
                                    device)
        at, bounds, i_slot, i_node = made  # at: each instance's place in flat
        set_rows = np.flatnonzero(self.is_set[i_node])
        bits = self.bits[at[set_rows]]
        owner = owners[i_slot[set_rows]]
        most = int(owner.max(initial=0))
        member = np.zeros((len(set_rows), most + 1), np.float32)  # column 0: no object
        member[:, 1:] = (bits[:, None] >> np.arange(most)) & 1
        marks = member[np.arange(len(set_rows))[:, None, None], owner]
        maps = _per_step(torch.from_numpy(marks).to(device), set_rows, bounds)
        if centres is None:
            return plan, maps, None
        cells = centres[i_slot[set_rows]]
        chosen = ((bits[:, None] >> np.arange(cells.shape[1])) & 1).astype(bool) & (cells >= 0)
        density = np.zeros((len(set_rows), owners.shape[1] * owners.shape[2]), np.float32)
        np.add.at(density, (np.nonzero(chosen)[0], cells[chosen]), 1.0)
        density = density.reshape(len(set_rows), *owners.shape[1:])
        return plan, maps, _per_step(torch.from_numpy(density).to(device), set_rows, bounds)


def _per_step(maps: torch.Tensor, rows: np.ndarray, bounds: np.ndarray) -> list:
    """Split the set instances' maps (rows in step order) into one tensor per step."""
    steps = np.searchsorted(bounds, rows, side="right") - 1
    out: list = [None] * (len(bounds) - 1)
    counts = np.bincount(steps, minlength=len(out))
    for k, piece in zip(np.flatnonzero(counts), maps.split(counts[counts > 0].tolist())):
        out[k] = piece
    return out


def _gathers(src, loc, gid, n_gathers: int, sizes: np.ndarray, device) -> list[Gather]:
    """:meth:`Gather.of` for every gather of a batch at once. Entry e reads row ``loc[e]``
    of source ``src[e]`` (-1: the stem) into gather ``gid[e]``; ``sizes[src + 1]`` is the
    source's row count. A gather's pieces go per source in order of first use, then a
    permutation puts them back in place (None when they already are). All index tensors
    are views of one buffer, so a plan reaches a device in one copy."""
    e = np.argsort(gid, kind="stable")  # entries by gather, row order kept
    src, loc, gid = src[e], loc[e], gid[e]
    n = len(gid)
    start = np.searchsorted(gid, np.arange(n_gathers + 1))
    pos = np.arange(n) - start[gid]
    part_key = gid * (len(sizes) + 1) + src + 1
    _, first, inverse = np.unique(part_key, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))  # parts in order of first use
    part = rank[inverse.ravel()]
    perm = np.argsort(part, kind="stable")
    rows = loc[perm]
    part_start = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=len(first)))])
    part_src = src[perm[part_start[:-1]]]
    part_gid = gid[perm[part_start[:-1]]]
    within = np.arange(n) - part_start[part[perm]]
    mismatch = np.add.reduceat((rows != within).astype(np.int64), part_start[:-1]) \
        if n else np.zeros(0, np.int64)
    whole = (mismatch == 0) & (np.diff(part_start) == sizes[part_src + 1])
    order = np.empty(n, np.int64)
    order[perm] = np.arange(n)
    order -= start[gid]
    moved = np.bincount(gid[order != pos], minlength=n_gathers) > 0
    buffer = torch.from_numpy(np.concatenate([rows, order])).to(device)
    first_part = np.searchsorted(part_gid, np.arange(n_gathers + 1)).tolist()
    # Python scalars and one split into views: per-element indexing is what costs here.
    p_src, p_whole = part_src.tolist(), whole.tolist()
    views = buffer.split(np.diff(part_start).tolist() + np.diff(start).tolist())
    n_parts, g_moved = len(p_src), moved.tolist()
    out = []
    for g in range(n_gathers):
        parts = tuple((p_src[p], None if p_whole[p] else views[p])
                      for p in range(first_part[g], first_part[g + 1]))
        out.append(Gather(parts, views[n_parts + g] if g_moved[g] else None))
    return out


class _Instances(Sequence):
    """Plan.instances, built only when read (traces; training never reads it)."""

    def __init__(self, table, n_images, slot, node):
        self._args = (table, n_images, slot, node)
        self._items = None

    def _get(self):
        if self._items is None:
            table, n_images, slot, node = self._args
            scene = Node.make(SCENE)
            self._items = [(s, scene) for s in range(n_images)] + \
                [(s, table.nodes[n]) for s, n in zip(slot.tolist(), node.tolist())]
        return self._items

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self):
        return len(self._get())


class _Where(Sequence):
    """Plan.where, built only when read."""

    def __init__(self, n_images, group, row):
        self._args = (n_images, group, row)
        self._items = None

    def __getitem__(self, i):
        if self._items is None:
            n, group, row = self._args
            self._items = [(-1, s) for s in range(n)] + list(zip(group.tolist(), row.tolist()))
        return self._items[i]

    def __len__(self):
        n, group, _ = self._args
        return n + len(group)

