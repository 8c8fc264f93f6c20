"""Learned codecs: a trained progressive network behind the codec interface.

An image of any size is padded at the border (edge pixels repeated) to whole tiles, the tiles
are coded as one batch, and the bits are stored iteration-major (all tiles' bits of iteration
0, then of iteration 1, ...) and packed with ``numpy.packbits``; so a byte budget buys
``floor(8 * budget / bits_per_iteration)`` iterations, capped at the trained count. Inference
runs in float32 on the CPU with one thread, so the same file decodes to the same pixels in
any process.

>>> import numpy as np
>>> from clevrlang.compress.networks import NetConfig, build_net
>>> codec = LearnedCodec(build_net(NetConfig("conv_lstm", width=32, iterations=4)))
>>> code = codec.encode(np.zeros((40, 20, 3), np.uint8), budget_bytes=64)
>>> code.iterations, code.bits_per_iteration, code.nbytes   # 2x1 tiles of 32x32
(4, 128, 64)
>>> codec.decode(code).shape
(40, 20, 3)
"""

from __future__ import annotations

import contextlib
import hashlib
import math

import numpy as np
import torch

from clevrlang.images import as_image
from clevrlang.language.errors import BudgetTooSmall, DataError, UsageError

from .base import check_budget, check_code
from .binarizer import from_bits, to_bits
from .code import Code
from .networks import decode_codes, unroll

_CHUNK = 1024  # tiles per forward pass (fixed, so encoder and decoder batch alike)


def weights_fingerprint(net: torch.nn.Module) -> str:
    """A short hash of a network's weights, stored in every Code it makes."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def deterministic_cpu():
    """Single-threaded, no-grad CPU inference (float sums in one fixed order)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(threads)


def image_to_tiles(image: np.ndarray, tile: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """``H x W x 3`` uint8 -> (tiles ``N x 3 x T x T`` in [-0.5, 0.5], grid (rows, cols))."""
    h, w, _ = image.shape
    rows, cols = math.ceil(h / tile), math.ceil(w / tile)
    padded = np.pad(image, ((0, rows * tile - h), (0, cols * tile - w), (0, 0)), mode="edge")
    x = torch.from_numpy(padded).float().div_(255).sub_(0.5)
    tiles = x.view(rows, tile, cols, tile, 3).permute(0, 2, 4, 1, 3)
    return tiles.reshape(rows * cols, 3, tile, tile), (rows, cols)


def tiles_to_image(tiles: torch.Tensor, grid: tuple[int, int], shape) -> np.ndarray:
    rows, cols = grid
    t = tiles.shape[-1]
    x = tiles.view(rows, cols, 3, t, t).permute(0, 3, 1, 4, 2).reshape(rows * t, cols * t, 3)
    x = x.add(0.5).mul(255).round().clamp(0, 255).to(torch.uint8).numpy()
    return np.ascontiguousarray(x[:shape[0], :shape[1]])


class NetCodec:
    """What every codec made from a trained network shares: the network on the CPU in
    float32 (codes must be bit-exact across processes), its name, source and fingerprint."""

    def __init__(self, net: torch.nn.Module, source: str = "<untrained>"):
        self.net = net.to("cpu", torch.float32).eval()
        self.name = net.config.codec
        self.source = source
        self.fingerprint = weights_fingerprint(self.net)

    @property
    def max_iterations(self) -> int:
        return self.net.config.iterations


class LearnedCodec(NetCodec):
    """A codec made from a trained :class:`~.networks.ProgressiveNet`."""

    def bits_per_iteration(self, shape) -> int:
        t = self.net.tile
        return math.ceil(shape[0] / t) * math.ceil(shape[1] / t) * self.net.bits

    def min_bytes(self, image: np.ndarray) -> int:
        """The payload of one iteration (the smallest code this codec makes)."""
        return math.ceil(self.bits_per_iteration(np.shape(image)) / 8)

    def iterations_for(self, budget_bytes: int, shape) -> int:
        bpi = self.bits_per_iteration(shape)
        its = min(self.max_iterations, (8 * budget_bytes) // bpi)
        if its < 1:
            raise BudgetTooSmall(
                f"budget {budget_bytes} B is below one iteration of {self.name} on a "
                f"{shape[1]}x{shape[0]} image: at least {math.ceil(bpi / 8)} B")
        return its

    def encode(self, image: np.ndarray, budget_bytes: int) -> Code:
        image, budget = as_image(image), check_budget(budget_bytes)
        its = self.iterations_for(budget, image.shape)
        tiles, grid = image_to_tiles(image, self.net.tile)
        with deterministic_cpu():
            codes = [unroll(self.net, chunk, its, sample=False)[2]
                     for chunk in tiles.split(_CHUNK)]
        # (iterations, tiles, bits): iteration-major, so a prefix is a coarser image
        bits = torch.stack([torch.cat([c[t] for c in codes]) for t in range(its)])
        packed = np.packbits(to_bits(bits).numpy().reshape(-1)).tobytes()
        return Code(name=self.name, shape=image.shape, data=packed, nbytes=len(packed),
                    total_bytes=len(packed), iterations=its,
                    bits_per_iteration=self.bits_per_iteration(image.shape),
                    params={"weights": self.fingerprint, "width": self.net.config.width,
                            "tile": self.net.tile, "grid": list(grid)})

    def decode(self, code: Code) -> np.ndarray:
        check_code(self.name, code)
        self._check_compatible(code)
        h, w = code.shape[:2]
        t = self.net.tile
        grid = (math.ceil(h / t), math.ceil(w / t))
        n, k = grid[0] * grid[1], self.net.bits
        need = code.iterations * n * k
        raw = np.unpackbits(np.frombuffer(code.data, np.uint8), count=need)
        bits = from_bits(torch.from_numpy(raw.copy()).view(code.iterations, n, k))
        like = torch.zeros(n, 3, t, t)
        with deterministic_cpu():
            parts = [decode_codes(self.net, list(bits[:, i:i + _CHUNK]), like[i:i + _CHUNK])
                     for i in range(0, n, _CHUNK)]
        return tiles_to_image(torch.cat(parts), grid, code.shape)

    def _check_compatible(self, code: Code) -> None:
        made_by = code.params.get("weights")
        if made_by != self.fingerprint:
            raise DataError(
                f"this {self.name} Code was made with weights {made_by}, but the codec has "
                f"weights {self.fingerprint} ({self.source}); decode it with the same weights")
        if code.iterations > self.max_iterations or code.iterations < 1:
            raise DataError(f"this Code has {code.iterations} iterations; {self.name} "
                            f"decodes 1..{self.max_iterations}")
        need = math.ceil(code.iterations * self.bits_per_iteration(code.shape) / 8)
        if len(code.data) != need:
            raise DataError(f"this {self.name} Code holds {len(code.data)} payload bytes; "
                            f"{code.iterations} iterations on a {code.shape[1]}x"
                            f"{code.shape[0]} image need {need}")
