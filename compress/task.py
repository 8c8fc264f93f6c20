"""The task codec: one network over the whole image, an entropy-coded progressive bitstream.

``task_conv`` codes a whole image (no tiles): a conv encoder downsamples 16x (a 20x15 grid
for 320x240) to ``iterations x code_channels`` binary maps at once; iteration ``t`` is the
``t``-th group of ``code_channels`` maps, and the decoder rebuilds the image from the groups
received so far (the missing ones read as 0). So every prefix of iterations decodes, like
Toderici et al.'s progressive codes, but the encoder runs once instead of once per iteration
(the residual form costs an encoder pass per iteration, which a 2-core CPU could not train in
time). A prior network gives each bit of iteration ``t`` its probability from the bits of
iterations ``< t`` (the decoder has them), and constriction's range coder codes the bits with
those probabilities (Toderici et al. 2017 use a context model the same way).

The payload is the real bitstream: a 4-byte header (height and width in 12 bits each, the
iteration count in 8) then the range coder's 32-bit words, little-endian. ``bytes=B`` keeps the
last iteration whose payload fits in ``B``. Probabilities are rounded to multiples of 1/4096
from single-threaded float32 inference, so encoder and decoder (any process, same build) agree
bit for bit.

>>> import numpy as np
>>> codec = TaskCodec(build_task_net(TaskConfig(width=16, iterations=3)))
>>> code = codec.encode(np.zeros((40, 20, 3), np.uint8), budget_bytes=400)
>>> code.iterations, code.nbytes <= 400, codec.decode(code).shape
(3, True, (40, 20, 3))
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clevrlang.images import as_image
from clevrlang.language.errors import BudgetTooSmall, CheckpointError, DataError, UsageError

from .base import check_budget, check_code
from .code import Code
from .learned import NetCodec, deterministic_cpu

STRIDE = 16
HEADER_BYTES = 4  # height (12 bits), width (12 bits), iterations (8 bits)
PROB_SCALE = 4096  # probabilities are k / 4096, 1 <= k <= 4095
META_KEY = "clevrlang_task_codec"


@dataclass(frozen=True)
class TaskConfig:
    """What a task-codec checkpoint records to rebuild its network."""

    codec: str = "task_conv"
    width: int = 96  # channels of the encoder's and decoder's 1/16-resolution layers
    iterations: int = 12
    code_channels: int = 4  # bits per 16x16 pixels per iteration
    prior_width: int = 32
    # The network codes the image downsampled by ``scale`` (1, 2 or 4) and its output is
    # upsampled back: the learned back end reads 128x96 and the engineered detector 192x144,
    # so full-resolution detail of a 320x240 image is bits no answer uses.
    scale: int = 2
    blocks: int = 2  # residual blocks at the code grid's resolution, in encoder and decoder

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> TaskConfig:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        # Checkpoints from before scale and blocks existed are full-resolution, block-less.
        known.setdefault("scale", 1)
        known.setdefault("blocks", 0)
        return cls(**{k: (v if k == "codec" else int(v)) for k, v in known.items()})


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, k // 2)


class _Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(_conv(width, width), nn.ReLU(), _conv(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class TaskNet(nn.Module):
    """Encoder (image -> codes in (-1, 1)), decoder (bits -> image), prior (bits -> logits).

    :meth:`analysis` and :meth:`synthesis` wrap them with the ``scale`` resampling; the
    encoder and decoder proper work at ``1/scale`` of the image's resolution."""

    def __init__(self, config: TaskConfig):
        super().__init__()
        self.config = config
        w, n = config.width, config.iterations * config.code_channels
        stages = STRIDE.bit_length() - 1 - (config.scale.bit_length() - 1)  # 2x steps to the grid
        chans = [3, *[w // 4, w // 2, w, w][4 - stages:]]
        down: list[nn.Module] = []
        for a, b in zip(chans, chans[1:]):
            down += [_conv(a, b, 3, 2), nn.ReLU()]
        blocks = [_Residual(w) for _ in range(config.blocks)]
        self.encoder = nn.Sequential(*down, _conv(w, w), nn.ReLU(), *blocks, _conv(w, n, 1),
                                     nn.Tanh())
        ups: list[nn.Module] = []
        widths = [w, w // 2, w // 4, w // 8][:stages]
        for a, b in zip(widths, widths[1:]):
            ups += [_conv(a, 4 * b), nn.PixelShuffle(2), nn.ReLU()]
        # The last layer makes the 2x2 pixels of each half-resolution cell (depth-to-space):
        # full-resolution convolutions cost most of a decoder and add little at these rates.
        self.decoder = nn.Sequential(_conv(n, w), nn.ReLU(), _conv(w, w), nn.ReLU(),
                                     *[_Residual(w) for _ in range(config.blocks)], *ups,
                                     _conv(widths[-1], 12), nn.PixelShuffle(2))
        p = config.prior_width
        self.prior = nn.Sequential(_conv(n + config.iterations, p), nn.ReLU(), _conv(p, p),
                                   nn.ReLU(), _conv(p, config.code_channels, 1))

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-0.5, 0.5], H and W multiples of 16 -> codes (N, T*K, H/16, W/16)."""
        return self.encoder(self.downsample(x))

    def downsample(self, x: torch.Tensor) -> torch.Tensor:
        """The image at the encoder's and decoder's resolution (a box filter)."""
        s = self.config.scale
        return F.avg_pool2d(x, s) if s > 1 else x

    def synthesis(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits (iterations not received are 0) -> the image at full resolution."""
        return self.upsample(self.decoder(bits))

    def upsample(self, y: torch.Tensor) -> torch.Tensor:
        """The decoder's output at the image's resolution (bilinear)."""
        s = self.config.scale
        return F.interpolate(y, scale_factor=s, mode="bilinear", align_corners=False) \
            if s > 1 else y

    @property
    def bits_per_iteration_cell(self) -> int:
        return self.config.code_channels

    def keep(self, bits: torch.Tensor, n: torch.Tensor | int) -> torch.Tensor:
        """Zero the iterations from ``n`` on (``n`` an int or one per image)."""
        k = self.config.code_channels
        t = torch.arange(bits.shape[1], device=bits.device) // k
        n = torch.as_tensor(n, device=bits.device).reshape(-1, 1)
        return bits * (t < n).to(bits.dtype)[:, :, None, None]

    def prior_logits(self, bits: torch.Tensor, t: int) -> torch.Tensor:
        """Logits of iteration ``t``'s bits (N, K, h, w) from the bits of iterations < t."""
        onehot = torch.zeros(bits.shape[0], self.config.iterations, *bits.shape[2:],
                             dtype=bits.dtype, device=bits.device)
        onehot[:, t] = 1
        return self.prior(torch.cat([self.keep(bits, t), onehot], 1))

    def all_prior_logits(self, bits: torch.Tensor) -> torch.Tensor:
        """Every iteration's logits in one batched pass (training): (N, T*K, h, w)."""
        T = self.config.iterations
        n = bits.shape[0]
        stacked = bits.repeat_interleave(T, 0)
        ts = torch.arange(T, device=bits.device).repeat(n)
        onehot = torch.zeros(n * T, T, *bits.shape[2:], dtype=bits.dtype, device=bits.device)
        onehot[torch.arange(n * T), ts] = 1
        logits = self.prior(torch.cat([self.keep(stacked, ts), onehot], 1))
        k = self.config.code_channels
        logits = logits.view(n, T, k, *bits.shape[2:])
        return logits.reshape(n, T * k, *bits.shape[2:])


def build_task_net(config: TaskConfig, seed: int = 0) -> TaskNet:
    """A freshly initialised task network (the same weights for the same seed)."""
    if config.width < 16 or config.width % 8 or min(config.iterations, config.code_channels) < 1 \
            or config.iterations > 255 or config.scale not in (1, 2, 4) or config.blocks < 0:
        raise UsageError(f"{config.codec}: width must be a multiple of 8 and >= 16 (got "
                         f"{config.width}), iterations 1..255 (got {config.iterations}), "
                         f"code channels >= 1 (got {config.code_channels}), scale 1, 2 or 4 "
                         f"(got {config.scale}) and blocks >= 0 (got {config.blocks})")
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return TaskNet(config)
    finally:
        torch.random.set_rng_state(state)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """``H x W x 3`` uint8 -> ``1 x 3 x H' x W'`` in [-0.5, 0.5], edge-padded to the stride."""
    h, w, _ = image.shape
    ph, pw = -h % STRIDE, -w % STRIDE
    padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="edge")
    return torch.from_numpy(padded).permute(2, 0, 1)[None].float().div(255).sub(0.5)


def to_image(x: torch.Tensor, shape) -> np.ndarray:
    x = x[0].permute(1, 2, 0).add(0.5).mul(255).round().clamp(0, 255).to(torch.uint8).numpy()
    return np.ascontiguousarray(x[:shape[0], :shape[1]])


def quantized_probabilities(logits: torch.Tensor) -> np.ndarray:
    """P(bit = 1) as float64 multiples of 1/4096 in [1/4096, 4095/4096], flattened."""
    k = torch.sigmoid(logits.double()).mul(PROB_SCALE).round().clamp(1, PROB_SCALE - 1)
    return (k / PROB_SCALE).reshape(-1).numpy()


def _bernoulli():
    import constriction

    return constriction.stream.model.Bernoulli(perfect=False)


def _header(shape, iterations: int) -> bytes:
    h, w = shape[:2]
    return bytes([h >> 4, ((h & 15) << 4) | (w >> 8), w & 255, iterations])


def _read_header(data: bytes) -> tuple[int, int, int]:
    h = (data[0] << 4) | (data[1] >> 4)
    w = ((data[1] & 15) << 8) | data[2]
    return h, w, data[3]


class TaskCodec(NetCodec):
    """A codec made from a trained :class:`TaskNet` (see the module docstring)."""

    def _bits(self, image: np.ndarray) -> torch.Tensor:
        with deterministic_cpu():
            codes = self.net.analysis(to_tensor(image))
        return torch.where(codes >= 0, 1.0, -1.0)

    def _iteration_probabilities(self, bits: torch.Tensor, t: int) -> np.ndarray:
        with deterministic_cpu():
            return quantized_probabilities(self.net.prior_logits(bits, t))

    def _symbols(self, bits: torch.Tensor, t: int) -> np.ndarray:
        k = self.net.config.code_channels
        return (bits[:, t * k:(t + 1) * k] > 0).reshape(-1).numpy().astype(np.int32)

    def _stream(self, bits: torch.Tensor, n: int, sizes: list | None = None) -> np.ndarray:
        import constriction

        enc, model = constriction.stream.queue.RangeEncoder(), _bernoulli()
        for t in range(n):
            enc.encode(self._symbols(bits, t), model, self._iteration_probabilities(bits, t))
            if sizes is not None:
                sizes.append(HEADER_BYTES + 4 * len(enc.get_compressed()))
        return enc.get_compressed()

    def payload_sizes(self, image: np.ndarray) -> list[int]:
        """Payload bytes (header included) of 1, 2, ... iterations of ``image``."""
        sizes: list[int] = []
        self._stream(self._bits(as_image(image)), self.max_iterations, sizes)
        return sizes

    def min_bytes(self, image: np.ndarray) -> int:
        """The payload of one iteration (the smallest code this codec makes)."""
        image = as_image(image)
        sizes: list[int] = []
        self._stream(self._bits(image), 1, sizes)
        return sizes[0]

    def encode(self, image: np.ndarray, budget_bytes: int) -> Code:
        image, budget = as_image(image), check_budget(budget_bytes)
        if max(image.shape[:2]) >= 4096:
            raise UsageError(f"{self.name} codes images up to 4095 pixels a side, not "
                             f"{image.shape[1]}x{image.shape[0]}")
        bits = self._bits(image)
        sizes: list[int] = []
        self._stream(bits, self.max_iterations, sizes)
        n = sum(s <= budget for s in sizes)  # sizes grow with n
        if n < 1:
            raise BudgetTooSmall(f"budget {budget} B is below one iteration of {self.name} on this "
                             f"{image.shape[1]}x{image.shape[0]} image: at least {sizes[0]} B")
        words = self._stream(bits, n)
        data = _header(image.shape, n) + words.astype("<u4").tobytes()
        raw = n * bits.shape[2] * bits.shape[3] * self.net.config.code_channels
        return Code(name=self.name, shape=image.shape, data=data, nbytes=len(data),
                    total_bytes=len(data), iterations=n, bits_per_iteration=raw // n,
                    params={"weights": self.fingerprint, "raw_bits": raw,
                            "header_bytes": HEADER_BYTES})

    def decode(self, code: Code) -> np.ndarray:
        import constriction

        check_code(self.name, code)
        if code.params.get("weights") != self.fingerprint:
            raise DataError(f"this {self.name} Code was made with weights "
                            f"{code.params.get('weights')}, but the codec has weights "
                            f"{self.fingerprint} ({self.source}); decode it with the same weights")
        data = code.data
        if len(data) < HEADER_BYTES + 4 or (len(data) - HEADER_BYTES) % 4:
            raise DataError(f"truncated {self.name} Code: {len(data)} payload bytes is not a "
                            f"{HEADER_BYTES}-byte header and whole 32-bit words")
        h, w, n = _read_header(data)
        if (h, w) != tuple(code.shape[:2]) or n != code.iterations or \
                not 1 <= n <= self.max_iterations:
            raise DataError(f"corrupted {self.name} Code: its bitstream header says {w}x{h}, "
                            f"{n} iterations; the Code says {code.shape[1]}x{code.shape[0]}, "
                            f"{code.iterations} (this codec decodes 1..{self.max_iterations})")
        words = np.frombuffer(data, "<u4", offset=HEADER_BYTES).astype(np.uint32)
        k = self.net.config.code_channels
        gh, gw = math.ceil(h / STRIDE), math.ceil(w / STRIDE)
        bits = torch.zeros(1, self.max_iterations * k, gh, gw)
        model, again = _bernoulli(), constriction.stream.queue.RangeEncoder()
        try:
            dec = constriction.stream.queue.RangeDecoder(words)
            for t in range(n):
                probs = self._iteration_probabilities(bits, t)
                got = dec.decode(model, probs)
                again.encode(got, model, probs)
                bits[:, t * k:(t + 1) * k] = torch.from_numpy(
                    got.astype(np.float32) * 2 - 1).view(1, k, gh, gw)
        except (ValueError, RuntimeError, AssertionError) as e:
            raise DataError(f"corrupted {self.name} Code: the range decoder failed ({e})"
                            ) from None
        # The coder reads zeros past the end and ignores trailing words, so a truncated or
        # padded stream can decode: coding the decoded bits again must give the same words.
        if not np.array_equal(again.get_compressed(), words):
            raise DataError(f"corrupted {self.name} Code: the bitstream is not what "
                            f"{self.name} writes for {n} iterations (truncated or damaged)")
        with deterministic_cpu():
            x = self.net.synthesis(self.net.keep(bits, n))
        return to_image(x, code.shape)


# -- checkpoints ---------------------------------------------------------------------------

def save_task_net(path: str | os.PathLike, net: TaskNet, extra: dict | None = None,
                  dtype: torch.dtype | None = None) -> Path:
    """Weights (+ config in the metadata) atomically, and a readable JSON config beside."""
    from .checkpoints import save_net

    return save_net(path, net, extra, dtype, meta_key=META_KEY)


def load_task_net(path: str | os.PathLike, expect: str | None = None) -> TaskNet:
    """Rebuild a task network from its checkpoint; loading never executes code."""
    from safetensors import safe_open

    from .checkpoints import load_state

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k).float() for k in f.keys()}
    except FileNotFoundError:
        raise CheckpointError("checkpoint file not found", where=str(path)) from None
    except Exception as e:  # safetensors raises its own types for corrupt files
        raise CheckpointError(f"not a readable safetensors file ({e})", where=str(path)) from None
    if META_KEY not in meta:
        raise CheckpointError(f"safetensors file has no {META_KEY!r} metadata: not a task "
                              "codec checkpoint", where=str(path))
    try:
        config = TaskConfig.from_json(json.loads(meta[META_KEY]))
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"bad task codec config in metadata ({e})", where=str(path)) from None
    if expect is not None and config.codec != expect:
        raise CheckpointError(f"checkpoint holds codec {config.codec!r}, not {expect!r}",
                              where=str(path))
    net = build_task_net(config)
    load_state(net, tensors, str(path))
    return net
