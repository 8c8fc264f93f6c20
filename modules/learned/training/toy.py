"""A small stand-in world for tests and benchmarks: random scenes, rendered, with random
well-typed programs covering every question type, answered by the symbolic executor.

>>> data = toy_dataset(2, 3, seed=0, size=(64, 48))
>>> len(data), data.images.shape
(6, (2, 48, 64, 3))
"""

from __future__ import annotations

import numpy as np

from clevrlang.language.ir import Node
from clevrlang.language.vocabulary import (ATTRIBUTE_TYPES, ATTRIBUTES, ENUMS, FUNCTIONS,
                                           QUESTION_TYPES, RELATIONS, function_for,
                                           render_value)
from clevrlang.modules.symbolic import SceneInterpreter
from clevrlang.scene import Scene

_SCENE = None


def _scene_node() -> Node:
    return Node.make("scene")


def _filter(attr: str, value: str, x: Node) -> Node:
    return Node.make(function_for("filter", attr).name, (value,), (x,))


class ProgramMaker:
    """Random programs on one scene, built from the vocabulary's function table."""

    def __init__(self, scene: Scene, rng: np.random.Generator):
        self.scene, self.rng = scene, rng
        self.interp = SceneInterpreter(scene)

    def value(self, node: Node):
        return self.interp.value(node)

    def objects(self, hops: int = 0) -> Node:
        """A set: scene, or relate of a unique object, then 0-2 filters."""
        base = _scene_node()
        if hops and self.scene.n > 1:
            obj = self.unique()
            if obj is not None:
                base = Node.make("relate", (RELATIONS[self.rng.integers(4)],), (obj,))
        for _ in range(self.rng.integers(0, 3)):
            attr = ATTRIBUTES[self.rng.integers(4)]
            base = _filter(attr, self._value(attr), base)
        return base

    def _value(self, attr: str) -> str:
        # Mostly a value present in the scene, so sets are rarely empty.
        if self.rng.random() < 0.8:
            return self.scene.objects[self.rng.integers(self.scene.n)][attr]
        values = ENUMS[ATTRIBUTE_TYPES[attr]]
        return values[self.rng.integers(len(values))]

    def unique(self) -> Node | None:
        """``unique`` of filters that single out a random object, or None if none do."""
        target = int(self.rng.integers(self.scene.n))
        node = _scene_node()
        for a in self.rng.permutation(4):
            attr = ATTRIBUTES[a]
            node = _filter(attr, self.scene.objects[target][attr], node)
            if self.value(node) == 1 << target:
                return Node.make("unique", (), (node,))
        return None

    def question(self, qtype: str) -> Node | None:
        f = FUNCTIONS[qtype]
        hops = int(self.rng.integers(0, 2))
        if qtype in ("count", "exist"):
            return Node.make(qtype, (), (self.objects(hops),))
        if f.family == "query":
            obj = self.unique()
            return obj and Node.make(qtype, (), (obj,))
        if f.family == "equal":
            a, b = self.unique(), self.unique()
            if a is None or b is None:
                return None
            q = function_for("query", f.attribute).name
            return Node.make(qtype, (), (Node.make(q, (), (a,)), Node.make(q, (), (b,))))
        if f.family == "compare":
            a, b = self.objects(hops), self.objects(0)
            return Node.make(qtype, (), (Node.make("count", (), (a,)), Node.make("count", (), (b,))))
        return None


def random_questions(scene: Scene, n: int, rng: np.random.Generator) -> list[tuple[Node, str]]:
    """``n`` (program, answer) pairs on ``scene``, question types drawn uniformly."""
    maker = ProgramMaker(scene, rng)
    out = []
    while len(out) < n:
        node = maker.question(QUESTION_TYPES[rng.integers(len(QUESTION_TYPES))])
        if node is not None:
            out.append((node, render_value(maker.value(node))))
    return out


def toy_scenes(n_images: int, seed: int, size: tuple[int, int], split: str = "train"):
    """Scenes and their renders (images, instance masks) at ``size``."""
    from clevrlang.world.render import render
    from clevrlang.world.scenes import make_scene

    scenes, images, masks = [], [], []
    for i in range(n_images):
        raw = make_scene(seed, i, split, width=size[0], height=size[1])
        r = render(raw, size[0], size[1])
        scenes.append(raw)
        images.append(r.image)
        masks.append(r.mask)
    return scenes, np.stack(images), np.stack(masks)


def toy_dataset(n_images: int, per_image: int, seed: int = 0, size=(128, 96), split="train"):
    """A :class:`~.data.QADataset` of ``n_images`` rendered scenes x ``per_image`` questions."""
    from clevrlang.modules.learned.training.data import QADataset

    raws, images, masks = toy_scenes(n_images, seed, size, split)
    rng = np.random.default_rng([seed, 7])
    triples = []
    for i, raw in enumerate(raws):
        for node, answer in random_questions(Scene(raw, i), per_image, rng):
            triples.append((i, node, answer))
    from clevrlang.modules.learned.stem import STRIDE
    from clevrlang.modules.learned.training.auxiliary import cell_owners, centre_cells

    grid = (size[1] // STRIDE, size[0] // STRIDE)
    owners = np.stack([cell_owners(m, grid) for m in masks])
    data = QADataset.build(images, triples, size, name=f"toy(seed={seed})",
                           scenes=[Scene(r, i) for i, r in enumerate(raws)], owners=owners)
    data.centres = [centre_cells(r["objects"], size, grid) for r in raws]
    return data
