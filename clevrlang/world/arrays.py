"""A tiny array namespace so the renderer runs one code path on NumPy and on torch.

Element-wise functions (``sqrt``, ``where``, ``minimum``, ``clip``...) have the same names and
meaning in both libraries and are passed through; the handful that differ (creation with a
device, ``repeat``, scatter reductions, casts) are spelled here once. torch is imported only
when a torch namespace is asked for.

>>> xp = namespace("numpy")
>>> buf = xp.full(3, float("inf"))
>>> xp.scatter_min(buf, xp.asarray([0, 0, 2], "int64"), xp.asarray([5.0, 2.0, 1.0]))
>>> buf.tolist()
[2.0, inf, 1.0]
"""

from __future__ import annotations

import numpy as np

from clevrlang.language.errors import UsageError

_PASS_THROUGH = ("sqrt", "where", "minimum", "maximum", "abs", "clip", "floor", "ceil",
                 "exp", "sign", "reshape", "cumsum")


class NumpyNamespace:
    """Arrays on the CPU through NumPy (float32 and int64)."""

    name = "numpy"

    def __init__(self):
        for fn in _PASS_THROUGH:
            setattr(self, fn, getattr(np, fn))

    def asarray(self, x, dtype: str = "float32"):
        return np.asarray(x, dtype=dtype)

    def zeros(self, n, dtype: str = "float32"):
        return np.zeros(n, dtype=dtype)

    def full(self, n, value, dtype: str = "float32"):
        return np.full(n, value, dtype=dtype)

    def arange(self, n):
        return np.arange(n, dtype=np.int64)

    def cast(self, x, dtype: str):
        return x.astype(dtype)

    def stack(self, xs, axis: int = -1):
        return np.stack(xs, axis=axis)

    def concat(self, xs):
        return np.concatenate(xs)

    def repeat(self, x, counts):
        return np.repeat(x, counts)

    def nonzero(self, mask):
        return np.flatnonzero(mask)

    def bincount(self, idx, n: int, weights=None):
        return np.bincount(idx, weights, minlength=n)

    def scatter_min(self, buf, idx, vals) -> None:
        np.minimum.at(buf, idx, vals)

    def scatter_max(self, buf, idx, vals) -> None:
        np.maximum.at(buf, idx, vals)

    def to_numpy(self, x) -> np.ndarray:
        return np.asarray(x)

    def total(self, x) -> int:
        """A scalar array as a Python int (a device sync on GPUs)."""
        return int(x)


class TorchNamespace:
    """The same operations on torch tensors on ``device`` (CPU or CUDA)."""

    name = "torch"

    def __init__(self, device=None):
        import torch

        from clevrlang.devices import pick_device

        self.torch = torch
        self.device = pick_device(device or "auto")
        for fn in _PASS_THROUGH:
            setattr(self, fn, getattr(torch, fn))
        self.cumsum = lambda x: torch.cumsum(x, 0)

    def _dtype(self, dtype: str):
        return {"float32": self.torch.float32, "int64": self.torch.int64,
                "bool": self.torch.bool, "uint8": self.torch.uint8}[dtype]

    def asarray(self, x, dtype: str = "float32"):
        if isinstance(x, np.ndarray):
            x = np.ascontiguousarray(x)
        return self.torch.as_tensor(x, dtype=self._dtype(dtype), device=self.device)

    def zeros(self, n, dtype: str = "float32"):
        return self.torch.zeros(n, dtype=self._dtype(dtype), device=self.device)

    def full(self, n, value, dtype: str = "float32"):
        return self.torch.full((n,) if isinstance(n, int) else n, value,
                               dtype=self._dtype(dtype), device=self.device)

    def arange(self, n):
        return self.torch.arange(n, dtype=self.torch.int64, device=self.device)

    def cast(self, x, dtype: str):
        return x.to(self._dtype(dtype))

    def stack(self, xs, axis: int = -1):
        return self.torch.stack(xs, dim=axis)

    def concat(self, xs):
        return self.torch.cat(xs)

    def repeat(self, x, counts):
        return self.torch.repeat_interleave(x, counts)

    def nonzero(self, mask):
        return self.torch.nonzero(mask.reshape(-1)).reshape(-1)

    def bincount(self, idx, n: int, weights=None):
        return self.torch.bincount(idx, weights, minlength=n)

    def scatter_min(self, buf, idx, vals) -> None:
        buf.scatter_reduce_(0, idx, vals, reduce="amin")

    def scatter_max(self, buf, idx, vals) -> None:
        buf.scatter_reduce_(0, idx, vals, reduce="amax")

    def to_numpy(self, x) -> np.ndarray:
        return x.detach().cpu().numpy()

    def total(self, x) -> int:
        return int(x.item())


def namespace(backend: str = "numpy", device=None):
    """The array namespace for ``backend`` ("numpy" or "torch"; ``device`` only for torch)."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise UsageError(f"the numpy renderer runs on the CPU only, not on {device!r}")
        return NumpyNamespace()
    if backend == "torch":
        return TorchNamespace(device)
    raise UsageError(f"unknown render backend {backend!r}: expected 'numpy' or 'torch'")
