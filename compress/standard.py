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
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
from PIL import Image

from clevrlang.errors import DataError, UsageError

from .base import as_image, check_budget, check_code
from .code import Code
from .containers import headerless_size


def _jpeg(q: int) -> dict:
    return {"format": "JPEG", "quality": q, "optimize": True}


def _webp(q: int) -> dict:
    return {"format": "WEBP", "quality": q, "method": 6}


def _avif(q: int) -> dict:
    return {"format": "AVIF", "quality": q, "speed": 4, "max_threads": 1}


def _j2k_ratio(k: int, raw_bytes: int) -> float:
    """Knob 0..255 -> a compression ratio from raw/8 bytes (k=0) down to 1:1 (k=255)."""
    top = max(raw_bytes / 8.0, 2.0)
    return float(top ** (1.0 - k / 255.0))


def _jpeg2000(k: int, raw_bytes: int) -> dict:
    return {"format": "JPEG2000", "no_jp2": True, "quality_mode": "rates",
            "quality_layers": [_j2k_ratio(k, raw_bytes)], "irreversible": True, "mct": 1}


@dataclass(frozen=True)
class StandardCodec:
    """A Pillow codec with one monotone size knob (``knobs`` from lowest to highest)."""

    name: str
    knobs: range
    options: Callable[..., dict]
    needs_raw_size: bool = False

    def _options(self, knob: int, image: np.ndarray) -> dict:
        if self.needs_raw_size:
            return self.options(knob, image.size)
        return self.options(knob)

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
            raise UsageError(
                f"budget {budget} B is below the smallest {self.name} payload for this "
                f"{image.shape[1]}x{image.shape[0]} image: {at(lo)[1]} B (header-less)")
        if at(hi)[1] <= budget:
            lo = hi
        while hi - lo > 1:  # invariant: at(lo) fits, at(hi) does not
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if at(mid)[1] <= budget else (lo, mid)
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
    keep = ("format", "quality", "quality_layers")
    return {k: v for k, v in options.items() if k in keep}


STANDARD: dict[str, StandardCodec] = {
    "jpeg": StandardCodec("jpeg", range(1, 101), _jpeg),
    "webp": StandardCodec("webp", range(0, 101), _webp),
    "jpeg2000": StandardCodec("jpeg2000", range(0, 256), partial(_jpeg2000), needs_raw_size=True),
    "avif": StandardCodec("avif", range(0, 101), _avif),
}
