"""Training the task codec on a world's full-size images, with the answer loss, resumably.

Each step codes a batch of whole images, decodes each at a random number of iterations and
minimises ``pixels + bpp + rate_weight * bpp (through the encoder) + feature_weight * features
+ task_weight * answer CE``:

* pixels: ``mean |x - x_hat|`` at the network's resolution (the image downsampled by the
  config's ``scale``), L1 as Toderici et al. (so pictures stay pictures);
* bpp: the bits the prior network's probabilities would cost, ``-log2 p(b)`` summed over all
  iterations, per pixel (the range coder spends within a few bytes of it); the prior learns
  from it, and ``rate_weight`` of it (through the straight-through binarizer) teaches the
  encoder to write predictable bits;
* features (``task="learned"``): the frozen learned back end's stem reads the decoded and the
  original image, each resized as the back end resizes its inputs
  (:func:`~clevrlang.modules.learned.stem.normalize_float`); the loss is the squared
  difference of the two feature maps relative to the original's energy. Every feature cell
  of every image gives a gradient, where the answers give a few bits per image;
* objects (``object_weight``): the pixel and feature errors weighted by ``1 + object_weight``
  inside the world's object masks (dilated a little) and 1 elsewhere, so that bits go to the
  objects the answers are about rather than to the floor around them; with
  ``balance_objects`` each object's extra weight is scaled by the batch's mean object area
  over its own, so a small object counts as much as a large one (small objects came back
  with 2.4x the colour error of large ones, and counts lose them);
* answers (``task="learned"``): the frozen back end answers up to ``questions`` of each decoded
  image's questions from the world (compiled into one plan as the back end's own trainer does).

Everything a run needs to continue is ``<out_dir>/<codec>.train.safetensors`` (weights, Adam
state, random states, step), rewritten atomically every ``save_every`` steps with the plain
weights ``<codec>.safetensors`` that ``get_codec(name, weights=...)`` loads.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from clevrlang.devices import pick_device
from clevrlang.language.errors import CheckpointError, DataError, UsageError
from clevrlang.language.vocabulary import BINARIZERS, TASK_CODECS
from clevrlang.resume import say_finished

from .binarizer import binarize
from .checkpoints import read_training_state, restore_training_state, write_training_state
from .task import TaskConfig, build_task_net, load_task_net, save_task_net

log = logging.getLogger(__name__)
STATE_KEY = "clevrlang_task_train"
TASKS = ("learned",)


@dataclass(frozen=True)
class TaskObjective:
    """What a run minimises; saved with its state, and a resume must ask for the same."""

    task: str | None = None
    task_weight: float = 0.0
    rate_weight: float = 0.0  # bpp's weight in the encoder's loss (the prior always learns)
    questions: int = 4  # per image per step
    feature_weight: float = 0.0  # the back end's stem features (with ``task``)
    # "sign": the bits the codec writes, gradient straight through (train = inference);
    # "stochastic": Toderici et al.'s sampled bits (the runs before this option existed).
    binarizer: str = "stochastic"
    object_weight: float = 0.0  # extra weight of the errors on objects (the world's masks)
    balance_objects: bool = False  # that weight per object, not per pixel (small ones count)

    def to_meta(self) -> dict:
        return asdict(self)


@dataclass
class TaskTrainResult:
    path: Path
    step: int
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    last: dict = field(default_factory=dict)  # the last step's terms


def load_world(world_dir, split: str, n_images: int | None, progress: bool,
               objects: bool = False):
    """The split's full-size images with their questions (a learned-back-end QADataset);
    with ``objects``, also ``data.objects``: each image's (H, W) uint8 instance mask (0 the
    floor, object i -> i + 1)."""
    from clevrlang.modules.learned.training.data import from_world, world_image_size
    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    size = world_image_size(world, split)
    data = from_world(world_dir, split, size, progress=progress)
    if n_images is not None:
        keep = np.flatnonzero(data.image_ids < n_images)
        data = data.subset(keep)
        data.images = data.images[:n_images]
    if objects:
        data.objects = object_masks(world, split, data.image_names[:len(data.images)], progress)
    return data


def object_masks(world, split: str, names, progress: bool) -> np.ndarray:
    """(N, H, W) uint8 instance masks (0 the floor, object i -> i + 1) of the images called
    ``names``."""
    from tqdm.auto import tqdm

    index = {s.image_filename: s.raw["image_index"] for s in world.scenes(split)}
    missing = [n for n in names if n not in index]
    if missing:
        raise DataError(f"no scene for image {missing[0]}", where=str(world.scenes_path(split)))
    return np.stack([world.load_mask(split, index[n]).astype(np.uint8)
                     for n in tqdm(names, desc="masks", unit="img", disable=not progress)])


MAX_BALANCE = 4.0  # a sliver of an occluded object gets at most 4x the mean object's weight


def object_weights(masks: torch.Tensor, size: tuple[int, int], weight: float,
                   balance: bool = False) -> torch.Tensor:
    """``1 + weight * m`` at ``size`` (h, w), ``m`` the instance masks (N, 1, H, W; 0 the
    floor, object i -> i + 1) made objects-or-not, averaged down to that size and dilated by
    one cell: the edges and shadows an object's colour and shape are read from count as the
    object. ``balance``: each object's ``m`` times the batch's mean object area over its own
    (at most :data:`MAX_BALANCE`), so every object weighs about the same in all."""
    if not balance:
        return 1 + weight * _shrink((masks > 0).float(), size)
    n_ids = int(masks.max())
    if n_ids == 0:
        return torch.ones(masks.shape[0], 1, *size, device=masks.device)
    each = F.one_hot(masks[:, 0].long(), n_ids + 1)[..., 1:].permute(0, 3, 1, 2).float()
    each = _shrink(each, size)  # (N, objects, h, w)
    area = each.sum((2, 3), keepdim=True)
    seen = area > 0
    scale = torch.where(seen, area[seen].mean() / area.clamp_min(1e-6), 0.0)
    m = (each * scale.clamp(max=MAX_BALANCE)).amax(1, keepdim=True)
    return 1 + weight * m


def _shrink(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.max_pool2d(F.adaptive_avg_pool2d(m, size), 3, stride=1, padding=1)


def train_task_codec(data, codec_name: str = "task_conv", steps: int = 2000, batch: int = 8,
                     lr: float = 1e-3, out_dir="codec_runs", resume: bool = True,
                     device: str = "auto", progress: bool = True, width: int | None = None,
                     iterations: int = 12, code_channels: int = 4, seed: int = 0,
                     save_every: int = 50, pause_after: int | None = None,
                     task: str | None = None, task_weight: float = 0.1,
                     rate_weight: float = 0.0, task_model=None, init=None,
                     questions: int = 4, feature_weight: float = 0.0,
                     scale: int | None = None, blocks: int | None = None,
                     binarizer: str = "sign", object_weight: float = 0.0,
                     balance_objects: bool = False) -> TaskTrainResult:
    """Train ``codec_name`` for ``steps`` Adam steps in total (resuming a run in ``out_dir``).

    ``data``: a :class:`~clevrlang.modules.learned.training.data.QADataset` of full-size images (its
    questions are read only with ``task``). ``task_model``: the learned back end's checkpoint
    (None: the installed default). ``init``: start from these weights (fresh optimizer).
    ``object_weight`` needs ``data.objects`` (:func:`load_world` with ``objects``);
    ``balance_objects`` spreads it per object (see :func:`object_weights`).
    """
    if codec_name not in TASK_CODECS or codec_name == "task":
        raise UsageError(f"{codec_name!r} is not a task codec architecture (train one of "
                         f"{', '.join(c for c in TASK_CODECS if c != 'task')})")
    if task not in (None, *TASKS):
        raise UsageError(f"unknown task {task!r}: the answer loss needs a differentiable back "
                         f"end ({', '.join(TASKS)})")
    if len(data.images) == 0:
        raise DataError("no training images")
    if balance_objects and object_weight <= 0:
        raise UsageError("balancing the objects' weights needs an object weight above 0")
    if object_weight > 0 and getattr(data, "objects", None) is None:
        raise UsageError("object_weight needs the images' object masks (load_world(..., "
                         "objects=True))")
    dev = pick_device(device)
    if init is not None:
        net = load_task_net(init, expect=codec_name)
    else:
        d = TaskConfig()
        net = build_task_net(TaskConfig(codec_name, width or d.width, iterations, code_channels,
                                        scale=d.scale if scale is None else scale,
                                        blocks=d.blocks if blocks is None else blocks), seed)
    config = net.config
    net = net.to(dev).train()
    if binarizer not in BINARIZERS:
        raise UsageError(f"unknown binarizer {binarizer!r} ({', '.join(BINARIZERS)})")
    objective = TaskObjective(task, task_weight if task else 0.0, rate_weight, questions,
                              feature_weight if task else 0.0, binarizer, object_weight,
                              balance_objects)
    backend = _frozen_backend(task_model, dev) if task else None
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator(device=dev).manual_seed(seed)
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    state_path = out / f"{codec_name}.train.safetensors"
    step = 0
    if resume and state_path.is_file():
        step = _restore(state_path, net, opt, gen, rng, config, objective)
        log.info("resuming %s at step %d from %s", codec_name, step, state_path)
        if step >= steps:
            say_finished(out, f"{codec_name}: step {step} of {steps}")
    by_image = _questions_by_image(data) if task else None
    result = TaskTrainResult(path=out / f"{codec_name}.safetensors", step=step)
    started = time.perf_counter()
    from tqdm.auto import tqdm

    bar = tqdm(total=steps, initial=step, disable=not progress, desc=f"train {codec_name}",
               unit="step", dynamic_ncols=True)
    stop = steps if pause_after is None else min(steps, step + pause_after)
    try:
        while step < stop:
            for g in opt.param_groups:
                g["lr"] = lr * (0.1 + 0.45 * (1 + math.cos(math.pi * step / max(steps, 1))))
            terms = _step(net, opt, data, by_image, backend, rng, gen, batch, objective, dev)
            step += 1
            result.losses.append(terms["loss"])
            result.last = terms
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in terms.items()}, refresh=False)
            if step % save_every == 0 or step == stop:
                _save(state_path, net, opt, gen, rng, step, steps, objective)
                extra = {"step": step, "steps": steps, "batch": batch, "lr": lr, "seed": seed,
                         **objective.to_meta(), "last": terms,
                         **({"init": str(init)} if init is not None else {})}
                save_task_net(result.path, net, extra=extra)
                log.info("step %d: %s", step, json.dumps({k: round(v, 4)
                                                          for k, v in terms.items()}))
    except KeyboardInterrupt:
        _save(state_path, net, opt, gen, rng, step, steps, objective)
        raise
    finally:
        bar.close()
    result.step, result.seconds = step, time.perf_counter() - started
    return result


def _frozen_backend(task_model, dev):
    from clevrlang.modules.learned.backend import resolve_checkpoint
    from clevrlang.modules.learned.checkpoint import load_model

    model, _ = load_model(resolve_checkpoint(task_model), dev)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _questions_by_image(data) -> list[np.ndarray]:
    order = np.argsort(data.image_ids, kind="stable")
    bounds = np.searchsorted(data.image_ids[order], np.arange(len(data.images) + 1))
    return [order[bounds[i]:bounds[i + 1]] for i in range(len(data.images))]


def _step(net, opt, data, by_image, backend, rng, gen, batch: int, objective: TaskObjective,
          dev) -> dict:
    from .task import STRIDE

    ids = rng.choice(len(data.images), size=min(batch, len(data.images)), replace=False)
    x = torch.from_numpy(data.images[ids]).to(dev).permute(0, 3, 1, 2).float().div(255).sub(0.5)
    h, w = x.shape[-2:]
    if h % STRIDE or w % STRIDE:
        x = F.pad(x, (0, -w % STRIDE, 0, -h % STRIDE), mode="replicate")
    T = net.config.iterations
    masks = None
    if objective.object_weight > 0:
        masks = torch.from_numpy(data.objects[ids]).to(dev)[:, None]
        masks = F.pad(masks, (0, x.shape[-1] - masks.shape[-1], 0, x.shape[-2] - masks.shape[-2]))
    codes = net.analysis(x)
    sign = objective.binarizer == "sign"
    bits = binarize(codes, sample=not sign, generator=gen, straight_through=sign)
    # The prior learns the bits' probabilities from detached bits; the encoder is pushed
    # towards predictable bits only through rate_weight. With the push from step 0 (weights
    # 0.1 and 0.01), the later iterations' bits went constant before the decoder had learned
    # to use them: the first iteration carried ~100 B and the other eleven ~8 B together.
    target = (bits + 1) / 2
    logits = net.all_prior_logits(bits.detach())
    rate = F.binary_cross_entropy_with_logits(logits, target.detach(), reduction="sum")
    pixels_n = x.shape[0] * h * w
    bpp = rate / math.log(2) / pixels_n
    push = F.binary_cross_entropy_with_logits(logits.detach(), target, reduction="sum")
    # With the answer loss, decode at the upper two thirds of the iterations (where 640 B and
    # more stop): scoring answers on 1-3 iterations' blobs, the loss pulled the pictures apart
    # (L1 0.021 -> 0.065 in 200 steps) without raising the answers' accuracy.
    low = T // 3 + 1 if backend is not None and objective.task_weight > 0 else 1
    n = torch.from_numpy(rng.integers(low, T + 1, size=x.shape[0])).to(dev)
    # Each image is decoded twice, from a random prefix of its iterations and from all of
    # them: scored on random prefixes alone, the decoder learned to use the first few
    # iterations and ignored the rest (the same accuracy at 320 and 1,280 B).
    n = torch.cat([n, torch.full_like(n, T)])
    small = net.decoder(net.keep(bits.repeat(2, 1, 1, 1), n))
    # L1 alone: with 1 - SSIM added (weight 1) the decoder's first 600 steps bought SSIM
    # with a brightness error and never used the bits (L1 0.11 at every iteration).
    error = (small - net.downsample(x).repeat(2, 1, 1, 1)).abs()
    if masks is None:
        pixels = error.mean()
    else:
        weights = object_weights(masks, small.shape[-2:], objective.object_weight,
                                 objective.balance_objects)
        weights = weights.repeat(2, 1, 1, 1)
        pixels = (error * weights).mean() / weights.mean()
    recon = net.upsample(small)[..., :h, :w]
    x = x[..., :h, :w]
    loss = pixels + bpp + objective.rate_weight * push / math.log(2) / pixels_n
    terms = {"pix": float(pixels.detach()), "bpp": float(bpp.detach())}
    if backend is not None and objective.feature_weight > 0:
        feat = _feature_loss(backend, recon, x, None if masks is None else
                             (masks[..., :h, :w], objective.object_weight,
                              objective.balance_objects))
        loss = loss + objective.feature_weight * feat
        terms["feat"] = float(feat.detach())
    if backend is not None and objective.task_weight > 0:
        ce, acc = _answer_loss(backend, recon[:len(ids)], ids, data, by_image, rng,
                               objective.questions)
        loss = loss + objective.task_weight * ce
        terms.update(ce=float(ce.detach()), acc=acc)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": float(loss.detach()), **terms}


def _feature_loss(model, recon, x, objects=None):
    """Squared error of the stem's features of ``recon`` against those of ``x``, relative to
    the latter's mean square (both in [-0.5, 0.5], full size). ``recon`` holds ``k`` decodings
    of each image of ``x``, in ``k`` blocks: the originals' features are computed once.
    ``objects``: (masks, weight[, balance]), the error weighted as :func:`object_weights`
    says."""
    from clevrlang.modules.learned.stem import normalize_float

    size = model.config.image_size
    with torch.no_grad():
        target = model.stem(normalize_float(x.add(0.5).clamp(0, 1), size))
        target = target.repeat(len(recon) // len(x), 1, 1, 1)
    got = model.stem(normalize_float(recon.add(0.5).clamp(0, 1), size))
    error = (got - target).pow(2)
    if objects is None:
        return error.mean() / target.pow(2).mean().clamp_min(1e-8)
    w = object_weights(objects[0], got.shape[-2:], *objects[1:]).repeat(len(recon) // len(x),
                                                                       1, 1, 1)
    return (error * w).mean() / w.mean() / target.pow(2).mean().clamp_min(1e-8)


def _answer_loss(model, recon, ids, data, by_image, rng, questions: int):
    from clevrlang.modules.learned.compiler import compile_batch
    from clevrlang.modules.learned.stem import normalize_float

    qs, slots = [], []
    for slot, i in enumerate(ids):
        mine = by_image[i]
        if len(mine):
            pick = rng.choice(mine, size=min(questions, len(mine)), replace=False)
            qs.extend(pick.tolist())
            slots.extend([slot] * len(pick))
    if not qs:
        raise DataError("the training images have no questions for the answer loss")
    images = normalize_float(recon.add(0.5).clamp(0, 1), model.config.image_size)
    plan = compile_batch([data.nodes[q] for q in qs], slots)
    logits = model(images, plan)
    targets = torch.from_numpy(data.answers[qs]).to(recon.device)
    acc = float((logits.argmax(1) == targets).float().mean())
    return F.cross_entropy(logits, targets), acc


def _save(path: Path, net, opt, gen, rng, step: int, steps: int, objective: TaskObjective
          ) -> None:
    meta = {"config": net.config.to_json(), "step": step, "steps": steps,
            "objective": objective.to_meta()}
    write_training_state(path, STATE_KEY, net, opt, gen, rng, meta)


def _restore(path: Path, net, opt, gen, rng, config: TaskConfig, objective: TaskObjective
             ) -> int:
    meta, tensors = read_training_state(path, STATE_KEY)
    saved = TaskConfig.from_json(meta["config"])
    if saved != config:
        raise CheckpointError(f"training state is for {saved}, this run asks for {config}",
                              where=str(path), hint="pass --force (starts over) or another --out")
    saved_objective = TaskObjective(**meta["objective"])
    if saved_objective != objective:
        raise CheckpointError(f"training state was trained with {saved_objective}, this run "
                              f"asks for {objective}", where=str(path),
                              hint="pass the same --task/--task-weight/--rate-weight, --force "
                                   "(starts over) or another --out")
    return restore_training_state(path, meta, tensors, net, opt, gen, rng)
