"""Codec speed on 32x32 thumbnails and on a 320x480 picture (run with --benchmark-only)."""

import pytest

from clevrlang.compress import get_codec, synthetic_images
from clevrlang.compress.learned import LearnedCodec
from clevrlang.compress.networks import DEFAULT_WIDTH, NetConfig, build_net
from clevrlang.language.vocabulary import LEARNED_CODECS, STANDARD_CODECS



@pytest.fixture(scope="module")
def thumb():
    return synthetic_images(1, size=(32, 32), seed=5)[0]


@pytest.fixture(scope="module")
def picture():
    return synthetic_images(1, size=(320, 480), seed=6)[0]


def _codec(name):
    if name in STANDARD_CODECS:
        return get_codec(name)
    # default-width network (untrained weights code at the same speed as trained ones)
    return LearnedCodec(build_net(NetConfig(name, DEFAULT_WIDTH[name], 16)))


@pytest.mark.parametrize("name", STANDARD_CODECS + LEARNED_CODECS)
def test_encode_thumbnail_128B(benchmark, name, thumb):
    codec = _codec(name)
    code = benchmark(codec.encode, thumb, 128)
    assert code.nbytes <= 128


@pytest.mark.parametrize("name", STANDARD_CODECS + LEARNED_CODECS)
def test_decode_thumbnail_128B(benchmark, name, thumb):
    codec = _codec(name)
    code = codec.encode(thumb, 128)
    assert benchmark(codec.decode, code).shape == thumb.shape


@pytest.mark.parametrize("name", ["jpeg", "conv_lstm", "fc_residual"])
def test_encode_picture_half_bpp(benchmark, name, picture):
    codec = _codec(name)
    budget = picture.shape[0] * picture.shape[1] // 16  # 0.5 bpp
    code = benchmark.pedantic(codec.encode, (picture, budget), rounds=3)
    assert code.nbytes <= budget


@pytest.fixture(scope="module")
def scene_320x240():
    from clevrlang.modules.learned.training.toy import toy_dataset

    return toy_dataset(1, 1, seed=4, size=(320, 240)).images[0]


@pytest.mark.parametrize("name", ["jpeg", "webp", "task_conv"])
def test_round_trip_320x240_640B_one_thread(benchmark, name, scene_320x240):
    """Encode + decode of a 320x240 scene at 640 B on one thread: the task codec beside JPEG's
    quality search (the installed task_conv weights, else an untrained default-size net)."""
    import torch

    from clevrlang.compress.registry import task_weights_path
    from clevrlang.compress.task import TaskCodec, TaskConfig, build_task_net

    if name == "task_conv" and not task_weights_path(name).is_file():
        codec = TaskCodec(build_task_net(TaskConfig()))
    else:
        codec = get_codec(name)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = benchmark.pedantic(lambda: codec.decode(codec.encode(scene_320x240, 640)),
                                 rounds=5)
    finally:
        torch.set_num_threads(threads)
    assert out.shape == scene_320x240.shape
