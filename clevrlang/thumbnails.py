"""32x32 thumbnails of world images: what the codec table and codec training use."""

from __future__ import annotations

import numpy as np


def world_thumbnails(world_dir: str, split: str, n: int | None = None, size: int = 32,
                     offset: int = 0) -> list[np.ndarray]:
    """The first ``n`` images of a split (after ``offset``), resized to ``size`` x ``size``."""
    from PIL import Image

    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    count = world.num_images(split)
    stop = count if n is None else min(count, offset + n)
    out = []
    for i in range(offset, stop):
        im = Image.fromarray(world.load_image(split, i))
        out.append(np.asarray(im.resize((size, size), Image.Resampling.LANCZOS)))
    return out
