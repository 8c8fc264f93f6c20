"""The stochastic binarizer of Toderici et al. (2016).

In training, ``b(x) = x + eps`` with ``eps`` chosen so that ``b = +1`` with probability
``(1 + x) / 2`` and ``-1`` otherwise (an unbiased estimate of ``x``); the gradient passes
straight through (``db/dx = 1``). At inference ``b(x) = sign(x)``, with ``sign(0) = +1`` so
that every value is one bit.

>>> import torch
>>> binarize(torch.tensor([-0.2, 0.0, 0.7]), sample=False).tolist()
[-1.0, 1.0, 1.0]
"""

from __future__ import annotations

import torch


def binarize(x: torch.Tensor, sample: bool, generator: torch.Generator | None = None,
             straight_through: bool = False) -> torch.Tensor:
    """Map ``x`` in [-1, 1] to {-1, +1}: sampled (training) or by sign (inference; in
    training with ``straight_through``, the bits the codec writes with the gradient of ``x``).
    """
    if not sample:
        b = torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
        return x + (b - x).detach() if straight_through else b
    u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    b = torch.where(u < (1 + x) / 2, 1.0, -1.0).to(x.dtype)
    return x + (b - x).detach()  # forward: b; backward: identity (straight through)


def to_bits(b: torch.Tensor) -> torch.Tensor:
    """{-1, +1} -> {0, 1} as uint8."""
    return (b > 0).to(torch.uint8)


def from_bits(bits: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """{0, 1} -> {-1, +1}."""
    return bits.to(dtype) * 2 - 1
