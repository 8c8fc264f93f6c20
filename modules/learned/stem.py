"""The image stem (a small CNN trained from scratch) and the image preprocessing it expects.

No ImageNet weights exist offline, so the stem either learns end to end with the modules or
is first pretrained on the world's own dense labels (:mod:`.training.pretrain`: which object, and
its colour, size, material and shape, under every feature cell) as a stand-in.

>>> import numpy as np
>>> x = to_tensor([np.zeros((120, 160, 3), np.uint8)], (128, 96))
>>> tuple(x.shape), tuple(Stem(32)(x).shape)
((1, 3, 96, 128), (1, 32, 12, 16))
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

MEAN, STD = 0.5, 0.25  # CLEVR images are mid-grey on average
STRIDE = 8


def _conv(cin: int, cout: int, stride: int) -> list[nn.Module]:
    # No batch norm (as in IEP's stem): a sample's features never depend on its batch, so
    # the compiled batch equals the per-question loop and DDP equals one process, exactly.
    # (Group norm would do the same but costs 15 % of a CPU training step.)
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU(inplace=True)]


class Stem(nn.Module):
    """Three stride-2 3x3 convs and one at stride 1, each with a ReLU: (N,3,H,W) -> (N,C,H/8,W/8)."""

    def __init__(self, channels: int, widths: Sequence[int] = (32, 64)):
        super().__init__()
        a, b = widths
        self.layers = nn.Sequential(*_conv(3, a, 2), *_conv(a, b, 2),
                                    *_conv(b, channels, 2), *_conv(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` (H, W, 3 uint8) at ``size`` = (width, height), bilinear with antialiasing."""
    if image.shape[1] == size[0] and image.shape[0] == size[1]:
        return image
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=None))


def as_uint8(images: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """A stack (N, H, W, 3) uint8 of the images at ``size``; grey or RGBA are converted."""
    out = np.empty((len(images), size[1], size[0], 3), np.uint8)
    for i, img in enumerate(images):
        img = np.asarray(img)
        if img.dtype != np.uint8:
            raise TypeError(f"image {i}: expected uint8 pixels, got {img.dtype}")
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, 2)
        out[i] = resize(np.ascontiguousarray(img[:, :, :3]), size)
    return out


def normalize(batch: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 tensor -> (N, 3, H, W) float, centred.

    In place on the one float copy: the same operations in the same order (so the same
    bits) as ``(x / 255 - MEAN) / STD``, ~3x faster on a CPU than three new tensors."""
    x = batch.permute(0, 3, 1, 2).float()
    if x.data_ptr() == batch.data_ptr():  # already float: .float() made no copy
        x = x.clone()
    return x.div_(255.0).sub_(MEAN).div_(STD)


def normalize_float(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, 3, H, W) float in [0, 1] -> the model's input at ``size``, differentiably: bilinear
    with antialiasing as :func:`resize` (without its rounding to uint8), then centred. Codec
    training backpropagates the answer loss through it into decoded images."""
    if tuple(x.shape[-2:]) != (size[1], size[0]):
        x = torch.nn.functional.interpolate(x, size=(size[1], size[0]), mode="bilinear",
                                            antialias=True, align_corners=False)
    return (x - MEAN) / STD


def to_tensor(images: Sequence[np.ndarray], size: tuple[int, int], device=None) -> torch.Tensor:
    """Images (H x W x 3 uint8 arrays) -> a normalised (N, 3, H, W) float tensor at ``size``."""
    return normalize(torch.from_numpy(as_uint8(images, size)).to(device))


def input_size(width: int, height: int, target_width: int = 128) -> tuple[int, int]:
    """The model input size for images of ``width x height``: ``target_width`` wide, the
    height scaled to keep the aspect and rounded to the stem's stride."""
    h = max(STRIDE, round(target_width * height / width / STRIDE) * STRIDE)
    return target_width, h
