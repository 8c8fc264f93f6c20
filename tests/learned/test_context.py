"""The context path of a module: a summary of its whole input map, added at zero to a trained
network (``--init CK --context``) without changing what it computes."""

import dataclasses

import pytest
import torch

from clevrlang.language.errors import UsageError
from clevrlang.modules.learned.compiler import compile_batch
from clevrlang.modules.learned.model import NMN, ModelConfig
from clevrlang.modules.learned.modules import ResidualBlock
from clevrlang.modules.learned.stem import normalize
from clevrlang.modules.learned.training.session import _families
from clevrlang.modules.learned.training.train import TrainConfig, Trainer


def _far_effect(block: ResidualBlock) -> float:
    """How much the output at the top-left cell moves when the bottom-right cell changes."""
    x = torch.rand(1, 8, 12, 16)
    y = x.clone()
    y[0, :, -1, -1] += 5.0
    with torch.no_grad():
        return float((block(x) - block(y))[0, :, 0, 0].abs().max())


def test_the_context_reaches_across_the_map_and_plain_convs_do_not():
    torch.manual_seed(0)
    plain, wide = ResidualBlock(8), ResidualBlock(8, context=True)
    for p in wide.parameters():  # away from the zero start
        torch.nn.init.normal_(p, std=0.3)
    assert _far_effect(plain) == 0.0
    assert _far_effect(wide) > 1e-3


def test_a_new_context_path_computes_nothing_until_trained():
    torch.manual_seed(0)
    plain = ResidualBlock(8)
    wide = ResidualBlock(8, context=True)
    wide.load_state_dict(plain.state_dict(), strict=False)
    x = torch.rand(2, 8, 12, 16)
    with torch.no_grad():
        assert torch.equal(plain(x), wide(x))


def test_context_families_are_checked_and_stored(tiny_config):
    assert _families(["relate", "same", "relate"]) == ("relate", "same")
    with pytest.raises(UsageError, match="no module family nosuch"):
        _families(["nosuch"])
    config = dataclasses.replace(tiny_config, context=("same",))
    assert ModelConfig.from_json(config.to_json()) == config
    assert "unknown module families" in dataclasses.replace(config, context=("x",)).mismatch()


def test_init_adds_a_context_path_that_starts_from_the_same_answers(toy, tiny_config, tmp_path):
    cfg = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100)
    Trainer(toy, None, tmp_path / "a", tiny_config, cfg, progress=False).run()
    with_context = dataclasses.replace(tiny_config, context=("filter", "relate"))
    trainer = Trainer(toy, None, tmp_path / "b", with_context, cfg, progress=False,
                      init=str(tmp_path / "a" / "model.safetensors"))
    source = NMN(tiny_config)
    source.load_state_dict(trainer.model.state_dict(), strict=False)
    images = normalize(torch.from_numpy(toy.images))
    plan = compile_batch(list(toy.nodes), toy.image_ids.tolist())
    with torch.no_grad():
        torch.testing.assert_close(trainer.model.eval()(images, plan), source.eval()(images, plan))
    assert hasattr(trainer.model.mods["relate[left]"].block, "context")
    trainer.model.train()
    trainer.run()
    moved = trainer.model.mods["relate[left]"].block.context.weight
    assert moved.abs().sum() > 0  # the new path learns


def test_init_refuses_to_drop_a_context_path(toy, tiny_config, tmp_path):
    cfg = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100)
    with_context = dataclasses.replace(tiny_config, context=("relate",))
    Trainer(toy, None, tmp_path / "a", with_context, cfg, progress=False).run()
    with pytest.raises(UsageError, match="another config"):
        Trainer(toy, None, tmp_path / "b", tiny_config, cfg, progress=False,
                init=str(tmp_path / "a" / "model.safetensors"))


def test_a_new_context_path_attends_where_the_set_head_marks_objects(toy, tiny_config, tmp_path):
    cfg = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100, aux_weight=1.0)
    marked = dataclasses.replace(tiny_config, set_head=True)
    Trainer(toy, None, tmp_path / "a", marked, cfg, progress=False).run()
    trainer = Trainer(toy, None, tmp_path / "b", dataclasses.replace(marked, context=("same",)),
                      cfg, progress=False, init=str(tmp_path / "a" / "model.safetensors"))
    net = trainer.model
    assert torch.count_nonzero(net.sets.weight) > 0
    assert torch.equal(net.mods["same_color"].block.attend.weight, net.sets.weight)
    assert torch.count_nonzero(net.mods["same_color"].block.context.weight) == 0
