"""Geometry of the engineered back end: whole-object boxes, ground frames, back-projection.

The detector is trained on *amodal* boxes -- the projection of each whole object, not just
its visible pixels -- because an object half hidden behind another keeps its true footprint
and height in the box, and those are what size and 3D position are read from.

Positions are estimated in the camera's *ground frame*: the ground axes ``right`` and
``behind`` of the camera (CLEVR's ``right`` and ``behind`` directions) through the world
origin, which every CLEVR camera looks at. CLEVR's relations only compare coordinates along
those directions, so a position known in this frame gives the right relations whatever the
camera's azimuth; an image without a scene is read through CLEVR's base camera (the per-image
jitter only moves the camera by +-0.5).

>>> from clevrlang.world.camera import Camera
>>> cam = Camera(width=320, height=240)
>>> p = backproject(cam, [[160.0, 120.0]], [0.0])[0]   # the image centre is the origin
>>> [round(float(c), 6) + 0.0 for c in p]
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from clevrlang.world.camera import Camera
from clevrlang.world.geometry import half_size

#: Height of a small object's centre: where box centres are back-projected to.
SMALL_CENTRE = half_size("sphere", "small")


def camera_of(scene: dict | None, width: int, height: int) -> Camera:
    """The scene's camera at ``width x height`` (CLEVR's base camera when there is none)."""
    return Camera.from_dict((scene or {}).get("camera"), width, height)


def _unit_points(shape: str) -> np.ndarray:
    """Points on the silhouette-making surface of a unit shape (in its own frame)."""
    if shape == "cube":
        return np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    if shape == "cylinder":
        a = np.linspace(0, 2 * math.pi, 72, endpoint=False)
        ring = np.stack([np.cos(a), np.sin(a)], 1)
        return np.concatenate([np.c_[ring, -np.ones(72)], np.c_[ring, np.ones(72)]])
    k = np.arange(600) + 0.5  # a Fibonacci sphere: even coverage, no pole clustering
    z = 1 - 2 * k / 600
    phi = k * math.pi * (3 - math.sqrt(5))
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)


def amodal_boxes(scene: dict, width: int, height: int, camera: Camera | None = None
                 ) -> np.ndarray:
    """(N, 4) float ``[x0, y0, x1, y1]``: each whole object's projection, clipped to the image."""
    cam = camera or camera_of(scene, width, height)
    out = np.zeros((len(scene["objects"]), 4))
    for i, o in enumerate(scene["objects"]):
        s = half_size(o["shape"], o["size"])
        t = math.radians(float(o.get("rotation", 0.0)))
        rot = np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])
        x, y = (float(c) for c in o["3d_coords"][:2])
        pts = _unit_points(o["shape"]) * s @ rot.T + np.array([x, y, s])
        uv = cam.project(pts)[:, :2]
        out[i] = [*uv.min(0), *uv.max(0)]
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def ground_axes(cam: Camera) -> np.ndarray:
    """(2, 2): the camera's ground ``right`` and ``behind`` unit vectors (world x, y)."""
    d = cam.directions()
    return np.array([d["right"][:2], d["behind"][:2]])


def to_frame(cam: Camera, xy) -> np.ndarray:
    """World ground points (N, 2) -> the camera's ground frame ``(right, behind)``."""
    return np.asarray(xy, float).reshape(-1, 2) @ ground_axes(cam).T


def from_frame(cam: Camera, rb) -> np.ndarray:
    """Ground-frame points (N, 2) -> world ``(x, y)``."""
    return np.asarray(rb, float).reshape(-1, 2) @ ground_axes(cam)


def backproject(cam: Camera, uv, z) -> np.ndarray:
    """Pixels (N, 2) -> the world points (N, 3) where their rays cross the planes ``z``."""
    uv = np.asarray(uv, float).reshape(-1, 2)
    z = np.broadcast_to(np.asarray(z, float), (len(uv),))
    f = cam.focal_px
    d = (cam.forward[None] * f + cam.right[None] * (uv[:, :1] - cam.width / 2)
         - cam.up[None] * (uv[:, 1:] - cam.height / 2))
    loc = np.asarray(cam.location, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (z - loc[2]) / d[:, 2]
    t = np.where(t > 0, t, np.nan)  # rays that never reach the plane (above the horizon)
    return loc[None] + t[:, None] * d


def box_geometry(cam: Camera, boxes) -> np.ndarray:
    """(N, 10) features of boxes read through ``cam``, for size and position models.

    Columns: the ground-frame points below the box's bottom centre (at z = 0) and below its
    centre (at the height of a small object's centre), the depth of the bottom point, box
    width and height in pixels and in world units at that depth, and the box centre.
    """
    b = np.asarray(boxes, float).reshape(-1, 4)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    cu, cv = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    foot = backproject(cam, np.c_[cu, b[:, 3]], 0.0)
    mid = backproject(cam, np.c_[cu, cv], SMALL_CENTRE)
    depth = (foot - np.asarray(cam.location)[None]) @ cam.forward
    scale = depth / cam.focal_px
    feats = np.c_[to_frame(cam, foot[:, :2]), to_frame(cam, mid[:, :2]), depth,
                  w * scale, h * scale, w, h, cv]
    return np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0)



def centre_height(shape: str, size: str) -> float:
    """The height of an object's centre above the ground (its half-size)."""
    return half_size(shape, size)


def world_coords(cam: Camera, frame_xy, shapes, sizes) -> list[list[float]]:
    """``3d_coords`` from ground-frame positions and the objects' shapes and sizes."""
    xy = from_frame(cam, frame_xy)
    return [[float(x), float(y), float(centre_height(s, z))]
            for (x, y), s, z in zip(xy, shapes, sizes)]


def iou_matrix(a, b) -> np.ndarray:
    """(len(a), len(b)) intersection over union of ``[x0, y0, x1, y1]`` boxes."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x1 - x0).clip(0) * (y1 - y0).clip(0)
    area = lambda r: (r[:, 2] - r[:, 0]).clip(0) * (r[:, 3] - r[:, 1]).clip(0)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match(pred_boxes, true_boxes, threshold: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one (pred, true) pairs with IoU >= ``threshold``, maximising total IoU."""
    from scipy.optimize import linear_sum_assignment

    iou = iou_matrix(pred_boxes, true_boxes)
    if not iou.size:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= threshold]

