"""clevr train programs: the loss falls, a killed run resumes to the same weights, REINFORCE
runs on symbolic rewards, and the model file loads without executing code."""

import pytest
import torch

from clevrlang.asking import ProgramGenerator
from clevrlang.asking.model import load
from clevrlang.asking.train import (
    MODEL_FILE, STATE_FILE, Trainer, TrainConfig, load_data, supervised_loss, train_world,
)
from clevrlang.language.errors import CheckpointError, UsageError

CFG = TrainConfig(steps=12, reinforce=3, batch=16, embed=16, hidden=32, save_every=4,
                  lr=1e-2)


def _full_loss(model, data):
    with torch.no_grad():
        return float(supervised_loss(model, data.words, [t for t in data.targets if t]))


def test_training_lowers_the_loss(tiny_world, tmp_path):
    data = load_data(tiny_world, "train", None)
    trainer = Trainer(data, tmp_path, TrainConfig(steps=25, batch=32, embed=16, hidden=32,
                                                  lr=1e-2), device="cpu", progress=False)
    before = _full_loss(trainer.model, data)
    trainer.run()
    assert _full_loss(trainer.model, data) < 0.85 * before


def test_a_killed_run_resumes_to_the_same_weights(tiny_world, tmp_path):
    train_world(tiny_world, tmp_path / "whole", CFG, device="cpu", progress=False)
    train_world(tiny_world, tmp_path / "broken", CFG, device="cpu", progress=False,
                stop_after=6)  # "killed" after step 6: the state file says step 4
    result = train_world(tiny_world, tmp_path / "broken", CFG, device="cpu", progress=False,
                         resume=True)
    assert result["step"] == CFG.steps + CFG.reinforce
    a, _ = load(tmp_path / "whole" / MODEL_FILE)
    b, info = load(tmp_path / "broken" / MODEL_FILE)
    assert info["step"] == 15
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name


def test_an_existing_run_needs_resume_or_force(tiny_world, tmp_path):
    train_world(tiny_world, tmp_path, CFG, device="cpu", progress=False, stop_after=4)
    with pytest.raises(UsageError, match="--resume"):
        train_world(tiny_world, tmp_path, CFG, device="cpu", progress=False)
    other = TrainConfig(**{**CFG.__dict__, "hidden": 24})
    with pytest.raises(UsageError, match="other options"):
        train_world(tiny_world, tmp_path, other, device="cpu", progress=False, resume=True)


def test_reinforce_uses_only_answers_past_the_annotated_programs(tiny_world, tmp_path):
    cfg = TrainConfig(steps=4, reinforce=4, programs=30, batch=16, embed=16, hidden=32)
    data = load_data(tiny_world, "train", cfg.programs)
    assert sum(t is not None for t in data.targets) == 30
    trainer = Trainer(data, tmp_path, cfg, device="cpu", progress=False)
    result = trainer.run()
    assert 0.0 <= result["reward"] <= 1.0
    assert set(trainer.unlabelled).isdisjoint(trainer.supervised)
    assert (tmp_path / "supervised.safetensors").exists()  # the model before REINFORCE


def test_the_model_file_is_safetensors_and_refuses_other_things(tiny_world, tmp_path):
    train_world(tiny_world, tmp_path, TrainConfig(steps=2, batch=8, embed=16, hidden=32),
                device="cpu", progress=False)
    gen = ProgramGenerator(str(tmp_path / MODEL_FILE))
    program = gen.ask("how many red cubes are there")  # untrained: any checked program
    assert program.to_clv() and program.node.type.value in ("Int", "Bool", "Color", "Size",
                                                             "Material", "Shape")
    with pytest.raises(CheckpointError, match="not a program generator"):
        load(tmp_path / STATE_FILE)  # the training state is not a model file
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError):
        load(tmp_path / "junk.safetensors")
