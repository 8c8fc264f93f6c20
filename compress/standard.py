"""Standard codecs through Pillow, each searched per image to fit a header-less byte budget.

The quality knob of JPEG, WebP and AVIF (and the compression ratio of JPEG 2000) is found by
binary search: the highest quality whose header-less payload (see :mod:`.containers`) is at
most the budget. Encoders run single-threaded so a code is the same on every run.

>>> import numpy as np
>>> img = np.zeros((32, 32, 3), np.uint8)
>>> code = STANDARD["jpeg"].encode(img, 64)
>>> code.nbytes <= 64 < code.total_bytes
True
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

from clevrlang.images import as_image
from clevrlang.language.errors import BudgetTooSmall, DataError, UsageError

from .base import check_budget, check_code
from .code import Code
from .containers import headerless_size


def _jpeg(q: int, shape) -> dict:
    # On thumbnails 4:4:4 beats 4:2:0 at equal header-less size (SSIM 0.71 vs 0.66 at 64 B on
    # 32x32 synthetic scenes); on large images Pillow's 4:2:0 default is the usual winner.
    subsampling = 0 if min(shape[:2]) <= 64 else -1
    return {"format": "JPEG", "quality": q, "optimize": True, "subsampling": subsampling}


def _webp(q: int, shape) -> dict:
    return {"format": "WEBP", "quality": q, "method": 6}


def _avif(q: int, shape) -> dict:
    return {"format": "AVIF", "quality": q, "speed": 4, "max_threads": 1}


def _j2k_ratio(k: int, raw_bytes: int) -> float:
    """Knob 0..255 -> a compression ratio from raw/8 bytes (k=0) down to 1:1 (k=255)."""
    top = max(raw_bytes / 8.0, 2.0)
    return float(top ** (1.0 - k / 255.0))


def _j2k_levels(shape) -> int:
    """Wavelet resolutions leaving a ~16 px low band: OpenJPEG's default 6 spends a 64 B
    budget on packet headers of a 32x32 image (SSIM 0.48 vs 0.74 with 2 levels here)."""
    return 1 + max(1, min(5, int(math.log2(max(min(shape[:2]), 16) / 16))))


def _jpeg2000(k: int, shape) -> dict:
    return {"format": "JPEG2000", "no_jp2": True, "quality_mode": "rates",
            "quality_layers": [_j2k_ratio(k, math.prod(shape))], "irreversible": True,
            "mct": 1, "num_resolutions": _j2k_levels(shape)}


@dataclass(frozen=True)
class StandardCodec:
    """A Pillow codec with one monotone size knob (``knobs`` from lowest to highest)."""

    name: str
    knobs: range
    options: Callable[[int, tuple], dict]  # (knob, image shape) -> Pillow save options

    def _options(self, knob: int, image: np.ndarray) -> dict:
        return self.options(knob, image.shape)

    def encode_at(self, image: np.ndarray, knob: int) -> bytes:
        """The complete file at one knob setting."""
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, **self._options(knob, image))
        return buf.getvalue()

    def min_bytes(self, image: np.ndarray) -> int:
        """The smallest header-less payload this codec makes for ``image``."""
        image = as_image(image)
        return headerless_size(self.name, self.encode_at(image, self.knobs[0]))

    def encode(self, image: np.ndarray, budget_bytes: int) -> Code:
        image, budget = as_image(image), check_budget(budget_bytes)
        knob, blob, size = self._search(image, budget)
        return Code(name=self.name, shape=image.shape, data=blob, nbytes=size,
                    total_bytes=len(blob), iterations=1, bits_per_iteration=8 * size,
                    params={"knob": knob, **_describe(self._options(knob, image))})

    def _search(self, image: np.ndarray, budget: int) -> tuple[int, bytes, int]:
        cache: dict[int, tuple[bytes, int]] = {}

        def at(i: int) -> tuple[bytes, int]:
            if i not in cache:
                blob = self.encode_at(image, self.knobs[i])
                cache[i] = (blob, headerless_size(self.name, blob))
            return cache[i]

        lo, hi = 0, len(self.knobs) - 1
        if at(lo)[1] > budget:
            raise BudgetTooSmall(
                f"budget {budget} B is below the smallest {self.name} payload for this "
                f"{image.shape[1]}x{image.shape[0]} image: {at(lo)[1]} B (header-less)")
        if at(hi)[1] <= budget:
            lo = hi
        while hi - lo > 1:  # invariant: at(lo) fits, at(hi) does not
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if at(mid)[1] <= budget else (lo, mid)
        # sizes are not quite monotone in the knob: look a little past the boundary
        for i in range(hi + 1, min(len(self.knobs), hi + 1 + len(self.knobs) // 20)):
            if at(i)[1] <= budget:
                lo = i
        blob, size = at(lo)
        return self.knobs[lo], blob, size

    def decode(self, code: Code) -> np.ndarray:
        check_code(self.name, code)
        try:
            with Image.open(io.BytesIO(code.data)) as im:
                out = np.asarray(im.convert("RGB"))
        except (OSError, ValueError, SyntaxError) as e:
            raise DataError(f"cannot decode this {self.name} Code: {e}") from None
        if out.shape != tuple(code.shape):
            raise DataError(f"{self.name} Code decoded to shape {out.shape}, its header says "
                            f"{tuple(code.shape)}")
        return out


def _describe(options: dict) -> dict:
    keep = ("format", "quality", "quality_layers", "num_resolutions")
    return {k: v for k, v in options.items() if k in keep}


STANDARD: dict[str, StandardCodec] = {
    "jpeg": StandardCodec("jpeg", range(1, 101), _jpeg),
    "webp": StandardCodec("webp", range(0, 101), _webp),
    "jpeg2000": StandardCodec("jpeg2000", range(0, 256), _jpeg2000),
    "avif": StandardCodec("avif", range(0, 101), _avif),
}
