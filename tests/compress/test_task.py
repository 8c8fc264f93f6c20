"""The task codec (compress/task.py): bitstream, budgets, bit-exact decoding, errors, training."""

import dataclasses
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from clevrlang.compress import Code, get_codec
from clevrlang.compress.task import (HEADER_BYTES, TaskCodec, TaskConfig, build_task_net,
                                     load_task_net, save_task_net)
from clevrlang.language.errors import CheckpointError, DataError, UsageError
from clevrlang.language.vocabulary import ENUMS, TASK_CODECS, Type


def tiny(iterations: int = 4, seed: int = 0) -> TaskCodec:
    return TaskCodec(build_task_net(TaskConfig(width=16, iterations=iterations), seed))


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """A rendered 80x64 scene (not a multiple of the stride in height: 64 is, 80 is)."""
    from clevrlang.modules.learned.training.toy import toy_dataset

    return toy_dataset(1, 1, seed=3, size=(80, 56)).images[0]


def test_names_are_in_the_vocabulary():
    assert set(TASK_CODECS) <= set(ENUMS[Type.CODEC]) and "task" in TASK_CODECS


def test_round_trip_and_the_payload_is_the_bitstream(scene):
    codec = tiny()
    code = codec.encode(scene, 10_000)
    assert code.iterations == 4
    assert code.nbytes == code.total_bytes == len(code.data)
    assert (len(code.data) - HEADER_BYTES) % 4 == 0  # the header, then 32-bit words
    out = codec.decode(code)
    assert out.shape == scene.shape and out.dtype == np.uint8
    assert Code.from_bytes(code.to_bytes()) == code


def test_budget_keeps_the_last_iteration_that_fits(scene):
    codec = tiny(iterations=6)
    sizes = codec.payload_sizes(scene)
    assert sizes == sorted(sizes) and len(sizes) == 6
    for k, size in enumerate(sizes, 1):
        for budget in (size, size + 1):
            code = codec.encode(scene, budget)
            assert code.iterations == k - (budget < size) or code.iterations == k
            assert code.nbytes <= budget
        code = codec.encode(scene, size)
        assert code.iterations == k and code.nbytes == size
    with pytest.raises(UsageError, match="below one iteration"):
        codec.encode(scene, sizes[0] - 1)
    assert codec.min_bytes(scene) == sizes[0]


def test_entropy_coding_spends_fewer_bits_on_predictable_ones(scene):
    """A prior that predicts the bits well makes the stream shorter than the raw bits."""
    net = build_task_net(TaskConfig(width=16, iterations=4))
    codec = TaskCodec(net)
    raw = codec.encode(scene, 10_000).params["raw_bits"] / 8
    with torch.no_grad():  # the encoder writes all ones; the prior says so
        net.encoder[-2].weight.zero_()
        net.encoder[-2].bias.fill_(1.0)
        net.prior[-1].weight.zero_()
        net.prior[-1].bias.fill_(6.0)
    code = TaskCodec(net).encode(scene, 10_000)
    assert code.nbytes == HEADER_BYTES + 4 < raw  # one 32-bit word for 320 bits
    assert TaskCodec(net).decode(code).shape == scene.shape


def test_a_code_decodes_bit_exactly_in_another_process(tmp_path, scene):
    net = build_task_net(TaskConfig(width=16, iterations=3), seed=5)
    weights = save_task_net(tmp_path / "task_conv.safetensors", net)
    codec = TaskCodec(load_task_net(weights))
    code = codec.encode(scene, 10_000)
    code.save(tmp_path / "x.clc")
    np.save(tmp_path / "scene.npy", scene)
    script = textwrap.dedent(f"""
        import numpy as np
        from clevrlang.compress import Code, get_codec
        codec = get_codec("task_conv", weights={str(weights)!r})
        np.save({str(tmp_path / "out.npy")!r}, codec.decode(Code.load({str(tmp_path / "x.clc")!r})))
        again = codec.encode(np.load({str(tmp_path / "scene.npy")!r}), 10_000)
        open({str(tmp_path / "again.bin")!r}, "wb").write(again.data)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    assert np.array_equal(np.load(tmp_path / "out.npy"), codec.decode(code))
    assert (tmp_path / "again.bin").read_bytes() == code.data


@pytest.mark.parametrize("damage", ["drop a word", "add a word", "drop a byte", "flip a byte",
                                    "header"])
def test_a_damaged_code_is_a_data_error(scene, damage):
    codec = tiny()
    code = codec.encode(scene, 10_000)
    data = code.data
    data = {"drop a word": data[:-4], "add a word": data + bytes(4), "drop a byte": data[:-1],
            "flip a byte": data[:8] + bytes([data[8] ^ 0xFF]) + data[9:],
            "header": bytes([data[0] ^ 1]) + data[1:]}[damage]
    with pytest.raises(DataError, match="task_conv Code"):
        codec.decode(dataclasses.replace(code, data=data))


def test_a_damaged_file_and_other_weights_are_data_errors(tmp_path, scene):
    code = tiny().encode(scene, 10_000)
    blob = bytearray(code.to_bytes())
    blob[-3] ^= 0x10
    (tmp_path / "bad.clc").write_bytes(bytes(blob))
    with pytest.raises(DataError, match="CRC"):
        Code.load(tmp_path / "bad.clc")
    (tmp_path / "short.clc").write_bytes(code.to_bytes()[:-4])
    with pytest.raises(DataError, match="truncated"):
        Code.load(tmp_path / "short.clc")
    with pytest.raises(DataError, match="weights"):
        tiny(seed=1).decode(code)


def test_registry_loads_weights_and_refuses_others(tmp_path):
    path = save_task_net(tmp_path / "t.safetensors", build_task_net(TaskConfig(width=16)))
    assert get_codec("task_conv", weights=str(path)).name == "task_conv"
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        get_codec("task_conv", weights=str(tmp_path / "junk.safetensors"))


def test_task_is_the_installed_default():
    from clevrlang.compress.registry import task_weights_path

    if not task_weights_path("task_conv").is_file():
        pytest.skip("no default task_conv weights installed")
    assert get_codec("task").name == "task_conv"
    assert get_codec("task") is get_codec("task_conv")


# -- training -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A toy dataset of 64x48 scenes and a tiny learned back end to answer on them."""
    from clevrlang.modules.learned.checkpoint import save_model
    from clevrlang.modules.learned.model import NMN, ModelConfig
    from clevrlang.modules.learned.training.toy import toy_dataset

    data = toy_dataset(4, 3, seed=1, size=(64, 48))
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("nmn") / "model.safetensors"
    save_model(path, NMN(ModelConfig(channels=8, image_size=(32, 24), stem_widths=(8, 8))))
    return data, path


def _train(data, model, out, **kw):
    from clevrlang.compress.task_training import train_task_codec

    args = dict(steps=6, batch=2, lr=3e-3, out_dir=out, width=16, iterations=3,
                progress=False, task="learned", task_model=model, save_every=2)
    return train_task_codec(data, "task_conv", **{**args, **kw})


def _l1(codec, data) -> float:
    return float(np.mean([np.abs(codec.decode(codec.encode(im, 10_000)).astype(float)
                                 - im).mean() for im in data.images]))


def test_training_lowers_the_loss(world, tmp_path):
    data, model = world
    before = _l1(TaskCodec(build_task_net(TaskConfig(width=16, iterations=3))), data)
    r = _train(data, model, tmp_path, steps=40, lr=1e-2, save_every=40)
    assert {"pix", "bpp", "ce", "acc"} <= set(r.last)
    assert np.mean(r.losses[-5:]) < np.mean(r.losses[:5])
    assert _l1(get_codec("task_conv", weights=str(r.path)), data) < 0.8 * before


def test_training_resumes_exactly(world, tmp_path):
    data, model = world
    whole = _train(data, model, tmp_path / "a")
    _train(data, model, tmp_path / "b", pause_after=3)
    resumed = _train(data, model, tmp_path / "b")
    assert resumed.step == 6 and resumed.losses == whole.losses[3:]
    a, b = load_task_net(whole.path), load_task_net(resumed.path)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))


def test_resume_refuses_another_objective(world, tmp_path):
    data, model = world
    _train(data, model, tmp_path, steps=2)
    with pytest.raises(CheckpointError, match="trained with"):
        _train(data, model, tmp_path, steps=4, task_weight=0.5)


def test_train_codec_cli_trains_a_task_codec(tmp_path, cli):
    """`clevr train codec --codec task_conv --task learned` end to end on a tiny world."""
    world = tmp_path / "w"
    code, _, err = cli("world", "make", world, "--images", "2", "--size", "64x48", "-q")
    assert code == 0, err
    args = ["train", "codec", "--world", world, "--codec", "task_conv", "--steps", "2",
            "--batch", "2", "--width", "16", "--iterations", "2", "--task", "learned", "-q"]
    code, _, err = cli(*args, "--out", tmp_path / "o")
    assert code == 0, err
    assert (tmp_path / "o" / "task_conv.safetensors").is_file()
    code, _, err = cli(*args, "--out", tmp_path / "o")  # neither --resume nor --force
    assert code == 2 and "--resume" in err
    code, _, err = cli(*args, "--out", tmp_path / "p", "--loss", "ssim")
    assert code == 2 and "thumbnail-codec" in err


def test_checkpoints_from_before_scale_load_full_resolution():
    old = {k: v for k, v in dataclasses.asdict(TaskConfig()).items()
           if k not in ("scale", "blocks")}
    config = TaskConfig.from_json(old)
    assert (config.scale, config.blocks) == (1, 0)
    assert (TaskConfig().scale, TaskConfig().blocks) == (2, 2)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_the_network_codes_the_downsampled_image(scale, scene):
    net = build_task_net(TaskConfig(width=16, iterations=2, scale=scale, blocks=1))
    x = torch.rand(1, 3, 64, 96) - 0.5
    with torch.no_grad():
        codes = net.analysis(x)
        assert codes.shape == (1, 2 * 4, 4, 6)  # one cell per 16x16 pixels, any scale
        small = net.decoder(torch.sign(codes))
        assert small.shape[-2:] == (64 // scale, 96 // scale)
        assert net.synthesis(torch.sign(codes)).shape == x.shape
    codec = TaskCodec(net)
    assert codec.decode(codec.encode(scene, 10_000)).shape == scene.shape


def test_feature_loss_alone_trains_without_answers(world, tmp_path):
    data, model = world
    r = _train(data, model, tmp_path, steps=30, lr=1e-2, task_weight=0.0, feature_weight=1.0,
               save_every=30)
    assert "feat" in r.last and "ce" not in r.last
    assert np.mean(r.losses[-5:]) < np.mean(r.losses[:5])


def test_scale_is_a_task_codec_option(tmp_path, cli):
    code, _, err = cli("train", "codec", "--world", tmp_path, "--codec", "conv_lstm",
                       "--scale", "2", "-q")
    assert code == 2 and "task codec" in err


def test_object_weights_count_objects_and_their_edges():
    from clevrlang.compress.task_training import object_weights

    masks = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    masks[..., 8:16, 8:16] = 1  # one object: cells (2..3, 2..3) of an 8x8 grid
    w = object_weights(masks, (8, 8), 4.0)[0, 0]
    assert w[2, 2] == w[3, 3] == 5.0  # on the object
    assert w[1, 1] == w[4, 4] == 5.0  # one cell around it
    assert w[0, 0] == w[6, 6] == 1.0  # the floor
    assert torch.equal(object_weights(masks, (8, 8), 0.0), torch.ones(1, 1, 8, 8))


def test_balanced_object_weights_let_a_small_object_count_like_a_large_one():
    from clevrlang.compress.task_training import object_weights

    masks = torch.zeros(1, 1, 64, 64, dtype=torch.uint8)
    masks[..., :24, :24] = 1  # a large object: 3x3 cells of the 8x8 grid, 4x4 dilated
    masks[..., 56:, 56:] = 2  # a small one: 1 cell, 2x2 dilated (at the corner)
    plain = object_weights(masks, (8, 8), 4.0)[0, 0]
    assert plain[1, 1] == plain[7, 7] == 5.0  # per pixel: both objects weigh alike per cell
    w = object_weights(masks, (8, 8), 4.0, balance=True)[0, 0]
    assert w[7, 7] > 5.0 > w[1, 1] > 1.0  # the small object's cells weigh more
    assert w[0, 7] == w[5, 5] == 1.0  # the floor stays 1
    # each object's extra weight in all is the same (mean area 10 cells: 40 each)
    assert torch.isclose((w[:4, :4] - 1).sum(), torch.tensor(40.0))
    assert torch.isclose((w[6:, 6:] - 1).sum(), torch.tensor(40.0))
    floor = torch.zeros(2, 1, 16, 16, dtype=torch.uint8)
    assert torch.equal(object_weights(floor, (4, 4), 4.0, balance=True), torch.ones(2, 1, 4, 4))


def test_feature_loss_weighted_by_objects():
    from clevrlang.compress.task_training import _feature_loss
    from clevrlang.modules.learned.model import NMN, ModelConfig

    torch.manual_seed(0)  # a stem with a 6x8 feature grid on 64x48 images
    model = NMN(ModelConfig(channels=8, image_size=(64, 48), stem_widths=(8, 8)))
    x = torch.rand(2, 3, 48, 64) - 0.5
    recon = x.clone()
    recon[..., 36:, :] += 0.3  # the bottom quarter decoded badly
    masks = torch.zeros(2, 1, 48, 64, dtype=torch.uint8)
    plain = _feature_loss(model, recon, x)
    assert torch.allclose(_feature_loss(model, recon, x, (masks, 0.0)), plain)
    top, bottom = masks.clone(), masks.clone()
    top[..., :12, :] = 1
    bottom[..., 36:, :] = 1
    # An object where the picture is wrong weighs its error more than one where it is right.
    assert _feature_loss(model, recon, x, (bottom, 8.0)) > plain \
        > _feature_loss(model, recon, x, (top, 8.0))


def test_train_codec_object_weight_reads_the_worlds_masks(tmp_path, cli):
    world = tmp_path / "w"
    code, _, err = cli("world", "make", world, "--images", "2", "--size", "64x48", "-q")
    assert code == 0, err
    code, _, err = cli("train", "codec", "--world", world, "--codec", "task_conv", "--steps",
                       "2", "--batch", "2", "--width", "16", "--iterations", "2", "--task",
                       "learned", "--task-weight", "0", "--object-weight", "4", "-q",
                       "--out", tmp_path / "o")
    assert code == 0, err
    saved = json.loads((tmp_path / "o" / "task_conv.json").read_text())
    assert saved["object_weight"] == 4.0
    code, _, err = cli("train", "codec", "--world", world, "--codec", "task_conv", "--steps",
                       "2", "--batch", "2", "--width", "16", "--iterations", "2", "--task",
                       "learned", "--task-weight", "0", "--object-weight", "4",
                       "--balance-objects", "-q", "--out", tmp_path / "b")
    assert code == 0, err
    assert json.loads((tmp_path / "b" / "task_conv.json").read_text())["balance_objects"]
    code, _, err = cli("train", "codec", "--world", world, "--codec", "conv_lstm",
                       "--object-weight", "4", "-q")
    assert code == 2 and "task codec" in err


def test_object_weight_needs_masks(world, tmp_path):
    data, model = world
    with pytest.raises(UsageError, match="object masks"):
        _train(data, model, tmp_path, object_weight=2.0)
