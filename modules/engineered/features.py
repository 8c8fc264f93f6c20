"""Hand-built features of each detected box, for the attribute SVMs.

* :func:`appearance_features` (colour and material): a 6x6 thumbnail of the box's inner
  part, a saturation-weighted hue histogram, percentiles of saturation and brightness, the
  share of highlight pixels (bright and unsaturated: metal mirrors the lamps), brightness
  contrast and edge energy (metal mirrors its surroundings; rubber shades smoothly), and the
  mean colour of the most saturated pixels (the object's own colour, not the grey ground).
* :func:`shape_features` (for a one-class detector): a HOG descriptor of the grey box crop
  and the box's aspect ratio.
* :func:`size_features`: the box's width and height in world units at its back-projected
  depth, that depth, and the shape (a far large object and a near small one differ here).

No mask is needed: boxes are whole-object boxes, and the inner part of a box is mostly
object, except where a nearer object stands in front: the parts of a box covered by boxes
of nearer objects (:func:`own_pixels`) are left out of the statistics. Everything is computed from the RGB uint8 image at its own resolution.

>>> img = np.zeros((240, 320, 3), np.uint8); img[100:140, 150:190] = (200, 30, 30)
>>> appearance_features(img, [[150, 100, 190, 140]]).shape
(1, 152)
"""

from __future__ import annotations

import numpy as np

from clevrlang.language.vocabulary import SHAPES

THUMB = 6
HUE_BINS = 16
INNER = 0.6  # the central share of the box (each side) used for colour statistics


def _window(shape, box, inner: float = 1.0) -> tuple[slice, slice]:
    """Row and column slices of the central ``inner`` share of a box, inside the image."""
    h, w = shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy, bw, bh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * inner, (y1 - y0) * inner
    a0 = int(np.clip(np.floor(cx - bw / 2), 0, w - 1))
    a1 = int(np.clip(np.ceil(cx + bw / 2), a0 + 1, w))
    b0 = int(np.clip(np.floor(cy - bh / 2), 0, h - 1))
    b1 = int(np.clip(np.ceil(cy + bh / 2), b0 + 1, h))
    return slice(b0, b1), slice(a0, a1)


def _crop(image: np.ndarray, box, inner: float = 1.0) -> np.ndarray:
    rows, cols = _window(image.shape, box, inner)
    return image[rows, cols]


def own_pixels(shape, boxes) -> list[np.ndarray]:
    """For each box, a boolean map over its window: False where a nearer box covers it.

    Objects stand on the ground, so the box reaching lower in the image is the nearer one;
    its whole-object box over-covers its silhouette, so what remains is the farther
    object's own (if fewer) pixels. This replaces the instance mask a detector lacks.
    """
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    out = []
    for i, b in enumerate(boxes):
        rows, cols = _window(shape, b)
        own = np.ones((rows.stop - rows.start, cols.stop - cols.start), bool)
        for j in np.flatnonzero(boxes[:, 3] > b[3] + 0.5):
            o = boxes[j]
            r0, r1 = int(max(np.floor(o[1]), rows.start)), int(min(np.ceil(o[3]), rows.stop))
            c0, c1 = int(max(np.floor(o[0]), cols.start)), int(min(np.ceil(o[2]), cols.stop))
            if r1 > r0 and c1 > c0:
                own[r0 - rows.start:r1 - rows.start, c0 - cols.start:c1 - cols.start] = False
        out.append(own)
    return out


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in [0, 1), saturation and value in [0, 1] of (..., 3) float RGB in [0, 1]."""
    mx, mn = rgb.max(-1), rgb.min(-1)
    delta = mx - mn
    safe = np.where(delta > 0, delta, 1)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hue = np.where(mx == r, (g - b) / safe % 6, np.where(mx == g, (b - r) / safe + 2,
                                                         (r - g) / safe + 4)) / 6
    hue = np.where(delta > 0, hue, 0.0)
    sat = np.where(mx > 0, delta / np.where(mx > 0, mx, 1), 0.0)
    return hue % 1.0, sat, mx


def _thumb(crop: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(crop, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)


MIN_PIXELS = 6


def _one(image: np.ndarray, box, own: np.ndarray) -> np.ndarray:
    whole = _crop(image, box).astype(np.float32) / 255
    rows, cols = _window(image.shape, box)
    irows, icols = _window(image.shape, box, INNER)
    inner_own = np.zeros_like(own)
    inner_own[irows.start - rows.start:irows.stop - rows.start,
              icols.start - cols.start:icols.stop - cols.start] = True
    inner_own &= own
    # Colour statistics from the box's own central pixels; fall back to wider sets when
    # a nearer object hides most of them.
    pick = next((m for m in (inner_own, own) if m.sum() >= MIN_PIXELS),
                np.ones_like(own))
    px = whole[pick]
    seen = whole[own] if own.sum() >= MIN_PIXELS else whole.reshape(-1, 3)
    hue, sat, val = _hsv(px)
    hist = np.bincount((hue * HUE_BINS).astype(int) % HUE_BINS, weights=sat,
                       minlength=HUE_BINS)
    hist = hist / max(float(sat.sum()), 1e-6)
    q = np.array([5, 25, 50, 75, 95])
    _, wsat, wval = _hsv(seen)
    highlight = float(((wval > 0.85) & (wsat < 0.3)).mean())
    filled = np.where(own[..., None], whole, px.mean(0))  # hidden pixels -> own mean colour
    grey = filled.mean(-1)
    edges = (np.abs(np.diff(grey, axis=0)).mean() if grey.shape[0] > 1 else 0.0) + \
            (np.abs(np.diff(grey, axis=1)).mean() if grey.shape[1] > 1 else 0.0)
    top = np.argsort(sat)[-max(1, len(sat) * 3 // 10):]
    inner = filled[irows.start - rows.start:irows.stop - rows.start,
                   icols.start - cols.start:icols.stop - cols.start]
    return np.concatenate([
        _thumb(inner).ravel(), hist, np.percentile(sat, q), np.percentile(val, q),
        np.percentile(wval, q), np.percentile(wsat, q),
        [highlight, float(wval.std()), float(val.std()), float(edges), 1 - float(own.mean())],
        px[top].mean(0),
    ]).astype(np.float32)


def appearance_features(image: np.ndarray, boxes) -> np.ndarray:
    """(n, 152) colour and specularity statistics of all the boxes of one RGB image."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    image = np.asarray(image)[..., :3]
    if not len(boxes):
        return np.zeros((0, APPEARANCE_DIM), np.float32)
    owns = own_pixels(image.shape, boxes)
    return np.stack([_one(image, b, own) for b, own in zip(boxes, owns)])


APPEARANCE_DIM = THUMB * THUMB * 3 + HUE_BINS + 5 * 4 + 5 + 3


def shape_features(image: np.ndarray, boxes) -> np.ndarray:
    """(n, 326) HOG of the grey 32x32 box crop plus its aspect ratio and log area."""
    import cv2
    from skimage.feature import hog

    boxes = np.asarray(boxes, float).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, SHAPE_DIM), np.float32)
    grey = np.asarray(image)[..., :3].mean(-1).astype(np.float32)
    out = []
    for b in boxes:
        crop = cv2.resize(_crop(grey, b), (32, 32), interpolation=cv2.INTER_AREA)
        h = hog(crop, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
        w, ht = max(b[2] - b[0], 1.0), max(b[3] - b[1], 1.0)
        out.append(np.concatenate([h, [np.log(w / ht), np.log(w * ht)]]))
    return np.asarray(out, np.float32)


SHAPE_DIM = 324 + 2  # HOG of 32x32 (3x3 blocks of 2x2 cells, 9 bins) + two box ratios


def size_features(geometry: np.ndarray, shapes) -> np.ndarray:
    """(n, 6): box width/height in world units, depth, and the shape one-hot."""
    onehot = np.eye(len(SHAPES))[[SHAPES.index(s) for s in shapes]].reshape(-1, len(SHAPES))
    return np.c_[geometry[:, 5:7], geometry[:, 4:5], onehot].astype(np.float32)
