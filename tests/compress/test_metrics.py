import math

import numpy as np
import pytest

from clevrlang.compress import bpp, ms_ssim, psnr, ssim
from clevrlang.language.errors import UsageError


def _noisy(img, sigma=20, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def test_identical_images(thumbs):
    assert ssim(thumbs[0], thumbs[0]) == 1.0
    assert ms_ssim(thumbs[0], thumbs[0]) == pytest.approx(1.0)
    assert psnr(thumbs[0], thumbs[0]) == math.inf


def test_ssim_matches_pytorch_msssim(thumbs):
    import torch
    from pytorch_msssim import ssim as tssim

    a, b = thumbs[0], _noisy(thumbs[0])
    t = [torch.from_numpy(x).permute(2, 0, 1)[None].double() for x in (a, b)]
    # pytorch-msssim builds its window in float32
    assert ssim(a, b) == pytest.approx(float(tssim(*t, data_range=255)), abs=1e-5)


def test_ms_ssim_works_on_thumbnails_and_orders_noise(thumbs):
    a = thumbs[1]
    mild, strong = ms_ssim(a, _noisy(a, 5)), ms_ssim(a, _noisy(a, 40))
    assert 0 < strong < mild < 1


def test_psnr_and_bpp():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255  # MSE = 255^2 / 48
    assert psnr(a, b) == pytest.approx(10 * math.log10(48))
    assert bpp(128, (32, 32, 3)) == 1.0


def test_bad_inputs():
    with pytest.raises(UsageError, match="differ in shape"):
        ssim(np.zeros((32, 32, 3), np.uint8), np.zeros((32, 31, 3), np.uint8))
    with pytest.raises(UsageError, match="at least 11x11"):
        ssim(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))
