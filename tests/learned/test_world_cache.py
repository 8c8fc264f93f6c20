"""A world's training data cached beside it (modules/learned/training/world_cache.py): the
cached load is the built one, a changed world is built again, a bad cache is ignored."""

import numpy as np
import pytest
import torch

from clevrlang.modules.learned.batching import ProgramTable
from clevrlang.modules.learned.training.auxiliary import SetTargets
from clevrlang.modules.learned.training.data import from_world
from clevrlang.world.make import WorldSpec, make_world

from .test_batching import batches, same_plan

SIZE = (64, 48)


@pytest.fixture
def world(tmp_path):
    make_world(tmp_path, WorldSpec(images=6, split="train", questions_per_image=5, width=96,
                                   height=64, seed=8, block_size=6), progress=False)
    return tmp_path


def cache_files(world):
    return sorted(p.name.split("_", 4)[-1] for p in (world / ".cache").iterdir())


def same_data(a, b):
    assert np.array_equal(a.images, b.images)
    assert np.array_equal(a.image_ids, b.image_ids) and np.array_equal(a.answers, b.answers)
    assert len(a.nodes) == len(b.nodes) and all(x is y for x, y in zip(a.nodes, b.nodes))
    assert a.image_names == b.image_names


def test_second_load_reads_the_cache_and_equals_the_first(world):
    built = from_world(world, "train", SIZE, progress=False, sets=True)
    assert len(cache_files(world)) == 3  # images, questions, sets
    cached = from_world(world, "train", SIZE, progress=False, sets=True)
    assert isinstance(cached.images, np.memmap)  # mapped, not read
    same_data(built, cached)
    assert np.array_equal(built.owners, cached.owners)
    assert all(np.array_equal(c, d) for c, d in zip(built.centres, cached.centres))
    assert [s.raw for s in cached.scenes] == [s.raw for s in built.scenes]
    fresh, restored = ProgramTable(built.nodes), cached.program_table()
    assert fresh.tokens == restored.tokens and fresh.nodes == restored.nodes
    for k, v in fresh.arrays().items():
        assert np.array_equal(v, getattr(restored, k)), k
    a, b = SetTargets(built, density=True), SetTargets(cached, density=True)
    for idx, slots, uniq in batches(built, n=6):
        plan, masks, counts = a.batch(idx, slots, uniq)
        plan2, masks2, counts2 = b.batch(idx, slots, uniq)
        same_plan(plan, plan2)
        for x, y in zip(masks + counts, masks2 + counts2):
            assert (x is None) == (y is None) and (x is None or torch.equal(x, y))


def test_without_sets_then_with_sets(world):
    plain = from_world(world, "train", SIZE, progress=False)
    assert plain.scenes is None and len(cache_files(world)) == 2
    with_sets = from_world(world, "train", SIZE, progress=False, sets=True)
    assert isinstance(with_sets.images, np.memmap) and with_sets.owners is not None
    assert len(cache_files(world)) == 3
    same_data(plain, with_sets)


def test_a_changed_image_or_question_file_rebuilds(world):
    from PIL import Image

    first = from_world(world, "train", SIZE, progress=False)
    path = world / "images" / "train" / first.image_names[2]
    with Image.open(path) as im:
        changed = np.asarray(im.convert("RGB")).copy()
    changed[:] = 255 - changed
    Image.fromarray(changed).save(path)
    second = from_world(world, "train", SIZE, progress=False)
    assert not isinstance(second.images, np.memmap)  # built again
    assert not np.array_equal(first.images[2], second.images[2])
    assert np.array_equal(first.images[3], second.images[3])
    assert len(cache_files(world)) == 2  # the old files went

    qpath = world / "questions" / "CLEVR_train_questions.json"
    import json

    doc = json.loads(qpath.read_text())
    doc["questions"] = doc["questions"][:-3]
    qpath.write_text(json.dumps(doc))
    third = from_world(world, "train", SIZE, progress=False)
    assert len(third) == len(first) - 3
    assert len(from_world(world, "train", SIZE, progress=False, limit=7)) == 7


def test_a_damaged_cache_is_built_again(world):
    first = from_world(world, "train", SIZE, progress=False)
    (damaged,) = (world / ".cache").glob("*questions.npz")
    damaged.write_bytes(b"not an npz")
    again = from_world(world, "train", SIZE, progress=False)
    same_data(first, again)
    assert isinstance(from_world(world, "train", SIZE, progress=False).images, np.memmap)


def test_a_subset_keeps_the_restored_table(world):
    from_world(world, "train", SIZE, progress=False, sets=True)
    cached = from_world(world, "train", SIZE, progress=False, sets=True)
    keep = np.flatnonzero(cached.image_ids >= 2)
    part, walked = cached.subset(keep), cached.subset(keep)
    walked.table = None  # built again from its programs, the sets found on the scenes
    assert part.program_table().nodes is cached.program_table().nodes  # not walked again
    a, b = SetTargets(part, density=True), SetTargets(walked, density=True)
    for idx, slots, uniq in batches(part, n=6):
        plan, masks, counts = a.batch(idx, slots, uniq)
        plan2, masks2, counts2 = b.batch(idx, slots, uniq)
        same_plan(plan, plan2)
        for x, y in zip(masks + counts, masks2 + counts2):
            assert (x is None) == (y is None) and (x is None or torch.equal(x, y))
