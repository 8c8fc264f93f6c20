"""Training a learned codec on random 32x32 crops, with exact resumption.

Everything a run needs to continue is in one file, ``<out_dir>/<codec>.train.safetensors``
(weights, Adam state, the binarizer's and the crop sampler's random states, the step); it is
rewritten atomically every ``save_every`` steps, together with the plain weights
(``<codec>.safetensors`` and ``<codec>.json``) that :func:`~clevrlang.compress.get_codec` loads.

>>> from clevrlang.compress.synthetic import synthetic_images
>>> import tempfile
>>> out = tempfile.mkdtemp()
>>> r = train_codec(synthetic_images(4), "conv_residual_shared", iterations=2, steps=2,
...                 batch=2, width=16, out_dir=out, progress=False)
>>> r.step, r.path.name
(2, 'conv_residual_shared.safetensors')
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from clevrlang.devices import pick_device
from clevrlang.language.errors import CheckpointError, DataError, UsageError
from clevrlang.language.vocabulary import BINARIZERS, CODEC_LOSSES, LEARNED_CODECS
from clevrlang.resume import say_finished

from .checkpoints import (load_net, read_training_state, restore_training_state, save_net,
                          write_training_state)
from .metrics import K1, K2, WIN_SIGMA, WIN_SIZE
from .networks import (CODE_CHANNELS, DEFAULT_WIDTH, NetConfig, ProgressiveNet, build_net,
                       l1_loss, unroll)

log = logging.getLogger(__name__)
CROP = 32
STATE_KEY = "clevrlang_train"


@dataclass(frozen=True)
class Objective:
    """What a run minimises; saved with its state, and a resume must ask for the same."""

    loss: str = "l1"
    iteration_weights: tuple[float, ...] | None = None  # None: all 1
    pools: int = 1  # image pools that share each batch
    binarizer: str = "stochastic"  # Toderici et al.'s sampled bits, or "sign" (see binarize)

    @classmethod
    def from_meta(cls, meta: dict) -> Objective:
        # States written before --loss / --iteration-weights / --full-images / --binarizer:
        # plain L1, sampled bits.
        weights = meta.get("iteration_weights")
        return cls(meta.get("loss", "l1"), None if weights is None else tuple(weights),
                   meta.get("pools", 1), meta.get("binarizer", "stochastic"))

    def to_meta(self) -> dict:
        d = asdict(self)
        d["iteration_weights"] = None if self.iteration_weights is None else list(
            self.iteration_weights)
        return d

    def __str__(self) -> str:
        text = f"loss {self.loss!r}"
        if self.iteration_weights is not None:
            text += f" with iteration weights {','.join(map(str, self.iteration_weights))}"
        text += "" if self.binarizer == "stochastic" else f", {self.binarizer} bits"
        return text + ("" if self.pools == 1 else f" on {self.pools} image pools")


@dataclass
class TrainResult:
    path: Path                 # the weights file get_codec(name, weights=path) loads
    step: int                  # steps done in total (this run and earlier ones)
    losses: list[float] = field(default_factory=list)  # this run's per-step losses
    seconds: float = 0.0


def train_codec(images, codec_name: str, iterations: int = 16, steps: int = 3000,
                batch: int = 32, lr: float = 1e-3, out_dir="codec_runs", resume: bool = True,
                device: str = "auto", progress: bool = True, width: int | None = None,
                seed: int = 0, save_every: int = 200, pause_after: int | None = None,
                code_channels: int = CODE_CHANNELS, loss: str = "l1",
                init: str | Path | None = None, edge_channels: int = 0,
                iteration_weights=None, more_images=None, binarizer: str = "stochastic"
                ) -> TrainResult:
    """Train ``codec_name`` for ``steps`` Adam steps in total (resuming a run in ``out_dir``).

    ``images``: an ``N x H x W x 3`` uint8 array or an iterable of ``H x W x 3`` arrays, each
    at least 32x32. The learning rate follows a cosine from ``lr`` to ``lr / 10`` over
    ``steps``; the loss is ``sum_t mean |r_t|`` over the ``iterations`` (``loss="l1"``) or
    ``sum_t (1 - SSIM(x_t, x) + mean |r_t|)`` on each 32x32 crop (``loss="ssim"``: the
    metric the codec table reports, with the L1 term to keep colours); ``iteration_weights``
    (one per iteration, default all 1) weights each iteration's term, e.g. to favour the
    iterations that a byte budget stops at. ``more_images``: a second pool (e.g. full-size
    images, where ``images`` are thumbnails) that gives half of every batch's crops, so
    that a codec meant for both sees both. ``binarizer="sign"`` trains on the bits the codec
    writes (gradient straight through) instead of Toderici et al.'s samples: no noise that
    copies of one bit in several iterations would average away. ``code_channels``:
    bits per 16x16 pixels per iteration of the convolutional codecs; ``edge_channels``: the
    conv_lstm's full-resolution ends (0: the paper's proportions). ``init``: start from
    this weights file (its network config replaces ``width``, ``iterations`` and
    ``code_channels``; the optimizer and schedule start afresh; a larger ``edge_channels``
    widens it first, keeping what it computes). ``pause_after=k`` stops
    (with a checkpoint) after ``k`` steps of this call; calling again resumes exactly.
    """
    if codec_name not in LEARNED_CODECS:
        raise UsageError(f"{codec_name!r} is not a learned codec (learned: "
                         f"{', '.join(LEARNED_CODECS)})")
    if loss not in CODEC_LOSSES:
        raise UsageError(f"unknown loss {loss!r} (use {' or '.join(CODEC_LOSSES)})")
    if binarizer not in BINARIZERS:
        raise UsageError(f"unknown binarizer {binarizer!r} (use {' or '.join(BINARIZERS)})")
    if edge_channels and codec_name != "conv_lstm":
        raise UsageError(f"--edge-channels is a conv_lstm setting, not one of {codec_name}")
    pools = [_image_pool(images)] + ([] if more_images is None else [_image_pool(more_images)])
    dev = pick_device(device)
    if init is not None:
        net = load_net(init, expect=codec_name)
        if edge_channels and edge_channels != net.config.edge_channels:
            net = net.widened(edge_channels)  # the same function, room to learn more
        config = net.config
    else:
        config = NetConfig(codec_name, width or DEFAULT_WIDTH[codec_name], iterations,
                           code_channels, edge_channels)
        net = build_net(config, seed)
    net = net.to(dev).train()
    iterations = config.iterations
    objective = Objective(loss, _weights(iteration_weights, iterations), len(pools), binarizer)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator(device=dev).manual_seed(seed)
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    state_path = state_file(out, codec_name)
    step = 0
    if resume and state_path.is_file():
        step = _restore(state_path, net, opt, gen, rng, config, objective)
        log.info("resuming %s at step %d from %s", codec_name, step, state_path)
        if step >= steps:
            say_finished(out, f"{codec_name}: step {step} of {steps}")
    result = TrainResult(path=out / f"{codec_name}.safetensors", step=step)
    started = time.perf_counter()
    bar = _bar(progress, steps, step, codec_name)
    stop = steps if pause_after is None else min(steps, step + pause_after)
    try:
        while step < stop:
            for g in opt.param_groups:
                g["lr"] = _lr(lr, step, steps)
            value, last = _step(net, opt, _batch(pools, rng, batch).to(dev), iterations, gen,
                                objective)
            step += 1
            result.losses.append(value)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}", last=f"{last:.4f}")
            if step % save_every == 0 or step == stop:
                _save(state_path, net, opt, gen, rng, step, steps, objective)
                extra = {"step": step, "steps": steps, "batch": batch, "lr": lr, "seed": seed,
                         "crop": CROP, **objective.to_meta()}
                if init is not None:
                    extra["init"] = str(init)
                save_net(result.path, net, extra=extra)
    except KeyboardInterrupt:
        _save(state_path, net, opt, gen, rng, step, steps, objective)
        raise
    finally:
        bar.close()
    result.step, result.seconds = step, time.perf_counter() - started
    return result


def state_file(out_dir, codec_name: str) -> Path:
    """Where a run of ``codec_name`` in ``out_dir`` keeps everything it needs to continue."""
    return Path(out_dir) / f"{codec_name}.train.safetensors"


def _weights(weights, iterations: int) -> tuple[float, ...] | None:
    """The per-iteration loss weights (None: all 1), checked."""
    if weights is None:
        return None
    weights = tuple(float(w) for w in weights)
    if len(weights) != iterations:
        raise UsageError(f"{len(weights)} iteration weights for a codec of {iterations} "
                         f"iterations: give one per iteration")
    if any(not math.isfinite(w) or w < 0 for w in weights) or not any(weights):
        raise UsageError(f"iteration weights must be finite, >= 0 and not all 0 "
                         f"(got {weights})")
    return None if all(w == 1 for w in weights) else weights


def _step(net: ProgressiveNet, opt, crops: torch.Tensor, iterations: int, gen,
          objective: Objective) -> tuple:
    tiles = crops_to_tiles(crops, net.tile)
    step_loss = None
    if objective.loss == "ssim":
        def step_loss(recon, x):
            return ssim_loss(tiles_to_crops(recon, crops.shape), crops) + l1_loss(recon, x)
    sign = objective.binarizer == "sign"
    _, losses, _ = unroll(net, tiles, iterations, sample=not sign, generator=gen,
                          step_loss=step_loss, straight_through=sign)
    stacked, weights = torch.stack(losses), objective.iteration_weights
    loss = stacked.sum() if weights is None else stacked @ stacked.new_tensor(weights)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    return float(loss.detach()), float(losses[-1].detach())


def _lr(lr: float, step: int, steps: int) -> float:
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1))))


def crops_to_tiles(x: torch.Tensor, tile: int) -> torch.Tensor:
    """``B x 3 x 32 x 32`` crops -> ``(B * k) x 3 x tile x tile`` tiles."""
    b, c, h, w = x.shape
    x = x.view(b, c, h // tile, tile, w // tile, tile).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(-1, c, tile, tile)


def tiles_to_crops(tiles: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The inverse of :func:`crops_to_tiles` for crops of ``shape`` (B x 3 x H x W)."""
    b, c, h, w = shape
    t = tiles.shape[-1]
    x = tiles.view(b, h // t, w // t, c, t, t).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, h, w)


def ssim_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM`` (the pinned definition of :mod:`.metrics`) of images in [-0.5, 0.5]."""
    from pytorch_msssim import ssim

    return 1 - ssim(recon.add(0.5).clamp(0, 1), x.add(0.5), data_range=1.0,
                    win_size=WIN_SIZE, win_sigma=WIN_SIGMA, K=(K1, K2))


def _image_pool(images) -> list[np.ndarray]:
    pool = [np.asarray(im) for im in images]
    if not pool:
        raise DataError("no training images")
    for i, im in enumerate(pool):
        if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
            raise DataError(f"training image {i} is not H x W x 3 uint8 (shape {im.shape}, "
                            f"dtype {im.dtype})")
        if min(im.shape[:2]) < CROP:
            raise DataError(f"training image {i} is {im.shape[1]}x{im.shape[0]}, smaller than "
                            f"the {CROP}x{CROP} crops")
    return pool


def _batch(pools: list[list[np.ndarray]], rng: np.random.Generator, batch: int
           ) -> torch.Tensor:
    """``batch`` crops, split evenly between the pools (the first takes the odd one)."""
    sizes = [batch // len(pools) + (k < batch % len(pools)) for k in range(len(pools))]
    return torch.cat([_crops(pool, rng, n) for pool, n in zip(pools, sizes) if n])


def _crops(pool: list[np.ndarray], rng: np.random.Generator, batch: int) -> torch.Tensor:
    """Random 32x32 crops (randomly mirrored), scaled to [-0.5, 0.5], ``B x 3 x 32 x 32``."""
    out = np.empty((batch, CROP, CROP, 3), np.uint8)
    for k in range(batch):
        im = pool[int(rng.integers(len(pool)))]
        y = int(rng.integers(im.shape[0] - CROP + 1))
        x = int(rng.integers(im.shape[1] - CROP + 1))
        crop = im[y:y + CROP, x:x + CROP]
        out[k] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255).sub_(0.5)


def _bar(progress: bool, total: int, initial: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not progress, desc=f"train {name}",
                unit="step", dynamic_ncols=True)


def _save(path: Path, net, opt, gen, rng, step: int, steps: int, objective: Objective
          ) -> None:
    meta = {"config": net.config.to_json(), "step": step, "steps": steps, **objective.to_meta()}
    write_training_state(path, STATE_KEY, net, opt, gen, rng, meta)


def _restore(path: Path, net, opt, gen, rng, config: NetConfig, objective: Objective
             ) -> int:
    meta, tensors = read_training_state(path, STATE_KEY)
    saved = NetConfig.from_json(meta["config"])
    if saved != config:
        raise CheckpointError(
            f"training state is for {saved}, this run asks for {config}", where=str(path),
            hint="pass resume=False (starts over) or another out_dir")
    saved_objective = Objective.from_meta(meta)
    if saved_objective != objective:
        raise CheckpointError(
            f"training state was trained with {saved_objective}, this run asks for "
            f"{objective}", where=str(path),
            hint="pass the same loss, iteration weights and image pools, resume=False (starts "
                 "over) or another out_dir")
    return restore_training_state(path, meta, tensors, net, opt, gen, rng)
