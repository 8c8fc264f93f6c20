"""The language's image functions on top of :mod:`clevrlang.compress`.

``compress[codec, bytes=N](img)`` encodes within the byte budget and decodes again;
``encode`` / ``decode`` / ``nbytes`` expose the Code; ``ssim`` / ``psnr`` compare images.
Codecs are built once per name (learned ones load their default weights).
:func:`round_trip` keeps both images, the bytes and the SSIM (a notebook shows them side by side).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from clevrlang.language.errors import BudgetTooSmall, ExecutionError


@cache
def _codec(name: str):
    from clevrlang.compress import get_codec

    return get_codec(name)


def apply(op: str, values: tuple, args: list, on_code=None):
    """Run one codec function of the vocabulary on its evaluated inputs.

    ``on_code(code)`` sees every Code that ``compress`` or ``encode`` makes (compress keeps
    only the decoded image, so its size is known nowhere else).
    """
    from clevrlang.compress import Code, as_image

    if op in ("compress", "encode"):
        name, budget = values
        image = as_image(args[0])
        try:
            code = _codec(name).encode(image, budget)
        except BudgetTooSmall as e:  # this image's fact, not the call's: its questions fail
            raise ExecutionError(e.message) from None
        if on_code is not None:
            on_code(code)
        return _codec(name).decode(code) if op == "compress" else code
    code = args[0]
    if not isinstance(code, Code):
        raise ExecutionError(f"{op} needs a Code, got {type(code).__name__}")
    if op == "decode":
        return _codec(code.name).decode(code)
    if op == "nbytes":
        return int(code.nbytes)
    raise ExecutionError(f"unknown codec function {op}")


def metric(op: str, a, b) -> float:
    from clevrlang import compress

    if op == "ssim":
        return float(compress.ssim(compress.as_image(a), compress.as_image(b)))
    if op == "psnr":
        return float(compress.psnr(compress.as_image(a), compress.as_image(b)))
    raise ExecutionError(f"unknown metric {op}")


@dataclass(frozen=True, eq=False)
class RoundTrip:
    """An image through ``codec`` within ``budget`` bytes: what came back and what it cost."""

    codec: str
    budget: int
    original: object = field(repr=False)  # H x W x 3 uint8 arrays
    decoded: object = field(repr=False)
    nbytes: int  # the header-less payload
    ssim: float

    def _repr_html_(self) -> str:  # Jupyter: both images side by side, bytes and SSIM
        from clevrlang.notebook.display import roundtrip_html

        return roundtrip_html(self)


def round_trip(image, codec: str, budget: int) -> RoundTrip:
    """``compress[codec, bytes=budget](image)`` with its cost and quality kept.

    >>> import numpy as np
    >>> rt = round_trip(np.full((32, 32, 3), 90, np.uint8), "jpeg", 400)
    >>> rt.decoded.shape, rt.nbytes <= 400, rt.ssim > 0.9
    ((32, 32, 3), True, True)
    """
    from clevrlang.compress import as_image

    original = as_image(image)
    code = _codec(codec).encode(original, budget)
    decoded = _codec(codec).decode(code)
    return RoundTrip(codec, budget, original, decoded, int(code.nbytes),
                     metric("ssim", original, decoded))
