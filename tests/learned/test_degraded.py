"""`clevr train learned --degrade`: every training image also through a codec
(modules/learned/training/degraded.py), each question asked of both."""

import json

import numpy as np
import pytest

from clevrlang.compress.degrade import Degradation, degrade
from clevrlang.images import load_image
from clevrlang.modules.learned.stem import as_uint8
from clevrlang.modules.learned.training.session import load_splits

from .conftest import small_world

SIZE = (64, 40)
JPEG = Degradation(("jpeg", "webp"), 300, 600)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return small_world(tmp_path_factory.mktemp("world"), train=6, val=3, block=6)


def test_copies_join_the_training_set_and_are_cached(world, monkeypatch):
    clean, val = load_splits(world, "train", "val", SIZE, None, False, sets=True)
    train, val2 = load_splits(world, "train", "val", SIZE, None, False, sets=True,
                              degrade=JPEG, seed=5)
    n, q = len(clean.images), len(clean)
    assert len(train.images) == 2 * n and len(train) == 2 * q
    assert np.array_equal(train.images[:n], clean.images)
    assert np.array_equal(train.image_ids, np.concatenate([clean.image_ids, clean.image_ids + n]))
    assert train.nodes == clean.nodes * 2
    assert np.array_equal(train.answers[q:], clean.answers)
    assert np.array_equal(val2.images, val.images)  # validation stays clean
    # Copy k is image k through the codec and budget drawn for k, at the network's size.
    for k, name in enumerate(clean.image_names):
        codec, budget = JPEG.draw(5, 0, k)
        image, nbytes = degrade(load_image(world / "images" / "train" / name), codec, budget)
        assert nbytes <= max(budget, 600)
        assert np.array_equal(train.images[n + k], as_uint8([image], SIZE)[0])
        assert not np.array_equal(train.images[n + k], clean.images[k])
    # The set supervision of a copy is its image's.
    assert np.array_equal(train.owners[n:], clean.owners)
    assert all(np.array_equal(a, b) for a, b in zip(train.centres[n:], clean.centres))
    assert train.scenes[n].raw == clean.scenes[0].raw and len(train.scenes) == 2 * n
    table = train.program_table()
    assert table.bits is not None and len(table.root_nodes) == 2 * q

    from clevrlang.modules.learned.training import degraded

    monkeypatch.setattr(degraded, "degrade", lambda *a: pytest.fail("encoded again"))
    again, _ = load_splits(world, "train", "val", SIZE, None, False, degrade=JPEG, seed=5)
    assert isinstance(again.images, np.ndarray) and np.array_equal(again.images, train.images)
    # Another seed draws other copies.
    monkeypatch.undo()
    other, _ = load_splits(world, "train", "val", SIZE, None, False, degrade=JPEG, seed=6)
    assert not np.array_equal(other.images[n:], train.images[n:])


def test_train_with_copies_and_resume_with_the_same(world, tmp_path, cli):
    out = tmp_path / "ck"
    args = ["train", "learned", "--world", world, "--out", out, "--batch", "8", "--channels",
            "8", "--width", "64", "--save-every", "1", "--quiet", "--degrade", "jpeg",
            "--degrade-bytes", "300-600"]
    code, _, err = cli(*args, "--epochs", "1")
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["info"]["train_questions"] == 2 * 6 * 4
    assert cli(*args, "--epochs", "2", "--resume")[0] == 0
    code, _, err = cli(*args[:-4], "--epochs", "3", "--resume")
    assert code == 2 and "--degrade jpeg --degrade-bytes 300-600" in err


def test_degrade_bytes_alone_is_a_usage_error(world, tmp_path, cli):
    code, _, err = cli("train", "learned", "--world", world, "--out", tmp_path,
                       "--degrade-bytes", "300-600")
    assert code == 2 and "--degrade-bytes sets the budgets of --degrade" in err
    code, _, err = cli("train", "learned", "--world", world, "--out", tmp_path,
                       "--degrade", "png")
    assert code == 2 and "unknown codec 'png'" in err
