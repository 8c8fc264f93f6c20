"""``clevr train learned``: from a world folder to a checkpoint folder (what the CLI calls).

>>> train_world("/tmp/world", out="/tmp/ck", epochs=1)  # minutes  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from clevrlang.language.errors import DataError, UsageError
from clevrlang.language.vocabulary import QUESTION_TYPE_LABELS, QUESTION_TYPES
from clevrlang.modules.learned.checkpoint import STATE_FILE, config_of, load_model, training_meta
from clevrlang.modules.learned.model import ModelConfig
from clevrlang.modules.learned.training.data import world_image_size

log = logging.getLogger(__name__)


def load_splits(root, train_split: str, val_split: str | None, size, limit: int | None,
                progress: bool, sets: bool = False, degrade=None, seed: int = 0):
    """Training and validation datasets; without a validation split with questions, the
    last 5 % of the training images (and their questions) are held out. ``degrade`` (a
    :class:`~clevrlang.compress.degrade.Degradation`): the training images' codec copies
    join the training set (:mod:`.degraded`)."""
    from clevrlang.modules.learned.training.data import from_world
    from clevrlang.world.layout import open_world

    world = open_world(root)
    train = from_world(root, train_split, size, limit, progress, sets=sets)
    if val_split and val_split in world.splits() and world.has_questions(val_split):
        val = from_world(root, val_split, size, None, progress)
    else:
        n_images = len(train.images)
        if n_images < 20:
            raise DataError(f"only {n_images} training images and no '{val_split}' split to "
                            "validate on", where=str(root))
        held = train.image_ids >= n_images - max(1, n_images // 20)
        log.info("no %s split with questions: holding out %d training images", val_split,
                 n_images // 20)
        train, val = train.subset(np.flatnonzero(~held)), train.subset(np.flatnonzero(held))
    if degrade is not None:
        from clevrlang.modules.learned.training.degraded import degraded_stack, with_copies
        from clevrlang.modules.learned.training.world_cache import WorldCache

        key = WorldCache(world, train_split, size, limit).key
        train = with_copies(train, degraded_stack(world, train_split, train.image_names, size,
                                                  degrade, seed, key, progress))
    return train, val


def accuracy_table(val: dict) -> str:
    """The 13-column per-question-type layout of the papers, as text."""
    cols = [QUESTION_TYPE_LABELS[t] for t in QUESTION_TYPES]
    vals = [f"{100 * val['per_type'][t]:.1f}" if t in val.get("per_type", {}) else "-"
            for t in QUESTION_TYPES]
    widths = [max(len(c), len(v)) for c, v in zip(cols, vals)]
    head = "Overall  " + "  ".join(c.rjust(w) for c, w in zip(cols, widths))
    row = f"{100 * val.get('accuracy', 0):7.1f}  " + "  ".join(v.rjust(w) for v, w in zip(vals, widths))
    return head + "\n" + row


def train_world(world, out=None, *, epochs: int = 10, batch: int = 64, lr: float = 5e-4,
                device: str = "auto", resume: bool = False, channels: int = 32,
                width: int | None = None, train_split: str = "train", val_split: str = "val",
                limit: int | None = None, stem: str | None = None,
                pretrain_stem: int = 0, seed: int = 0, save_every: int = 100,
                val_every: int = 500, aux_weight: float = 0.0, count_head: bool = False,
                pool: str = "max2",
                image_skip: bool = False, init: str | None = None, widen: int = 0,
                context: tuple[str, ...] = (), degrade=None, progress: bool = True) -> dict:
    """Train (or resume) on a world; returns the final validation result and paths.

    ``init``: a model checkpoint to start from (its network config replaces ``channels``,
    ``pool`` and ``image_skip``; ``count_head`` may add a count head to it, ``widen`` more
    channels, keeping what it computes (see :mod:`.widen`), and ``width`` another input size
    if its classifier pools globally, and ``context`` whole-map summaries to more module
    families, starting at zero); a fresh optimizer and schedule, unlike ``resume``.
    ``degrade`` (a :class:`~clevrlang.compress.degrade.Degradation`): also train on a codec
    copy of every training image (:mod:`.degraded`).
    """
    from clevrlang.modules.learned.stem import input_size
    from clevrlang.modules.learned.training.train import TrainConfig, Trainer
    from clevrlang.world.layout import open_world

    root = Path(world)
    out = Path(out) if out else root / "models" / "learned"
    w = open_world(root)
    if train_split not in w.splits():
        raise DataError(f"no '{train_split}' split (splits: {', '.join(w.splits()) or 'none'})",
                        where=str(root))
    image_size = world_image_size(w, train_split)
    size = input_size(*image_size, target_width=width or 128)
    config = ModelConfig(channels=channels, image_size=size,
                         stem_widths=(channels // 2, channels), set_head=aux_weight > 0,
                         count_head=count_head, classifier_pool=pool, image_skip=image_skip,
                         context=_families(context))
    if resume and (state := out / STATE_FILE).exists():
        # The Trainer takes the interrupted run's network; its images must be at its size.
        meta = training_meta(state)
        size = config_of(meta, str(state)).image_size
        was = json.loads(meta.get("train", "{}")).get("degrade")
        if was != (degrade.settings() if degrade else None):
            raise UsageError(f"--degrade must be what the interrupted run in {out} used: "
                             f"{_degrade_flags(was)}")
    elif init:
        config = load_model(init)[0].config
        if count_head:
            config = replace(config, count_head=True)
        if context:
            config = replace(config, context=_families(config.context + tuple(context)))
        if widen:
            config = _widened(config, widen, init)
        if width:
            config = _resized(config, input_size(*image_size, target_width=width), init)
        size = config.image_size
    elif widen:
        raise UsageError("--widen widens the network of an --init checkpoint",
                         hint="pass --init CK (a fresh run takes --channels)")
    if pretrain_stem and not resume and not init:
        stem = str(_pretrained_stem(config, out, pretrain_stem, seed, progress))
    train, val = load_splits(root, train_split, val_split, size, limit, progress,
                             sets=aux_weight > 0, degrade=degrade, seed=seed)
    cfg = TrainConfig(epochs=epochs, batch=batch, lr=lr, seed=seed, save_every=save_every,
                      val_every=val_every, aux_weight=aux_weight,
                      degrade=degrade.settings() if degrade else None)
    trainer = Trainer(train, val, out, config, cfg, device=device, resume=resume, stem=stem,
                      init=init, progress=progress)
    try:
        result = trainer.run()
    finally:
        trainer.dist.close()
    result.update(out=str(out), train_questions=len(train),
                  train_images=int(len(np.unique(train.image_ids))), val_questions=len(val))
    return result


def _degrade_flags(settings: dict | None) -> str:
    if not settings:
        return "none"
    low, high = settings["bytes"]
    return f"--degrade {','.join(settings['codecs'])} --degrade-bytes {low}-{high}"


def _families(names) -> tuple[str, ...]:
    """``names`` checked against the module families, in vocabulary order, once each."""
    from clevrlang.modules.learned.modules import module_families

    known = module_families()
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise UsageError(f"--context: no module family {', '.join(unknown)}",
                         hint=f"families: {', '.join(known)}")
    return tuple(f for f in known if f in set(names))


def _widened(config: ModelConfig, channels: int, init) -> ModelConfig:
    from clevrlang.modules.learned.training.widen import wider_config

    try:
        return wider_config(config, channels)
    except ValueError as e:
        raise UsageError(f"--widen {channels}: {init}: {e}") from None


def _resized(config: ModelConfig, size: tuple[int, int], init) -> ModelConfig:
    if size != config.image_size and config.classifier_pool != "global":
        raise UsageError(f"--width {size[0]}: {init} was trained at {config.image_size[0]} "
                         "wide, and its classifier (--pool max2) has weights per position",
                         hint="only a --pool global network runs at another size")
    return replace(config, image_size=size)


def _pretrained_stem(config: ModelConfig, out: Path, steps: int, seed: int, progress: bool) -> Path:
    import os

    from clevrlang.modules.learned.training.pretrain import pretrain_stem

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise UsageError("--pretrain-stem runs in one process",
                         hint="pretrain first without torchrun, then pass --stem FILE")
    path = out / "stem.safetensors"
    if path.is_file():
        log.info("using the pretrained stem already at %s", path)
        return path
    result = pretrain_stem(config, path, steps=steps, seed=seed, progress=progress)
    log.info("stem pretraining: %s", json.dumps(result))
    return path


def evaluate_world(checkpoint, world, split: str = "val", device: str = "auto",
                   limit: int | None = None, progress: bool = True) -> dict:
    """Accuracy of a checkpoint on a world split, overall and per question type."""
    from clevrlang.devices import pick_device
    from clevrlang.modules.learned.backend import resolve_checkpoint
    from clevrlang.modules.learned.training.data import from_world
    from clevrlang.modules.learned.training.train import evaluate

    model, _ = load_model(resolve_checkpoint(checkpoint), pick_device(device))
    data = from_world(world, split, model.config.image_size, limit, progress)
    return evaluate(model, data, batch=256)
