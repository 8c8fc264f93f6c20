"""Synthetic CLEVR-like pictures (coloured shapes with shadows on a grey floor) for tests and
for training codecs before the world generator's renders are at hand.

>>> synthetic_images(2, size=(48, 64), seed=0).shape
(2, 48, 64, 3)
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from clevrlang.language.vocabulary import COLOR_RGB


def synthetic_images(n: int, size: tuple[int, int] = (64, 64), seed: int = 0,
                     objects: tuple[int, int] = (3, 8)) -> np.ndarray:
    """``n`` images of ``size`` (height, width) as an ``n x H x W x 3`` uint8 array."""
    rng = np.random.default_rng(seed)
    return np.stack([_one(rng, size, objects) for _ in range(n)])


def _floor(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A grey floor brighter towards the back, with a little sensor noise."""
    top, bottom = rng.uniform(120, 170), rng.uniform(80, 120)
    ramp = np.linspace(top, bottom, h)[:, None, None] * np.ones((1, w, 3))
    ramp += rng.normal(0, 2.0, ramp.shape)
    return ramp


def _one(rng: np.random.Generator, size: tuple[int, int], objects: tuple[int, int]) -> np.ndarray:
    h, w = size
    scale = 4  # draw large, then downsample: anti-aliased edges like a renderer's
    base = Image.fromarray(np.clip(_floor(rng, h, w), 0, 255).astype(np.uint8))
    canvas = base.resize((w * scale, h * scale), Image.BILINEAR)
    shadow = Image.new("L", canvas.size, 0)
    items = []
    for _ in range(int(rng.integers(objects[0], objects[1] + 1))):
        r = rng.uniform(0.06, 0.16) * min(h, w) * scale
        cx, cy = rng.uniform(r, w * scale - r), rng.uniform(r, h * scale - r)
        items.append((cy, cx, r, str(rng.choice(("cube", "sphere", "cylinder"))),
                      COLOR_RGB[str(rng.choice(list(COLOR_RGB)))], rng.random() < 0.5))
    items.sort()  # far (top) first, so nearer objects cover farther ones
    sd = ImageDraw.Draw(shadow)
    for cy, cx, r, *_ in items:
        sd.ellipse([cx - r * 0.6, cy, cx + r * 1.6, cy + r * 1.1], fill=90)
    shadow = shadow.filter(ImageFilter.GaussianBlur(scale * 2))
    canvas = Image.composite(Image.new("RGB", canvas.size, (20, 20, 25)), canvas, shadow)
    draw = ImageDraw.Draw(canvas)
    for cy, cx, r, shape, rgb, metal in items:
        _draw(draw, shape, cx, cy, r, rgb, metal)
    return np.asarray(canvas.resize((w, h), Image.LANCZOS))


def _shade(rgb, k: float):
    return tuple(int(np.clip(c * k, 0, 255)) for c in rgb)


def _draw(draw: ImageDraw.ImageDraw, shape: str, cx, cy, r, rgb, metal: bool) -> None:
    if shape == "sphere":
        for i in range(6):  # concentric discs: a cheap radial shading
            k = 0.7 + 0.1 * i
            rr = r * (1 - i / 7)
            ox, oy = -r * 0.05 * i, -r * 0.05 * i
            draw.ellipse([cx - rr + ox, cy - rr + oy, cx + rr + ox, cy + rr + oy],
                         fill=_shade(rgb, k))
    elif shape == "cube":
        d = r * 0.35
        draw.polygon([(cx - r, cy - r + d), (cx - r + d, cy - r), (cx + r, cy - r),
                      (cx + r - d, cy - r + d)], fill=_shade(rgb, 1.25))
        draw.polygon([(cx + r - d, cy - r + d), (cx + r, cy - r), (cx + r, cy + r - d),
                      (cx + r - d, cy + r)], fill=_shade(rgb, 0.7))
        draw.rectangle([cx - r, cy - r + d, cx + r - d, cy + r], fill=rgb)
    else:  # cylinder: body, then the top ellipse
        e = r * 0.3
        draw.rectangle([cx - r, cy - r + e, cx + r, cy + r - e], fill=_shade(rgb, 0.85))
        draw.ellipse([cx - r, cy + r - 2 * e, cx + r, cy + r], fill=_shade(rgb, 0.85))
        draw.ellipse([cx - r, cy - r, cx + r, cy - r + 2 * e], fill=_shade(rgb, 1.2))
    if metal:  # a specular highlight
        s = r * 0.18
        draw.ellipse([cx - r * 0.4 - s, cy - r * 0.4 - s, cx - r * 0.4 + s, cy - r * 0.4 + s],
                     fill=_shade(rgb, 2.2))
