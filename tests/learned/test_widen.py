"""Widening a trained network (Net2Net): same answers, more channels, training goes on."""

import dataclasses

import pytest
import torch

from clevrlang.modules.learned.compiler import compile_batch
from clevrlang.modules.learned.model import NMN
from clevrlang.modules.learned.stem import normalize
from clevrlang.modules.learned.training.train import TrainConfig, Trainer
from clevrlang.modules.learned.training.widen import widen, wider_config


def _outputs(net, toy):
    images = normalize(torch.from_numpy(toy.images))
    plan = compile_batch(list(toy.nodes), toy.image_ids.tolist())
    with torch.no_grad():
        return net(images, plan, sets=True)


def _network(tiny_config, **changes):
    torch.manual_seed(0)
    config = dataclasses.replace(tiny_config, stem_widths=(4, 8), set_head=True,
                                 count_head=True, **changes)
    net = NMN(config).eval()
    for p in net.parameters():  # away from the zero-initialised count head
        torch.nn.init.normal_(p, std=0.2)
    return net


@pytest.mark.parametrize("changes", [{}, {"image_skip": True, "classifier_pool": "global"},
                                     {"context": ("filter", "relate")}],
                         ids=["iep", "image-skip-global-pool", "context"])
def test_widened_network_computes_the_same(toy, tiny_config, changes):
    net = _network(tiny_config, **changes)
    wide = widen(net, 13, noise=0.0)
    assert wide.config == dataclasses.replace(net.config, channels=13, stem_widths=(6, 13))
    assert sum(p.numel() for p in wide.parameters()) > sum(p.numel() for p in net.parameters())
    logits, sets, density = _outputs(net, toy)
    wide_logits, wide_sets, wide_density = _outputs(wide, toy)
    finite = torch.isfinite(logits)
    assert torch.equal(finite, torch.isfinite(wide_logits))
    scale = logits[finite].abs().max()
    torch.testing.assert_close(wide_logits[finite] / scale, logits[finite] / scale,
                               atol=1e-5, rtol=0)
    assert any(s is not None for s in sets)
    for a, b in zip(sets + density, wide_sets + wide_density):
        if a is not None:
            torch.testing.assert_close(b, a, atol=1e-4 * float(a.abs().max()) + 1e-6, rtol=0)


def test_noise_tells_the_copies_apart(tiny_config):
    net = _network(tiny_config)
    exact, noisy = widen(net, 12, noise=0.0), widen(net, 12, noise=0.05)
    old = net.config.channels
    w_exact = exact.stem.layers[-2].weight
    w_noisy = noisy.stem.layers[-2].weight
    assert torch.equal(w_exact[:old], w_noisy[:old])  # the original channels are kept
    assert not torch.allclose(w_exact[old:], w_noisy[old:])  # the copies are perturbed
    # Without noise a copy writes exactly what its original writes.
    for w in w_exact[old:]:
        assert (w_exact[:old] == w).flatten(1).all(1).any()


def test_a_narrower_width_is_refused(tiny_config):
    with pytest.raises(ValueError, match="already has 8 channels"):
        wider_config(tiny_config, 8)


def test_training_goes_on_from_a_widened_checkpoint(toy, tiny_config, tmp_path):
    cfg = TrainConfig(epochs=1, batch=8, warmup=1, save_every=100, val_every=100)
    Trainer(toy, None, tmp_path / "a", tiny_config, cfg, progress=False).run()
    trained = tmp_path / "a" / "model.safetensors"
    trainer = Trainer(toy, None, tmp_path / "b", wider_config(tiny_config, 12), cfg,
                      progress=False, init=str(trained))
    assert trainer.model.config.channels == 12
    assert trainer.run()["step"] == len(toy) // 8
