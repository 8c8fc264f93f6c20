"""What every codec shares: the interface, image and budget checks.

A codec is any object with ``name``, ``encode(image, budget_bytes) -> Code``,
``decode(code) -> image`` and ``min_bytes(image) -> int``; images are ``H x W x 3`` uint8
NumPy arrays. ``roundtrip`` is the language's ``compress[codec, bytes=B]``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from clevrlang.language.errors import DataError, UsageError

from .code import Code


@runtime_checkable
class Codec(Protocol):
    name: str

    def encode(self, image: np.ndarray, budget_bytes: int) -> Code: ...

    def decode(self, code: Code) -> np.ndarray: ...

    def min_bytes(self, image: np.ndarray) -> int: ...


def roundtrip(codec: Codec, image: np.ndarray, budget_bytes: int) -> tuple[np.ndarray, Code]:
    """Encode within the budget and decode again: ``(decoded image, code)``."""
    code = codec.encode(image, budget_bytes)
    return codec.decode(code), code


def check_budget(budget_bytes) -> int:
    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, (int, np.integer)):
        raise UsageError(f"a byte budget is a whole number of bytes, got {budget_bytes!r}")
    if budget_bytes <= 0:
        raise UsageError(f"a byte budget must be positive, got {budget_bytes}")
    return int(budget_bytes)


def check_code(codec_name: str, code: Code) -> None:
    if not isinstance(code, Code):
        raise UsageError(f"expected a Code, got {type(code).__name__}")
    if code.name != codec_name:
        raise DataError(f"this Code was made by codec {code.name!r}; it cannot be decoded "
                        f"with {codec_name!r}")
