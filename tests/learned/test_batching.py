"""The array-built plans and targets (modules/learned/batching.py) equal the walked ones."""

import numpy as np
import torch

from clevrlang import parse
from clevrlang.modules.learned.batching import ProgramTable
from clevrlang.modules.learned.compiler import _compile
from clevrlang.modules.learned.training.auxiliary import SetTargets


def same_gather(a, b):
    assert (a.order is None) == (b.order is None)
    if a.order is not None:
        assert torch.equal(a.order, b.order)
    assert [s for s, _ in a.parts] == [s for s, _ in b.parts]
    for (_, i), (_, j) in zip(a.parts, b.parts):
        assert (i is None) == (j is None)
        if i is not None:
            assert i.dtype == j.dtype == torch.long and torch.equal(i, j)


def same_plan(a, b):
    assert a.n_images == b.n_images and len(a.steps) == len(b.steps)
    for x, y in zip(a.steps, b.steps):
        assert (x.token, x.depth, x.size, len(x.inputs)) == (y.token, y.depth, y.size, len(y.inputs))
        for g, h in zip(x.inputs, y.inputs):
            same_gather(g, h)
        same_gather(x.image, y.image)
    same_gather(a.roots, b.roots)
    assert torch.equal(a.kinds, b.kinds)
    assert list(a.instances) == list(b.instances) and list(a.where) == list(b.where)


def batches(data, n=12, seed=0):
    """Random batches of every size up to the dataset, questions sharing images."""
    rng = np.random.default_rng(seed)
    for size in np.linspace(1, len(data), n).astype(int):
        idx = rng.choice(len(data), size, replace=False)
        uniq, slots = np.unique(data.image_ids[idx], return_inverse=True)
        yield idx, slots, uniq


def test_plan_equals_compiled_plan(toy):
    table = ProgramTable(toy.nodes)
    for idx, slots, _ in batches(toy):
        same_plan(table.plan(idx, slots), _compile(tuple(toy.nodes[i] for i in idx),
                                                   tuple(slots.tolist())))


def test_shared_subprograms_and_repeated_questions():
    nodes = [parse(t).node for t in ("count(filter[red](scene()))",
                                     "exist(filter[red](scene()))",
                                     "count(filter[red](scene()))",
                                     "equal_size(query_size(unique(filter[cube](scene()))), "
                                     "query_size(unique(filter[red](scene()))))")]
    table = ProgramTable(nodes)
    for idx, slots in (([0, 1, 2, 3], [0, 0, 1, 0]), ([2, 0, 3], [1, 1, 0]), ([3], [2])):
        same_plan(table.plan(np.array(idx), np.array(slots)),
                  _compile(tuple(nodes[i] for i in idx), tuple(slots)))


def test_targets_equal_the_walked_targets(toy):
    targets = SetTargets(toy, density=True)
    for idx, slots, uniq in batches(toy, seed=1):
        plan, masks, counts = targets.batch(idx, slots, uniq)
        old = _compile(tuple(toy.nodes[i] for i in idx), tuple(slots.tolist()))
        same_plan(plan, old)
        want_masks, want_counts = targets.build_both(old, idx, uniq)
        for got, want in zip(masks + counts, want_masks + want_counts):
            assert (got is None) == (want is None)
            if got is not None:
                assert got.dtype == want.dtype and torch.equal(got, want)
