"""Auxiliary set supervision: every module that yields objects also learns *where* they are.

Johnson et al. train their modules from answers alone; on a CPU budget that spends
thousands of steps on a plateau at the answer priors. Our world knows, for every node of
every training program, the exact object set (the symbolic executor on the scene graph)
and which object covers each feature cell (the instance mask). With ``aux_weight > 0`` a
1x1 convolution (``NMN.sets``) reads each Objects/Object module's output map and is trained,
with binary cross entropy, to mark the cells of that node's objects. The modules, stem and
classifier are unchanged, and inference never uses the head (``explain`` may draw it).

>>> mask = np.zeros((4, 4), np.uint8); mask[:2, 2:] = 1
>>> cell_owners(mask, (2, 2)).tolist()
[[0, 1], [0, 0]]
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from clevrlang.modules.symbolic import SceneInterpreter
from clevrlang.vocabulary import Type

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


def node_sets(scene, roots) -> dict:
    """node -> object bitmask for every Objects/Object node of ``roots`` on ``scene``."""
    interp = SceneInterpreter(scene)
    values = interp.run(roots)
    return {n: (1 << v if n.type is Type.OBJECT else v)
            for n, v in values.items() if n.type in SET_TYPES}


class SetTargets:
    """Per-step target maps for a batch, from the dataset's scenes and cell owners."""

    def __init__(self, data):
        if data.scenes is None or data.owners is None:
            raise ValueError("set supervision needs scenes and instance masks (a world made "
                             "by `clevr world make`)")
        self.data = data
        self._sets: dict[int, dict] = {}  # question -> node -> bitmask (cached)

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
        """One (N_k, h, w) float tensor per step of ``plan`` (None for non-set steps).

        ``images[slot]`` is the dataset image of the plan's image ``slot``."""
        known: dict[tuple, int] = {}
        for q in questions:
            slot = int(np.searchsorted(images, self.data.image_ids[q]))
            for node, bits in self.sets_of(int(q)).items():
                known[(slot, node)] = bits
        out: list = [None] * len(plan.steps)
        rows: dict[int, list] = {}
        for (slot, node), (step, _) in zip(plan.instances, plan.where):
            if step >= 0 and node.type in SET_TYPES:
                rows.setdefault(step, []).append(self._map(known[(slot, node)], images[slot]))
        for step, maps in rows.items():
            out[step] = torch.from_numpy(np.stack(maps))
        return out

    def _map(self, bits: int, image: int) -> np.ndarray:
        owner = self.data.owners[image].astype(np.int64)
        member = np.concatenate([[0], (bits & _BITS[:owner.max(initial=0)]) != 0]).astype(np.float32)
        return member[owner]


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
