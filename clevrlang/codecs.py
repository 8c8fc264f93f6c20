"""The language's image functions on top of :mod:`clevrlang.compress`.

``compress[codec, bytes=N](img)`` encodes within the byte budget and decodes again;
``encode`` / ``decode`` / ``nbytes`` expose the Code; ``ssim`` / ``psnr`` compare images.
Codecs are built once per name (learned ones load their default weights).
"""

from __future__ import annotations

from functools import cache

from clevrlang.errors import ExecutionError


@cache
def _codec(name: str):
    from clevrlang.compress import get_codec

    return get_codec(name)


def apply(op: str, values: tuple, args: list):
    """Run one codec function of the vocabulary on its evaluated inputs."""
    from clevrlang.compress import Code, as_image

    if op in ("compress", "encode"):
        name, budget = values
        image = as_image(args[0])
        code = _codec(name).encode(image, budget)
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
