"""Image quality metrics with one pinned definition each.

* **SSIM** (Wang et al. 2004): Gaussian window 11x11, sigma 1.5, K1 = 0.01, K2 = 0.03,
  data range 255, population (not sample) covariances, the mean over the valid window
  positions of each RGB channel, averaged over channels. Computed by scikit-image's
  ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``,
  which equals pytorch-msssim's ``ssim``. (scikit-image's *default* 7x7 uniform window gives
  higher numbers; it is not used.)
* **MS-SSIM** (Wang et al. 2003): pytorch-msssim's per-scale SSIM and contrast terms with the
  standard five weights, truncated to the scales at which the 11x11 window still fits
  (2 scales on a 32x32 image) and renormalised to sum to one.
* **PSNR**: ``10 log10(255^2 / MSE)`` over all pixels and channels; ``inf`` when identical.
* **bpp**: bits per pixel of a payload.

>>> import numpy as np
>>> img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
>>> ssim(img, img), psnr(img, img), bpp(128, img.shape)
(1.0, inf, 1.0)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from clevrlang.language.errors import UsageError

WIN_SIZE = 11
WIN_SIGMA = 1.5
K1, K2 = 0.01, 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise UsageError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise UsageError(f"expected H x W x 3 images, got shape {a.shape}")
    if min(a.shape[:2]) < WIN_SIZE:
        raise UsageError(f"SSIM needs images of at least {WIN_SIZE}x{WIN_SIZE} pixels, "
                         f"got {a.shape[1]}x{a.shape[0]}")
    return a, b


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two ``H x W x 3`` images in 0..255 (the pinned definition above)."""
    from skimage.metrics import structural_similarity

    a, b = _pair(a, b)
    if np.array_equal(a, b):
        return 1.0
    return float(structural_similarity(
        a.astype(np.float64), b.astype(np.float64), gaussian_weights=True, sigma=WIN_SIGMA,
        use_sample_covariance=False, data_range=255, channel_axis=2, K1=K1, K2=K2))


def ms_ssim_scales(height: int, width: int) -> int:
    """How many of the five MS-SSIM scales fit an 11x11 window on an image this size."""
    side, levels = min(height, width), 0
    while levels < len(MS_SSIM_WEIGHTS) and side >= WIN_SIZE:
        levels, side = levels + 1, side // 2
    return levels


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Multi-scale SSIM with as many scales as the image allows (at least one)."""
    import torch
    import torch.nn.functional as F
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    a, b = _pair(a, b)
    levels = ms_ssim_scales(*a.shape[:2])
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], dtype=torch.float64)
    weights = weights / weights.sum()
    x = torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None]
    y = torch.from_numpy(b.astype(np.float64)).permute(2, 0, 1)[None]
    win = _fspecial_gauss_1d(WIN_SIZE, WIN_SIGMA).to(torch.float64).repeat(3, 1, 1, 1)
    terms = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(levels):
            s, cs = _ssim(x, y, data_range=255, win=win, size_average=False, K=(K1, K2))
            if i < levels - 1:
                terms.append(torch.relu(cs))
                pad = [d % 2 for d in x.shape[2:]]
                x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    terms.append(torch.relu(s))
    stacked = torch.stack(terms)  # (levels, 1, channels)
    return float(torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (peak 255); ``inf`` for identical images."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise UsageError(f"images differ in shape: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def bpp(nbytes: int, shape: tuple[int, ...]) -> float:
    """Bits per pixel of ``nbytes`` spread over an image of ``shape`` (H, W, ...)."""
    return 8.0 * nbytes / (shape[0] * shape[1])
