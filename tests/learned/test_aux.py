"""Set supervision: cell owners from masks, per-node targets from the symbolic executor."""

import dataclasses

import numpy as np
import torch

from clevrlang.modules.learned.aux import SetTargets, cell_owners, set_loss
from clevrlang.modules.learned.model import NMN
from clevrlang.modules.learned.train import TrainConfig, Trainer, batch_inputs


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
