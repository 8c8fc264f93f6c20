"""clevrlang.compress: image codecs behind one interface, their metrics, training and reports.

Standard codecs (JPEG, WebP, JPEG 2000, AVIF through Pillow) search their quality per image so
the header-less payload fits a byte budget; learned codecs (Toderici et al. 2016: residual and
LSTM, fully connected and convolutional) spend the budget on progressive iterations.

>>> import numpy as np
>>> from clevrlang.compress import get_codec, ssim
>>> img = np.full((32, 32, 3), 128, np.uint8)
>>> codec = get_codec("webp")
>>> code = codec.encode(img, budget_bytes=64)
>>> code.nbytes <= 64, codec.decode(code).shape
(True, (32, 32, 3))

Torch is imported only by the learned codecs, training and MS-SSIM.
"""

from __future__ import annotations

import importlib

from clevrlang.images import as_image

from .base import Codec, roundtrip
from .code import Code
from .registry import ALL_CODECS, get_codec

_LAZY = {
    "ssim": "metrics", "ms_ssim": "metrics", "psnr": "metrics", "bpp": "metrics",
    "LearnedCodec": "learned", "NetConfig": "networks", "build_net": "networks",
    "DEFAULT_WIDTH": "networks", "train_codec": "training", "TrainResult": "training",
    "load_net": "checkpoints", "save_net": "checkpoints", "load_default": "checkpoints",
    "default_weights_path": "checkpoints", "codec_table": "report",
    "rate_distortion_png": "report", "table_markdown": "report",
    "codec_outputs_png": "report",
    "synthetic_images": "synthetic", "headerless_size": "containers",
}

__all__ = ["ALL_CODECS", "Code", "Codec", "as_image", "get_codec", "roundtrip", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
