import numpy as np
import pytest

from clevrlang.compress import Code, get_codec, headerless_size
from clevrlang.language.errors import DataError, UsageError
from clevrlang.language.vocabulary import STANDARD_CODECS


@pytest.mark.parametrize("name", STANDARD_CODECS)
@pytest.mark.parametrize("budget", [64, 128])
def test_budget_is_respected_and_headerless_is_smaller(name, budget, thumbs):
    codec = get_codec(name)
    for img in thumbs:
        if codec.min_bytes(img) > budget:  # AVIF cannot reach 64 B on some thumbnails
            with pytest.raises(UsageError, match="below the smallest"):
                codec.encode(img, budget)
            continue
        code = codec.encode(img, budget)
        assert code.nbytes <= budget
        assert code.nbytes < code.total_bytes == len(code.data)
        assert headerless_size(name, code.data) == code.nbytes
        out = codec.decode(code)
        assert out.shape == img.shape and out.dtype == np.uint8


@pytest.mark.parametrize("name", STANDARD_CODECS)
def test_round_trip_odd_shape_and_saved_file(name, picture, tmp_path):
    codec = get_codec(name)
    code = codec.encode(picture, 400)
    out = codec.decode(Code.load(code.save(tmp_path / "p.clc")))
    assert out.shape == picture.shape
    assert np.array_equal(out, codec.decode(code))


def test_bigger_budget_is_no_worse(thumbs):
    from clevrlang.compress import psnr

    codec = get_codec("jpeg")
    small, big = (codec.decode(codec.encode(thumbs[0], b)) for b in (64, 256))
    assert psnr(thumbs[0], big) >= psnr(thumbs[0], small)


@pytest.mark.parametrize("name", STANDARD_CODECS)
def test_budget_below_minimum_names_the_minimum(name, thumbs):
    codec = get_codec(name)
    smallest = codec.min_bytes(thumbs[0])
    if smallest <= 1:
        pytest.skip(f"{name} can code this image in {smallest} B")
    with pytest.raises(UsageError, match=f"smallest {name} payload .*: {smallest} B"):
        codec.encode(thumbs[0], smallest - 1)


@pytest.mark.parametrize("name", STANDARD_CODECS)
def test_foreign_bytes_are_data_errors(name):
    with pytest.raises(DataError):
        headerless_size(name, b"definitely not an image file at all")


def test_bad_budget_and_image_are_usage_errors(thumbs):
    codec = get_codec("webp")
    with pytest.raises(UsageError, match="positive"):
        codec.encode(thumbs[0], 0)
    with pytest.raises(UsageError, match="whole number"):
        codec.encode(thumbs[0], 12.5)
    with pytest.raises(UsageError, match="H x W x 3 uint8"):
        codec.encode(thumbs[0].astype(np.float32), 100)


def test_code_of_another_codec_is_refused(thumbs):
    code = get_codec("jpeg").encode(thumbs[0], 128)
    with pytest.raises(DataError, match="made by codec 'jpeg'"):
        get_codec("webp").decode(code)
