import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from clevrlang.compress import get_codec, load_net, synthetic_images, train_codec
from clevrlang.compress.binarizer import binarize
from clevrlang.language.errors import CheckpointError, DataError, UsageError


@pytest.fixture(scope="module")
def pool():
    return synthetic_images(6, size=(48, 48), seed=1)


def _train(pool, out, steps, **kw):
    args = dict(iterations=2, batch=8, width=32, lr=3e-3, out_dir=out, progress=False)
    return train_codec(pool, kw.pop("codec", "fc_residual_shared"), steps=steps,
                       **{**args, **kw})


def test_loss_falls(pool, tmp_path):
    r = _train(pool, tmp_path, 40)
    assert np.mean(r.losses[-8:]) < 0.8 * np.mean(r.losses[:4])
    assert r.path.is_file() and r.path.with_suffix(".json").is_file()
    config = json.loads(r.path.with_suffix(".json").read_text())
    assert config["codec"] == "fc_residual_shared" and config["step"] == 40
    codec = get_codec("fc_residual_shared", weights=r.path)
    assert codec.decode(codec.encode(pool[0], 10_000)).shape == pool[0].shape


def test_resume_continues_exactly(pool, tmp_path):
    whole = _train(pool, tmp_path / "a", 6, codec="conv_lstm", width=16)
    first = _train(pool, tmp_path / "b", 6, codec="conv_lstm", width=16, pause_after=3)
    assert first.step == 3 and first.losses == whole.losses[:3]
    rest = _train(pool, tmp_path / "b", 6, codec="conv_lstm", width=16)
    assert rest.step == 6 and len(rest.losses) == 3
    assert rest.losses == whole.losses[3:]
    a, b = load_file(whole.path), load_file(rest.path)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_another_config(pool, tmp_path):
    _train(pool, tmp_path, 1)
    with pytest.raises(CheckpointError, match="resume=False"):
        _train(pool, tmp_path, 2, width=64)
    assert _train(pool, tmp_path, 1, width=64, resume=False).step == 1
    with pytest.raises(CheckpointError, match="loss 'l1', this run asks for loss 'ssim'"):
        _train(pool, tmp_path, 2, width=64, codec="fc_residual_shared", loss="ssim")


def test_iteration_weights_weight_each_iterations_loss(pool, tmp_path):
    plain = _train(pool, tmp_path / "a", 2)
    ones = _train(pool, tmp_path / "b", 2, iteration_weights=[1, 1])
    assert ones.losses == plain.losses  # all ones is the default objective
    last = _train(pool, tmp_path / "c", 2, iteration_weights=[0, 2])
    assert last.losses[0] != plain.losses[0]
    meta = json.loads(last.path.with_suffix(".json").read_text())
    assert meta["iteration_weights"] == [0.0, 2.0]
    with pytest.raises(CheckpointError, match="iteration weights 0.0,2.0, this run asks for "
                                              "loss 'l1'\n"):
        _train(pool, tmp_path / "c", 3)
    for bad, message in [([1], "1 iteration weights for a codec of 2"),
                         ([1, -1], "must be finite, >= 0"), ([0, 0], "not all 0")]:
        with pytest.raises(UsageError, match=message):
            _train(pool, tmp_path / "d", 1, iteration_weights=bad)


def test_a_second_pool_gives_half_of_every_batch(pool, tmp_path):
    from clevrlang.compress.training import _batch

    dark, light = [np.zeros((32, 32, 3), np.uint8)], [np.full((64, 48, 3), 255, np.uint8)]
    crops = _batch([dark, light], np.random.default_rng(0), 5)
    assert crops.shape == (5, 3, 32, 32)
    assert crops.amax((1, 2, 3)).tolist() == [-0.5] * 3 + [0.5] * 2
    r = _train(pool, tmp_path, 1, more_images=synthetic_images(2, size=(96, 64), seed=2))
    assert json.loads(r.path.with_suffix(".json").read_text())["pools"] == 2
    with pytest.raises(CheckpointError, match="'l1' on 2 image pools, this run asks for loss "
                                              "'l1'\n"):
        _train(pool, tmp_path, 2)


def test_bad_training_input(tmp_path):
    with pytest.raises(UsageError, match="not a learned codec"):
        train_codec(synthetic_images(1), "jpeg", out_dir=tmp_path)
    with pytest.raises(DataError, match="smaller than the 32x32"):
        train_codec(synthetic_images(1, (16, 64)), "conv_lstm", out_dir=tmp_path)


def test_corrupt_and_mismatched_checkpoints(pool, tmp_path):
    path = _train(pool, tmp_path, 1).path
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_net(tmp_path / "junk.safetensors")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not a clevrlang codec checkpoint"):
        load_net(tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="not 'conv_lstm'"):
        get_codec("conv_lstm", weights=path)
    tensors = load_file(path)
    tensors.pop(sorted(tensors)[0])
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    save_file(tensors, str(tmp_path / "cut.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="does not match .*missing"):
        load_net(tmp_path / "cut.safetensors")


def test_crops_and_tiles_are_inverse():
    from clevrlang.compress.training import crops_to_tiles, tiles_to_crops

    x = torch.rand(3, 3, 32, 32)
    for tile in (8, 32):
        tiles = crops_to_tiles(x, tile)
        assert tiles.shape == (3 * (32 // tile) ** 2, 3, tile, tile)
        assert torch.equal(tiles_to_crops(tiles, x.shape), x)


def test_ssim_loss_is_the_pinned_ssim():
    from clevrlang.compress.metrics import ssim
    from clevrlang.compress.training import ssim_loss

    a, b = synthetic_images(2, size=(32, 32), seed=3)
    ta, tb = (torch.from_numpy(im).permute(2, 0, 1)[None].double().div(255).sub(0.5)
              for im in (a, b))
    assert float(ssim_loss(ta, ta)) == pytest.approx(0.0, abs=1e-9)
    assert 1 - float(ssim_loss(ta, tb)) == pytest.approx(ssim(a, b), abs=1e-5)


@pytest.mark.parametrize("codec", ["conv_lstm", "fc_lstm"])  # 32x32 and 8x8 tiles
def test_ssim_loss_trains(pool, tmp_path, codec):
    r = _train(pool, tmp_path, 30, codec=codec, width=16 if codec == "conv_lstm" else 32,
               loss="ssim")
    assert np.mean(r.losses[-6:]) < np.mean(r.losses[:3])
    assert json.loads(r.path.with_suffix(".json").read_text())["loss"] == "ssim"
    with pytest.raises(UsageError, match="unknown loss"):
        _train(pool, tmp_path / "x", 1, loss="l2")


def test_init_starts_from_the_weights_and_their_config(pool, tmp_path):
    start = _train(pool, tmp_path / "a", 3, codec="conv_lstm", width=16)
    # lr 0: Adam moves nothing, so the weights must be exactly those started from
    tuned = _train(pool, tmp_path / "b", 2, codec="conv_lstm", width=64, iterations=5,
                   lr=0.0, init=start.path)
    assert load_net(tuned.path).config == load_net(start.path).config
    a, b = load_file(start.path), load_file(tuned.path)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads(tuned.path.with_suffix(".json").read_text())["init"] == str(start.path)
    with pytest.raises(CheckpointError, match="not 'fc_lstm'"):
        _train(pool, tmp_path / "c", 1, codec="fc_lstm", init=start.path)


def test_init_with_wider_edges_starts_from_the_same_function(tmp_path):
    from clevrlang.compress.networks import unroll

    images = synthetic_images(4)
    first = train_codec(images, "conv_lstm", iterations=2, steps=2, batch=2, width=16,
                        code_channels=32, out_dir=tmp_path / "a", progress=False)
    wide = train_codec(images, "conv_lstm", steps=1, batch=2, lr=0.0, init=first.path,
                       edge_channels=8, out_dir=tmp_path / "b", progress=False)
    old, new = load_net(first.path).eval(), load_net(wide.path).eval()
    assert new.config.edge_channels == 8
    x = torch.rand(3, 3, 32, 32) - 0.5
    with torch.no_grad():
        assert torch.allclose(unroll(old, x, 2, sample=False)[0],
                              unroll(new, x, 2, sample=False)[0], atol=1e-6)
    with pytest.raises(UsageError, match="conv_lstm setting"):
        train_codec(images, "conv_residual", steps=1, batch=2, width=16, edge_channels=8,
                    out_dir=tmp_path / "c", progress=False)


def test_sign_bits_train_on_what_the_codec_writes(pool, tmp_path):
    """binarizer="sign": the loss is that of the bits encode writes (no sampling noise), the
    gradient still reaches the encoder, and a resume must ask for the same bits."""
    sign = _train(pool, tmp_path / "a", 30, codec="conv_autoencoder", width=16, lr=1e-2,
                  binarizer="sign")
    assert np.mean(sign.losses[-5:]) < 0.8 * np.mean(sign.losses[:3])
    assert json.loads(sign.path.with_suffix(".json").read_text())["binarizer"] == "sign"
    with pytest.raises(CheckpointError, match="sign bits, this run asks for"):
        _train(pool, tmp_path / "a", 31, codec="conv_autoencoder", width=16, lr=1e-2)
    with pytest.raises(UsageError, match="unknown binarizer"):
        _train(pool, tmp_path / "b", 1, binarizer="round")
    x = torch.tensor([-0.3, 0.2], requires_grad=True)
    b = binarize(x, sample=False, straight_through=True)
    b.sum().backward()
    assert b.tolist() == [-1.0, 1.0] and x.grad.tolist() == [1.0, 1.0]
