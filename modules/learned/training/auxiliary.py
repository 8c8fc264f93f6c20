"""Auxiliary set supervision: every module that yields objects also learns *where* they are.

Johnson et al. train their modules from answers alone; on a CPU budget that spends
thousands of steps on a plateau at the answer priors. Our world knows, for every node of
every training program, the exact object set (the symbolic executor on the scene graph)
and which object covers each feature cell (the instance mask). With ``aux_weight > 0`` a
1x1 convolution (``NMN.sets``) reads each Objects/Object module's output map and is trained,
with binary cross entropy, to mark the cells of that node's objects. The modules, stem and
classifier are unchanged, and inference never uses the head (``explain`` may draw it).

A set head marks every cell an object covers, so a large object weighs more than a small one
and touching objects merge: no good basis for counting. With a *count head*
(``NMN.density``, config ``count_head``) a second 1x1 convolution learns a density map: per
cell, how many of the node's objects have their centre (CLEVR's ``pixel_coords``) there. Its
sum over the cells is the set's size, so a count is a linear read-out of the features that
mean pooling preserves (crowd counting's density maps, after Lempitsky and Zisserman 2010).

>>> mask = np.zeros((4, 4), np.uint8); mask[:2, 2:] = 1
>>> cell_owners(mask, (2, 2)).tolist()
[[0, 1], [0, 0]]
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from clevrlang.language.vocabulary import Type
from clevrlang.modules.symbolic import SceneInterpreter

SET_TYPES = (Type.OBJECTS, Type.OBJECT)
_BITS = 1 << np.arange(63, dtype=np.int64)


def cell_owners(mask: np.ndarray, grid: tuple[int, int], cover: float = 0.1) -> np.ndarray:
    """(h, w) uint8: for each cell of a ``grid`` laid over ``mask``, the object (instance id
    i + 1) covering most of it, if it covers at least ``cover`` of the cell, else 0.

    Small objects rarely cover most of a cell, so objects win over background from ``cover``.
    """
    h, w = grid
    ys = np.linspace(0, mask.shape[0], h + 1).astype(int)
    xs = np.linspace(0, mask.shape[1], w + 1).astype(int)
    n = int(mask.max())
    if n == 0:
        return np.zeros(grid, np.uint8)
    counts = np.stack([np.add.reduceat(np.add.reduceat((mask == k).astype(np.int32), ys[:-1], 0),
                                       xs[:-1], 1) for k in range(1, n + 1)])
    area = np.diff(ys)[:, None] * np.diff(xs)[None, :]
    best = counts.argmax(0)
    enough = counts.max(0) >= cover * area
    return np.where(enough, best + 1, 0).astype(np.uint8)


def centre_cells(objects: list, image_size: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """(n, 2) int: the (row, column) of the ``grid`` cell holding each object's projected
    centre (``pixel_coords`` in an image of ``image_size`` = (width, height)), clipped to
    the grid.

    >>> centre_cells([{"pixel_coords": [479, 0, 9.0]}, {"pixel_coords": [100, 200]}],
    ...              (480, 320), (12, 16)).tolist()
    [[0, 15], [7, 3]]
    """
    (width, height), (h, w) = image_size, grid
    out = np.zeros((len(objects), 2), np.int64)
    for i, obj in enumerate(objects):
        x, y = obj["pixel_coords"][:2]
        out[i] = (min(h - 1, max(0, int(y * h / height))), min(w - 1, max(0, int(x * w / width))))
    return out


def centre_index(centres: list, width: int) -> np.ndarray:
    """(n_images, most objects) int: each object's centre cell as a flat index into an
    ``h x width`` grid, -1 after an image's last object.

    >>> centre_index([np.array([[0, 1], [2, 3]]), np.zeros((0, 2), int)], 4).tolist()
    [[1, 11], [-1, -1]]
    """
    out = np.full((len(centres), max((len(c) for c in centres), default=0)), -1, np.int64)
    for i, c in enumerate(centres):
        out[i, :len(c)] = c[:, 0] * width + c[:, 1]
    return out


def node_sets(scene, roots) -> dict:
    """node -> object bitmask for every Objects/Object node of ``roots`` on ``scene``."""
    interp = SceneInterpreter(scene)
    values = interp.run(roots)
    return {n: (1 << v if n.type is Type.OBJECT else v)
            for n, v in values.items() if n.type in SET_TYPES}


class SetTargets:
    """Per-step target maps for a batch, from the dataset's scenes and cell owners."""

    def __init__(self, data, density: bool = False):
        if data.scenes is None or data.owners is None:
            raise ValueError("set supervision needs scenes and instance masks (a world made "
                             "by `clevr world make`)")
        self.data = data
        self.density = density
        if density:
            self._check_centres()
        self._sets: dict[int, dict] = {}  # question -> node -> bitmask (cached)
        self._cells = None

    def batch(self, questions: np.ndarray, slots: np.ndarray, images: np.ndarray, device=None):
        """The plan of ``questions`` (question i on image slot ``slots[i]``, dataset image
        ``images[slot]``) with its set maps and (with ``density``) count maps, or None:
        what :meth:`build_both` makes from :func:`compile_batch`'s plan, by indexing arrays
        built once per dataset (:meth:`..batching.ProgramTable.targets`)."""
        table = self.data.program_table()
        if table.bits is None:
            table.attach_sets(self.data.scenes, self.data.image_ids)
        cells = None
        if self.density:
            if self._cells is None:
                self._cells = centre_index(self.data.centres, self.data.owners.shape[2])
            cells = self._cells[images]
        return table.targets(questions, slots, self.data.owners[images], cells, device)

    def sets_of(self, q: int) -> dict:
        got = self._sets.get(q)
        if got is None:
            from clevrlang.scene import Scene

            scene = self.data.scenes[self.data.image_ids[q]]
            if not isinstance(scene, Scene):
                scene = Scene(scene)
            got = self._sets[q] = node_sets(scene, [self.data.nodes[q]])
        return got

    def build(self, plan, questions: np.ndarray, images: np.ndarray) -> list:
        """One (N_k, h, w) float tensor per step of ``plan`` (None for non-set steps): 1 on
        the cells of the node's objects. ``images[slot]`` is the dataset image of the plan's
        image ``slot``."""
        return self._per_step(plan, questions, images, self._map)[0]

    def build_density(self, plan, questions: np.ndarray, images: np.ndarray) -> list:
        """Like :meth:`build`, but each map counts the node's objects centred in each cell
        (needs the dataset's ``centres``)."""
        return self._per_step(plan, questions, images, self._density)[0]

    def build_both(self, plan, questions: np.ndarray, images: np.ndarray) -> tuple[list, list]:
        """:meth:`build` and :meth:`build_density` in one pass over the plan."""
        return self._per_step(plan, questions, images, self._map, self._density)

    def _per_step(self, plan, questions, images, *makers) -> list[list]:
        if self._density in makers:
            self._check_centres()
        known: dict[tuple, int] = {}
        for q in questions:
            slot = int(np.searchsorted(images, self.data.image_ids[q]))
            for node, bits in self.sets_of(int(q)).items():
                known[(slot, node)] = bits
        rows: dict[int, list] = {}
        for (slot, node), (step, _) in zip(plan.instances, plan.where):
            if step >= 0 and node.type in SET_TYPES:
                bits = known[(slot, node)]
                rows.setdefault(step, []).append([make(bits, images[slot]) for make in makers])
        outs: list[list] = [[None] * len(plan.steps) for _ in makers]
        for step, maps in rows.items():
            for k, out in enumerate(outs):
                out[step] = torch.from_numpy(np.stack([m[k] for m in maps]))
        return outs

    def _check_centres(self) -> None:
        if self.data.centres is None:
            raise ValueError("count supervision needs object centres (a world made by "
                             "`clevr world make`)")

    def _map(self, bits: int, image: int) -> np.ndarray:
        owner = self.data.owners[image].astype(np.int64)
        member = np.concatenate([[0], (bits & _BITS[:owner.max(initial=0)]) != 0]).astype(np.float32)
        return member[owner]

    def _density(self, bits: int, image: int) -> np.ndarray:
        cells = self.data.centres[image]
        out = np.zeros(self.data.owners.shape[1:], np.float32)
        chosen = (bits & _BITS[:len(cells)]) != 0
        np.add.at(out, (cells[chosen, 0], cells[chosen, 1]), 1.0)
        return out


def set_loss(maps: list, targets: list) -> torch.Tensor:
    """Mean binary cross entropy of the set head's maps over every cell of every set step."""
    total, cells = 0.0, 0
    for logits, target in zip(maps, targets):
        if target is None:
            continue
        total = total + F.binary_cross_entropy_with_logits(logits, target.to(logits.device),
                                                           reduction="sum")
        cells += target.numel()
    return total / max(cells, 1)


def density_loss(maps: list, targets: list) -> torch.Tensor:
    """Squared error of the count head's maps, summed over the cells of a map (so a map's
    error includes its count's) and averaged over the maps of every set step."""
    total, n = 0.0, 0
    for pred, target in zip(maps, targets):
        if target is None:
            continue
        total = total + (pred - target.to(pred.device)).square().sum()
        n += target.shape[0]
    return total / max(n, 1)
