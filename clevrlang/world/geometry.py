"""Scene geometry for the ray caster: batched scene arrays, screen rectangles, ray pairs, hits.

Every object is a unit shape in its own frame (sphere ``|p| <= 1``, cube ``|p_i| <= 1``,
cylinder ``x^2 + y^2 <= 1, |z| <= 1``) scaled by its half-size ``s``, turned by its rotation
about z and moved to its centre. A ray is moved into that frame (uniform scale keeps the ray
parameter ``t``), and one formula serves all three shapes: the z slab, intersected with either
the x/y slabs (cube) or a quadric ``x^2 + y^2 + k z^2 = 1`` (k = 1 sphere, 0 cylinder).

Work is spent only where an object can be: each object's (or its shadow's) bounding
rectangle on screen becomes a list of (ray, object) pairs, generated without Python loops, so
the same code batches many images on a GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from clevrlang.language.errors import DataError
from clevrlang.language.vocabulary import COLOR_RGB, SIZE_RADIUS
from clevrlang.world.camera import BASE_LIGHTS, Camera

#: Bevel radius of the "smooth" cube and cylinder, in units of the object's half-size.
BEVEL = 0.1
_EPS = 1e-4


def half_size(shape: str, size: str) -> float:
    """Half-size of an object (CLEVR shrinks cubes by sqrt 2 so they fit the same circle)."""
    r = SIZE_RADIUS[size]
    return r / math.sqrt(2) if shape == "cube" else r


@dataclass
class Raster:
    """The grid of camera rays: ``width x height`` samples and the pinhole in sample units."""

    width: int
    height: int
    focal: float
    cx: float
    cy: float

    @classmethod
    def of(cls, camera: Camera, ss: int = 1) -> Raster:
        return cls(camera.width * ss, camera.height * ss, camera.focal_px * ss,
                   camera.width * ss / 2, camera.height * ss / 2)

    @property
    def n(self) -> int:
        return self.width * self.height


@dataclass
class SceneArrays:
    """A batch of scenes on the backend: per image (B) and per object (K, all images).

    Vectors are tuples of three 1-D arrays (x, y, z): contiguous components are several
    times faster than strided columns of an (n, 3) array.
    """

    host: dict  # float64 NumPy copies, for screen rectangles on the host
    cam_pos: tuple  # 3 x (B,)
    cam_fwd: tuple
    cam_right: tuple
    cam_up: tuple
    lights: dict  # name -> 3 x (B,)
    image: object  # (K,) image of each object
    local: object  # (K,) index of the object in its scene
    center: tuple  # 3 x (K,)
    scale: object  # (K,) half-size
    cos: object
    sin: object
    cube: object  # (K,) bool
    quad_k: object  # (K,) 1 sphere, 0 cylinder (and cube, unused)
    albedo: tuple  # 3 x (K,) linear
    metal: object  # (K,) bool
    bound: object  # (K,) bounding-sphere radius
    n_images: int
    n_objects: int

    def per_image(self, vec: tuple, img) -> tuple:
        """Per-image vector ``vec`` looked up for items of images ``img`` (broadcast if B=1)."""
        if self.n_images == 1:
            return tuple(c[0] for c in vec)
        return tuple(c[img] for c in vec)


def _object_rows(scene: dict, where: str):
    rows = []
    for i, o in enumerate(scene.get("objects", [])):
        try:
            shape, size = o["shape"], o["size"]
            s = half_size(shape, size)
            x, y = float(o["3d_coords"][0]), float(o["3d_coords"][1])
            theta = math.radians(float(o.get("rotation", 0.0)))
            rgb = [c / 255.0 for c in COLOR_RGB[o["color"]]]
            metal = o["material"] == "metal"
        except (KeyError, TypeError, IndexError, ValueError) as e:
            raise DataError(f"{where}: object {i} is malformed ({type(e).__name__}: {e})") from None
        if shape not in ("cube", "sphere", "cylinder"):
            raise DataError(f"{where}: object {i} has unknown shape {shape!r}")
        rows.append((x, y, s, s, math.cos(theta), math.sin(theta), shape == "cube",
                     1.0 if shape == "sphere" else 0.0, *rgb, metal))
    return rows


def scene_arrays(xp, scenes: list[dict], cameras: list[Camera]) -> SceneArrays:
    """Flatten scenes (with their cameras at the render resolution) onto the backend ``xp``."""
    rows, image, local = [], [], []
    for b, scene in enumerate(scenes):
        r = _object_rows(scene, f"scene {scene.get('image_filename', b)}")
        rows += r
        image += [b] * len(r)
        local += list(range(len(r)))
    obj = np.array(rows, dtype=np.float64).reshape(-1, 12)
    lights = {name: np.array([s.get("lights", {}).get(name, pos) for s in scenes], np.float64)
              for name, pos in BASE_LIGHTS.items()}
    host = {
        "cam_pos": np.array([c.location for c in cameras], np.float64),
        "cam_fwd": np.stack([c.forward for c in cameras]),
        "cam_right": np.stack([c.right for c in cameras]),
        "cam_up": np.stack([c.up for c in cameras]),
        "image": np.array(image, np.int64),
        "center": obj[:, 0:3], "scale": obj[:, 3], "cos": obj[:, 4], "sin": obj[:, 5],
        "cube": obj[:, 6] > 0.5, "lights": lights,
    }

    def vec(m):
        return tuple(xp.asarray(np.ascontiguousarray(m[:, i]), "float32") for i in range(3))

    return SceneArrays(
        host=host, cam_pos=vec(host["cam_pos"]), cam_fwd=vec(host["cam_fwd"]),
        cam_right=vec(host["cam_right"]), cam_up=vec(host["cam_up"]),
        lights={k: vec(v) for k, v in lights.items()},
        image=xp.asarray(image, "int64"), local=xp.asarray(local, "int64"),
        center=vec(obj[:, 0:3]), scale=xp.asarray(obj[:, 3], "float32"),
        cos=xp.asarray(obj[:, 4], "float32"), sin=xp.asarray(obj[:, 5], "float32"),
        cube=xp.asarray(obj[:, 6] > 0.5, "bool"), quad_k=xp.asarray(obj[:, 7], "float32"),
        albedo=vec(obj[:, 8:11]), metal=xp.asarray(obj[:, 11] > 0.5, "bool"),
        bound=xp.asarray(obj[:, 3] * np.where(obj[:, 6] > 0.5, math.sqrt(3),
                                              np.where(obj[:, 7] > 0.5, 1.0, math.sqrt(2))),
                         "float32"),
        n_images=len(scenes), n_objects=len(rows),
    )


# -- screen rectangles (on the host, float64) ----------------------------------------------

def _corners(host: dict) -> np.ndarray:
    """(K, 8, 3) corners of each object's world-aligned bounding box."""
    s, c = host["scale"], host["center"]
    turn = np.abs(host["cos"]) + np.abs(host["sin"])
    hx = np.where(host["cube"], s * turn, s)
    signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
    half = np.stack([hx, hx, s], axis=1)
    return c[:, None, :] + signs[None] * half[:, None, :]


def _screen_rect(host: dict, pts: np.ndarray, raster: Raster) -> np.ndarray:
    """(K, 4) int ``[x0, y0, x1, y1)`` sample rectangles covering each row of (K, M, 3) points."""
    img = host["image"]
    rel = pts - host["cam_pos"][img][:, None, :]
    x = np.einsum("kmc,kc->km", rel, host["cam_right"][img])
    y = np.einsum("kmc,kc->km", rel, host["cam_up"][img])
    z = np.einsum("kmc,kc->km", rel, host["cam_fwd"][img])
    behind = (z < 0.05).any(axis=1)
    z = np.maximum(z, 0.05)
    u = raster.cx + raster.focal * x / z
    v = raster.cy - raster.focal * y / z
    rect = np.stack([np.floor(u.min(1) - 0.5), np.floor(v.min(1) - 0.5),
                     np.floor(u.max(1) - 0.5) + 2, np.floor(v.max(1) - 0.5) + 2], axis=1)
    rect[behind] = [0, 0, raster.width, raster.height]
    lim = np.array([raster.width, raster.height, raster.width, raster.height])
    return np.clip(rect, 0, lim).astype(np.int64)


def object_rects(host: dict, raster: Raster) -> np.ndarray:
    """Where each object can appear on screen."""
    return _screen_rect(host, _corners(host), raster)


def shadow_rects(host: dict, light: np.ndarray, raster: Raster) -> np.ndarray:
    """Where each object can cast a shadow from ``light`` (B, 3) onto the ground or others.

    A shadowed point lies between an occluder point and that point's shadow on the ground,
    so it is inside the hull of the box corners and their projections from the light.
    """
    corners = _corners(host)
    lamp = light[host["image"]][:, None, :]
    drop = lamp[..., 2] - corners[..., 2]
    k = lamp[..., 2:3] / np.maximum(drop, 1e-3)[..., None]
    ground = lamp + (corners - lamp) * k
    rect = _screen_rect(host, np.concatenate([corners, ground], axis=1), raster)
    low = (drop < 0.1).any(axis=1)  # a lamp below an object's top: shadows reach far
    rect[low] = [0, 0, raster.width, raster.height]
    return rect


def contact_rects(host: dict, raster: Raster, reach: float) -> np.ndarray:
    """Where the ground within ``reach`` half-sizes of each object's centre appears."""
    corners = _corners(host) * [1.0, 1.0, 0.0]  # the box's footprint, on the ground ...
    centre = host["center"][:, None, :] * [1.0, 1.0, 0.0]
    return _screen_rect(host, centre + (corners - centre) * reach, raster)  # ... grown


def sphere_candidates(xp, a: SceneArrays, obj, o: tuple, d: tuple):
    """Whether rays (unit ``d``) can hit each object's bounding sphere (a cheap pre-test)."""
    oc = tuple(c[obj] - oo for c, oo in zip(a.center, o))
    along = oc[0] * d[0] + oc[1] * d[1] + oc[2] * d[2]
    dist2 = oc[0] * oc[0] + oc[1] * oc[1] + oc[2] * oc[2]
    r2 = a.bound[obj] ** 2
    return (dist2 - along * along < r2) & ((along > 0) | (dist2 < r2))


# -- (ray, object) pairs, on the backend ---------------------------------------------------

def rect_pairs(xp, rects: np.ndarray, image: np.ndarray, raster: Raster):
    """Every (ray, object) pair with the ray's sample inside the object's rectangle.

    Two levels of ``repeat`` (objects -> rows -> samples) avoid integer division.
    """
    w = np.maximum(rects[:, 2] - rects[:, 0], 0)
    h = np.where(w > 0, np.maximum(rects[:, 3] - rects[:, 1], 0), 0)
    row_obj = np.repeat(np.arange(len(h)), h)
    row_y = rects[row_obj, 1] + np.arange(len(row_obj)) - np.repeat(np.cumsum(h) - h, h)
    row_start = image[row_obj] * raster.n + row_y * raster.width + rects[row_obj, 0]
    row_w = w[row_obj]
    first = np.cumsum(row_w) - row_w
    rw = xp.asarray(row_w, "int64")
    ray = xp.repeat(xp.asarray(row_start - first, "int64"), rw) + xp.arange(int(row_w.sum()))
    obj = xp.repeat(xp.asarray(row_obj, "int64"), rw)
    return ray, obj


def same_image_pairs(xp, rays_image, counts: np.ndarray):
    """Pairs of each ray (of image ``rays_image``) with every object of its image."""
    start = np.cumsum(counts) - counts
    n = xp.asarray(counts, "int64")[rays_image]
    ray = xp.repeat(xp.arange(int(rays_image.shape[0])), n)
    first = xp.cumsum(n) - n
    obj = xp.repeat(xp.asarray(start, "int64")[rays_image] - first, n) + xp.arange(int(n.sum()))
    return ray, obj


# -- intersection --------------------------------------------------------------------------

def take(vec: tuple, idx) -> tuple:
    return tuple(c[idx] for c in vec)


def _to_local(a: SceneArrays, obj, o: tuple, d: tuple | None):
    cx, cy, cz = take(a.center, obj)
    cs, sn = a.cos[obj], a.sin[obj]
    inv = 1.0 / a.scale[obj]
    wx, wy = o[0] - cx, o[1] - cy
    ol = ((cs * wx + sn * wy) * inv, (cs * wy - sn * wx) * inv, (o[2] - cz) * inv)
    if d is None:
        return ol, None, cs, sn
    dl = ((cs * d[0] + sn * d[1]) * inv, (cs * d[1] - sn * d[0]) * inv, d[2] * inv)
    return ol, dl, cs, sn


def _slab(xp, o, d):
    inv = 1.0 / xp.where(xp.abs(d) < 1e-9, 1e-9, d)
    t1, t2 = (-1.0 - o) * inv, (1.0 - o) * inv
    return xp.minimum(t1, t2), xp.maximum(t1, t2)


def intersect(xp, a: SceneArrays, obj, o: tuple, d: tuple):
    """Entry distance of rays ``o + t d`` into objects ``obj``; ``inf`` where they miss.

    Only hits with ``t > 1e-4`` count (rays start outside or on the surface).
    """
    (ox, oy, oz), (dx, dy, dz), _, _ = _to_local(a, obj, o, d)
    near, far = _slab(xp, oz, dz)
    nx, fx = _slab(xp, ox, dx)
    ny, fy = _slab(xp, oy, dy)
    k = a.quad_k[obj]
    qa = dx * dx + dy * dy + k * dz * dz
    qb = ox * dx + oy * dy + k * oz * dz
    qc = ox * ox + oy * oy + k * oz * oz - 1.0
    disc = qb * qb - qa * qc
    root = xp.sqrt(xp.clip(disc, 0.0, None))
    qa = xp.clip(qa, 1e-12, None)
    cube = a.cube[obj]
    near = xp.maximum(near, xp.where(cube, xp.maximum(nx, ny), (-qb - root) / qa))
    far = xp.minimum(far, xp.where(cube, xp.minimum(fx, fy), (-qb + root) / qa))
    hit = (near <= far) & (near > _EPS) & (cube | (disc >= 0))
    return xp.where(hit, near, float("inf"))


def normals(xp, a: SceneArrays, obj, p: tuple) -> tuple:
    """World normals at surface points ``p`` of objects ``obj`` (bevelled cube and cylinder)."""
    (x, y, z), _, cs, sn = _to_local(a, obj, p, None)
    edge = 1.0 - BEVEL
    rim = xp.sqrt(x * x + y * y)
    cube, sphere = a.cube[obj], a.quad_k[obj] > 0.5
    # Rounded box: the normal of the nearest point of the inner box (all three axes).
    bx = xp.clip(xp.abs(x) - edge, 0.0, None) * xp.sign(x)
    by = xp.clip(xp.abs(y) - edge, 0.0, None) * xp.sign(y)
    # Rounded cylinder: radial and axial parts past the inner cylinder.
    radial = xp.clip(rim - edge, 0.0, None) / xp.clip(rim, 1e-6, None)
    bz = xp.clip(xp.abs(z) - edge, 0.0, None) * xp.sign(z)
    nx = xp.where(sphere, x, xp.where(cube, bx, x * radial))
    ny = xp.where(sphere, y, xp.where(cube, by, y * radial))
    nz = xp.where(sphere, z, bz)
    inv = 1.0 / xp.clip(xp.sqrt(nx * nx + ny * ny + nz * nz), 1e-9, None)
    nx, ny, nz = nx * inv, ny * inv, nz * inv
    return (cs * nx - sn * ny, sn * nx + cs * ny, nz)
