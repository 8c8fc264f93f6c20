import pytest

from clevrlang.compress import get_codec
from clevrlang.language.errors import CheckpointError, UsageError
from clevrlang.language.vocabulary import LEARNED_CODECS, STANDARD_CODECS


def test_standard_codecs_by_name():
    for name in STANDARD_CODECS:
        assert get_codec(name).name == name


@pytest.mark.parametrize("name", LEARNED_CODECS)
def test_every_learned_codec_is_installed_with_weights(name, world_thumbnail):
    codec = get_codec(name)
    code = codec.encode(world_thumbnail, 128)
    assert code.nbytes <= 128 and code.iterations >= 1
    # trained on world thumbnails: closer to one than its flat mean colour is
    im = world_thumbnail.astype(float)
    flat = abs(im - im.mean((0, 1))).mean()
    assert abs(codec.decode(code).astype(float) - im).mean() < flat


@pytest.fixture(scope="module")
def world_thumbnail():
    import numpy as np
    from PIL import Image

    from clevrlang.world.render import render
    from clevrlang.world.scenes import make_scene

    image = render(make_scene(7, 0, "val"), 320, 240).image
    return np.asarray(Image.fromarray(image).resize((32, 32), Image.Resampling.LANCZOS))


@pytest.mark.parametrize("typo, suggestion", [("jpg", "'jpeg'"), ("conv_lsmt", "'conv_lstm'"),
                                              ("webpp", "'webp'")])
def test_unknown_codec_suggests(typo, suggestion):
    with pytest.raises(UsageError, match=f"unknown codec '{typo}'; did you mean .*{suggestion}"):
        get_codec(typo)


def test_unknown_codec_without_a_near_name_lists_codecs():
    with pytest.raises(UsageError) as e:
        get_codec("zzzzzz")
    assert "did you mean" not in e.value.message and "conv_lstm" in e.value.render()


def test_standard_codec_takes_no_weights():
    with pytest.raises(UsageError, match="takes no weights"):
        get_codec("jpeg", weights="x.safetensors")


def test_missing_weights_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        get_codec("conv_lstm", weights=tmp_path / "none.safetensors")


def test_missing_defaults_say_how_to_make_them(monkeypatch, tmp_path):
    from clevrlang.compress import checkpoints, registry

    monkeypatch.setattr(checkpoints, "default_weights_path",
                        lambda name: tmp_path / f"{name}.safetensors")
    registry._default.cache_clear()
    with pytest.raises(CheckpointError, match="no default weights") as e:
        get_codec("conv_lstm")
    assert "train_codec" in e.value.render()
