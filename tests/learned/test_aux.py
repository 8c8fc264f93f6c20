"""Set supervision: cell owners from masks, per-node targets from the symbolic executor."""

import dataclasses

import numpy as np
import pytest
import torch

from clevrlang.modules.learned.model import NMN
from clevrlang.modules.learned.training.auxiliary import SetTargets, cell_owners, set_loss
from clevrlang.modules.learned.training.train import TrainConfig, Trainer, batch_inputs


def test_cell_owners_prefer_objects_from_a_tenth_of_a_cell():
    mask = np.zeros((10, 20), np.uint8)
    mask[0:2, 0:5] = 1  # 10 of 100 pixels of cell (0, 0): enough
    mask[0:1, 10:19] = 2  # 9 of 100 pixels of cell (0, 1): not enough
    mask[5:10, 10:20] = 3  # half of cell... (0, 1) spans rows 0-10: 50 pixels, wins
    assert cell_owners(mask, (1, 2)).tolist() == [[1, 3]]
    assert cell_owners(np.zeros((8, 8), np.uint8), (2, 2)).tolist() == [[0, 0], [0, 0]]


def test_targets_mark_the_objects_of_each_set(toy):
    targets = SetTargets(toy)
    idx = np.arange(len(toy))
    _, plan, _, uniq = batch_inputs(toy, idx, "cpu", with_images=True)
    maps = targets.build(plan, idx, uniq)
    assert len(maps) == len(plan.steps)
    for (slot, node), (step, row) in zip(plan.instances, plan.where):
        if step < 0 or maps[step] is None:
            continue
        owner = toy.owners[uniq[slot]]
        scene = toy.scenes[uniq[slot]]
        from clevrlang.modules.symbolic import SceneInterpreter

        value = SceneInterpreter(scene).value(node)
        bits = 1 << value if node.type.value == "Object" else value
        want = np.array([[o > 0 and bool(bits >> (int(o) - 1) & 1) for o in r] for r in owner])
        np.testing.assert_array_equal(maps[step][row].numpy() > 0.5, want)


def test_training_with_set_supervision(toy, tiny_config, tmp_path):
    config = dataclasses.replace(tiny_config, set_head=True)
    cfg = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100,
                      aux_weight=1.0)
    trainer = Trainer(toy, None, tmp_path, config, cfg, progress=False)
    before = trainer.model.sets.weight.detach().clone()
    trainer.run()
    assert not torch.equal(before, trainer.model.sets.weight)
    assert "sets.weight" in NMN(config).state_dict()


def test_set_loss_ignores_steps_without_sets():
    maps = [torch.zeros(2, 3, 4), None]
    targets = [torch.ones(2, 3, 4), None]
    assert abs(float(set_loss(maps, targets)) - float(np.log(2))) < 1e-6


def test_density_targets_count_each_set(toy):
    from clevrlang.modules.symbolic import SceneInterpreter

    targets = SetTargets(toy)
    idx = np.arange(len(toy))
    _, plan, _, uniq = batch_inputs(toy, idx, "cpu", with_images=True)
    maps = targets.build_density(plan, idx, uniq)
    checked = 0
    for (slot, node), (step, row) in zip(plan.instances, plan.where):
        if step < 0 or maps[step] is None:
            continue
        value = SceneInterpreter(toy.scenes[uniq[slot]]).value(node)
        size = 1 if node.type.value == "Object" else bin(value).count("1")
        density = maps[step][row].numpy()
        assert density.sum() == size  # the map's sum is the set's size
        members = [value] if node.type.value == "Object" else \
            [i for i in range(len(toy.centres[uniq[slot]])) if value >> i & 1]
        for i in members:  # every member's centre cell is marked
            r, c = toy.centres[uniq[slot]][i]
            assert density[r, c] >= 1
        checked += 1
    assert checked > 10


def test_count_head_trains_and_extends_an_init_model(toy, tiny_config, tmp_path):
    base = dataclasses.replace(tiny_config, set_head=True)
    cfg = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100,
                      aux_weight=1.0)
    Trainer(toy, None, tmp_path / "a", base, cfg, progress=False).run()
    counting = dataclasses.replace(base, count_head=True)
    trainer = Trainer(toy, None, tmp_path / "b", counting, cfg, progress=False,
                      init=str(tmp_path / "a" / "model.safetensors"))
    from clevrlang.modules.learned import checkpoint as ck

    source, _ = ck.load_model(tmp_path / "a" / "model.safetensors")
    assert torch.equal(trainer.model.stem.layers[0].weight, source.stem.layers[0].weight)
    before = trainer.model.density.weight.detach().clone()
    trainer.run()
    assert not torch.equal(before, trainer.model.density.weight)
    reloaded, _ = ck.load_model(tmp_path / "b" / "model.safetensors")
    assert reloaded.config.count_head


def test_count_head_needs_set_supervision(toy, tiny_config, tmp_path):
    from clevrlang.language.errors import UsageError

    config = dataclasses.replace(tiny_config, set_head=True, count_head=True)
    with pytest.raises(UsageError, match="aux-weight"):
        Trainer(toy, None, tmp_path, config, TrainConfig(epochs=1, batch=8), progress=False)


def test_a_model_with_a_count_head_fine_tunes_without_set_supervision(toy, tiny_config, tmp_path):
    config = dataclasses.replace(tiny_config, set_head=True, count_head=True)
    cfg = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100, aux_weight=1.0)
    Trainer(toy, None, tmp_path / "a", config, cfg, progress=False).run()
    plain = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100)
    trainer = Trainer(toy, None, tmp_path / "b", config, plain, progress=False,
                      init=str(tmp_path / "a" / "model.safetensors"))
    assert trainer.run()["step"] == len(toy) // 8
