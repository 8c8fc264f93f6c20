"""Training the module network on compressed images too (``clevr train learned --degrade``).

A network trained on clean renders answers worse on what a codec gives back: through the task
codec at 640 B it loses colours (a cyan metal sphere comes back red-brown) and with them
~10 points. So each training image gets one copy that went through a codec and budget drawn
by :class:`~clevrlang.compress.degrade.Degradation`, at full size as ``compress[...]`` codes
it, then resized to the network's input; the training set is the clean images and the copies,
each question asked of both. Validation stays on clean images.

The copies are a (N, H, W, 3) uint8 stack cached beside the world (``.cache/degraded_*.npy``,
written atomically, keyed by the world cache's key, the codecs, budgets and seed), so a
resumed run reads them instead of encoding again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clevrlang.atomic import replacing
from clevrlang.compress.degrade import Degradation, degrade

log = logging.getLogger(__name__)
STREAM = 0  # of Degradation.draw: the training images


def degraded_stack(world, split: str, names: Sequence[str], size: tuple[int, int],
                   spec: Degradation, seed: int, key: str, progress: bool = True) -> np.ndarray:
    """Image ``k`` of ``names`` through ``spec.draw(seed, STREAM, k)``, at ``size``; read from
    the world's cache when it was made before (``key``: the split's cache key)."""
    from tqdm.auto import tqdm

    from clevrlang.images import load_image
    from clevrlang.modules.learned.stem import as_uint8

    digest = hashlib.sha256(json.dumps([key, spec.settings(), seed]).encode()).hexdigest()[:16]
    path = Path(world.root) / ".cache" / f"degraded_{split}_{size[0]}x{size[1]}_{digest}.npy"
    if path.is_file():
        try:
            stack = np.load(path, mmap_mode="r", allow_pickle=False)
            if stack.shape == (len(names), size[1], size[0], 3):
                return stack
        except (OSError, ValueError):
            pass
        log.warning("making again the unreadable degraded images %s", path)
    out = np.empty((len(names), size[1], size[0], 3), np.uint8)
    sizes: dict[str, list[int]] = {}
    folder = Path(world.root) / "images" / split
    for k, name in enumerate(tqdm(names, desc="degrade", unit="img", disable=not progress)):
        codec, budget = spec.draw(seed, STREAM, k)
        image, nbytes = degrade(load_image(folder / name), codec, budget)
        out[k] = as_uint8([image], size)[0]
        sizes.setdefault(codec, []).append(nbytes)
    log.info("degraded copies: %s", {c: f"{len(v)} images, mean {np.mean(v):.0f} B"
                                     for c, v in sorted(sizes.items())})
    try:
        with replacing(path) as tmp, open(tmp, "wb") as f:
            np.save(f, out)
    except OSError as e:
        log.warning("could not cache the degraded images in %s: %s", path.parent, e)
    return out


def with_copies(data, copies: np.ndarray):
    """``data`` (a :class:`~.data.QADataset`) with ``copies`` as more images, one per image,
    and every question asked again of its image's copy."""
    from clevrlang.modules.learned.training.data import QADataset

    n = len(data.images)
    if copies.shape != data.images.shape:
        raise ValueError(f"{copies.shape[0]} copies of {n} images")
    twice = np.concatenate([np.arange(len(data)), np.arange(len(data))])
    out = QADataset(np.concatenate([data.images, copies]),
                    np.concatenate([data.image_ids, data.image_ids + n]),
                    list(data.nodes) * 2, data.answers[twice], data.name,
                    _Twice(data.scenes) if data.scenes is not None else None,
                    None if data.owners is None else np.concatenate([data.owners, data.owners]),
                    None if data.image_names is None else list(data.image_names) * 2,
                    None if data.centres is None else list(data.centres) * 2,
                    None if data.table is None else data.table.subset(twice))
    return out


class _Twice(Sequence):
    """A sequence seen twice in a row, without reading it (the world cache's scenes are
    read only when first used)."""

    def __init__(self, items: Sequence):
        self._items = items

    def __len__(self) -> int:
        return 2 * len(self._items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self._items)
        if not -2 * n <= i < 2 * n:
            raise IndexError(i)
        return self._items[i % n]
