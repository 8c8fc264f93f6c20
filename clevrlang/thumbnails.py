"""World images for the codecs: 32x32 thumbnails (the codec table, codec training) and
full-size images (training codecs that code whole images as tiles)."""

from __future__ import annotations

from typing import Iterator

import numpy as np


def world_images(world_dir: str, split: str, n: int | None = None, offset: int = 0
                 ) -> Iterator[np.ndarray]:
    """The first ``n`` images of a split (after ``offset``), full size, one at a time."""
    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    count = world.num_images(split)
    stop = count if n is None else min(count, offset + n)
    for i in range(offset, stop):
        yield world.load_image(split, i)


def world_thumbnails(world_dir: str, split: str, n: int | None = None, size: int = 32,
                     offset: int = 0) -> list[np.ndarray]:
    """The first ``n`` images of a split (after ``offset``), resized to ``size`` x ``size``."""
    from PIL import Image

    return [np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.LANCZOS))
            for im in world_images(world_dir, split, n, offset)]
