"""The compiled batch equals the per-question loop (values and gradients)."""

import numpy as np
import pytest
import torch

from clevrlang import parse
from clevrlang.language.errors import ExecutionError
from clevrlang.modules.learned.compiler import PlanCache, compile_batch, run_loop, run_plan
from clevrlang.modules.learned.stem import normalize

HAND = [
    "count(scene())",
    "exist(filter_shape[cube](filter_color[red](scene())))",
    "query_color(unique(filter_shape[sphere](scene())))",
    "count(filter_size[small](relate[left](unique(filter_color[blue](scene())))))",
    "equal_integer(count(filter[cube](scene())), count(filter[sphere](scene())))",
    "greater_than(count(union(filter[red](scene()), filter[blue](scene()))), count(scene()))",
    "equal_color(query_color(unique(filter[cube](scene()))), "
    "query_color(unique(filter[cylinder](scene()))))",
    "exist(same_shape(unique(filter[metal](scene()))))",
    "let a = filter[large](scene())\ncount(intersect(a, relate[front](unique(filter[cube](a)))))",
]


def _mixed(toy):
    nodes = [parse(t).node for t in HAND] + list(toy.nodes)
    slots = [i % len(toy.images) for i in range(len(HAND))] + list(toy.image_ids)
    return nodes, slots


@pytest.fixture(params=["iep", "image-skip"])
def model(request, tiny_config):
    import dataclasses

    from clevrlang.modules.learned.model import NMN

    torch.manual_seed(0)
    config = dataclasses.replace(tiny_config, image_skip=request.param == "image-skip",
                                 classifier_pool="global" if request.param != "iep" else "max2")
    return NMN(config).eval()


def test_plan_equals_loop(model, toy):
    tiny_model = model
    nodes, slots = _mixed(toy)
    images = normalize(torch.from_numpy(toy.images))
    with torch.no_grad():
        plan = compile_batch(nodes, slots)
        fast = run_plan(tiny_model, tiny_model.stem(images), plan)
        slow = run_loop(tiny_model, images, nodes, slots)
        assert fast.shape == slow.shape
        torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
        logits = tiny_model(images, plan)
        torch.testing.assert_close(logits, tiny_model.logits(slow, plan.kinds), atol=1e-5,
                                   rtol=1e-5)


def test_gradients_equal_loop(model, toy):
    tiny_model = model
    nodes, slots = _mixed(toy)
    images = normalize(torch.from_numpy(toy.images))

    def grads(fn):
        tiny_model.zero_grad()
        fn().pow(2).mean().backward()
        return {k: p.grad.clone() for k, p in tiny_model.named_parameters() if p.grad is not None}

    a = grads(lambda: run_plan(tiny_model, tiny_model.stem(images), compile_batch(nodes, slots)))
    b = grads(lambda: run_loop(tiny_model, images, nodes, slots))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=1e-4)


def test_shared_subprograms_run_once():
    a = parse("count(filter[red](scene()))").node
    b = parse("exist(filter[red](scene()))").node
    same_image = compile_batch([a, b], [0, 0])
    two_images = compile_batch([a, b], [0, 1])
    assert sum(s.size for s in same_image.steps) == 3  # filter once, count, exist
    assert sum(s.size for s in two_images.steps) == 4
    assert same_image.n_images == 1 and two_images.n_images == 2


def test_groups_are_module_and_depth():
    nodes = [parse(t).node for t in HAND]
    plan = compile_batch(nodes, list(range(len(nodes))))
    keys = [(s.depth, s.token) for s in plan.steps]
    assert len(keys) == len(set(keys))
    assert [d for d, _ in keys] == sorted(d for d, _ in keys)


def test_plans_are_cached_per_structure():
    cache = PlanCache(size=2)
    nodes = [parse(t).node for t in HAND[:3]]
    p1 = cache.get(nodes, [0, 1, 2])
    assert cache.get(nodes, [0, 1, 2]) is p1
    assert cache.get(nodes, [0, 0, 0]) is not p1
    assert (cache.hits, cache.misses) == (1, 2)
    assert p1.to("cpu") is p1


def test_unsupported_programs_are_refused():
    with pytest.raises(ExecutionError, match="scene\\(image\\)"):
        compile_batch([parse('count(scene(load("x.png")))').node], [0])


def test_images_are_gathered_per_slot(tiny_model, toy):
    """Permuting images and slots together changes nothing."""
    nodes = list(toy.nodes[:10])
    slots = np.asarray(toy.image_ids[:10])
    images = normalize(torch.from_numpy(toy.images))
    perm = np.random.default_rng(0).permutation(len(toy.images))
    inv = np.argsort(perm)
    with torch.no_grad():
        a = tiny_model(images, compile_batch(nodes, slots.tolist()))
        b = tiny_model(images[perm], compile_batch(nodes, inv[slots].tolist()))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
