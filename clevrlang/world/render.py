"""The renderer: a vectorised ray caster for CLEVR scenes, on NumPy (CPU) or torch (GPU).

One code path serves both back ends (see :mod:`clevrlang.world.arrays`) and any batch size:
camera rays hit the ground plane and the objects whose screen rectangles contain them; the
key lamp casts shadows; rubber is matte, metal mirrors the studio, the ground and the other
objects; ``ss=2`` supersamples. Besides the picture it returns the instance mask
(0 = background, object i = i + 1), each object's visible box and visible pixel count.

>>> from clevrlang.world.scenes import make_scene
>>> scene = make_scene(0, 0, width=160, height=120)
>>> result = render(scene, 160, 120)
>>> result.image.shape, result.mask.shape, int(result.mask.max()) == len(scene["objects"])
((120, 160, 3), (120, 160), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clevrlang.language.errors import UsageError
from clevrlang.world import geometry as geo
from clevrlang.world import shading
from clevrlang.world.arrays import namespace
from clevrlang.world.camera import Camera
from clevrlang.world.shading import LOOK, Look

_INF = float("inf")


@dataclass(frozen=True)
class RenderResult:
    """One rendered image and what detectors need to learn from it."""

    image: np.ndarray  # (H, W, 3) uint8 sRGB
    mask: np.ndarray  # (H, W) uint8: 0 background, object i -> i + 1
    bboxes: np.ndarray  # (N, 4) int [x0, y0, x1, y1): pixel edges; -1 rows if invisible
    visible_pixels: np.ndarray  # (N,) int


def _cameras(scenes, width, height) -> list[Camera]:
    cams = []
    for s in scenes:
        stored = s.get("camera") or {}
        w = width or stored.get("width", 480)
        h = height or stored.get("height", 320)
        cams.append(Camera.from_dict(stored, w, h))
    if len({(c.width, c.height) for c in cams}) > 1:
        raise UsageError("render_batch: scenes of one batch must share width and height")
    return cams


def _camera_rays(xp, a: geo.SceneArrays, r: geo.Raster) -> tuple:
    """Unit directions through the sample centres, (B * H * W,) per component, row-major."""
    xs = xp.reshape(xp.cast(xp.arange(r.width), "float32") + (0.5 - r.cx), (1, 1, r.width))
    ys = xp.reshape(xp.cast(xp.arange(r.height), "float32") + (0.5 - r.cy), (1, r.height, 1))
    b = a.n_images
    d = []
    for f, rt, up in zip(a.cam_fwd, a.cam_right, a.cam_up):
        c = (xp.reshape(f, (b, 1, 1)) * r.focal + xp.reshape(rt, (b, 1, 1)) * xs
             - xp.reshape(up, (b, 1, 1)) * ys)
        d.append(xp.reshape(c, (-1,)))
    return shading.unit(xp, tuple(d))


def _primary(xp, a: geo.SceneArrays, r: geo.Raster):
    """Nearest object hit of every camera ray: (dirs, t, object index or -1)."""
    dirs = _camera_rays(xp, a, r)
    total = a.n_images * r.n
    tbuf = xp.full(total, _INF)
    hit = xp.full(total, -1, "int64")
    if a.n_objects:
        ray, obj = geo.rect_pairs(xp, geo.object_rects(a.host, r), a.host["image"], r)
        t = geo.intersect(xp, a, obj, a.per_image(a.cam_pos, a.image[obj]), geo.take(dirs, ray))
        xp.scatter_min(tbuf, ray, t)
        win = xp.nonzero((t == tbuf[ray]) & (t < _INF))
        hit[ray[win]] = obj[win]
    return dirs, tbuf, hit


def _mask_stats(xp, a: geo.SceneArrays, r: geo.Raster, hit):
    """Instance masks (B, H, W) and per-object visible pixel counts and boxes (host arrays)."""
    hit_np = xp.to_numpy(hit)
    local = np.concatenate([[0], xp.to_numpy(a.local) + 1]).astype(np.uint8)
    mask = local[hit_np + 1].reshape(a.n_images, r.height, r.width)
    idx = np.flatnonzero(hit_np >= 0)
    k = hit_np[idx]
    counts = np.bincount(k, minlength=a.n_objects)
    boxes = np.full((a.n_objects, 4), -1, np.int64)
    if len(idx):
        x, y = idx % r.width, (idx // r.width) % r.height
        for col, (v, fn) in enumerate(((x, np.minimum), (y, np.minimum),
                                       (x + 1, np.maximum), (y + 1, np.maximum))):
            buf = np.full(a.n_objects, np.iinfo(np.int64).max if fn is np.minimum else -1)
            fn.at(buf, k, v)
            boxes[:, col] = np.where(counts > 0, buf, -1)
    return mask, counts, boxes


def _key_visibility(xp, a: geo.SceneArrays, r: geo.Raster, p: tuple, hit):
    """1.0 where the key lamp is visible from each sample's surface point, else 0.0."""
    total = int(p[0].shape[0])
    if not a.n_objects:
        return xp.full(total, 1.0)
    rects = geo.shadow_rects(a.host, a.host["lights"]["key"], r)
    ray, occ = geo.rect_pairs(xp, rects, a.host["image"], r)
    o = geo.take(p, ray)
    lx, ly, lz = a.per_image(a.lights["key"], ray // r.n)
    t = geo.intersect(xp, a, occ, o, (lx - o[0], ly - o[1], lz - o[2]))
    blocked = xp.bincount(ray[xp.nonzero((t < 1.0) & (hit[ray] != occ))], total) > 0
    return xp.where(blocked, 0.0, 1.0)


def _contact(xp, look: Look, a: geo.SceneArrays, r: geo.Raster, p: tuple, hit):
    """Ambient occlusion of the ground around object bases: soft contact shadows."""
    if not a.n_objects or look.contact_shadow <= 0:
        return 1.0
    total = int(p[0].shape[0])
    reach = look.contact_reach  # in half-sizes from an object's centre
    ray, obj = geo.rect_pairs(xp, geo.contact_rects(a.host, r, reach), a.host["image"], r)
    cx, cy, cz = geo.take(a.center, obj)
    s = 1.0 / (a.scale[obj] * xp.where(a.cube[obj], 1.25, 1.0))
    dx, dy, h = (p[0][ray] - cx) * s, (p[1][ray] - cy) * s, cz * s
    # Occlusion of a sphere resting on the plane seen from a ground point (after Quilez),
    # less its value at the reach so that each ring fades to zero at its edge.
    q = h * h + dx * dx + dy * dy
    ao = h * (1.0 / (q * xp.sqrt(q)) - 1.0 / (h * h + reach * reach) ** 1.5)
    ao = xp.where(hit[ray] < 0, xp.clip(ao, 0.0, None), 0.0)
    dark = xp.cast(xp.bincount(ray, total, ao), "float32") * look.contact_shadow
    return 1.0 - xp.clip(dark, 0.0, 0.9)


def _reflections(xp, look: Look, a: geo.SceneArrays, p: tuple, n: tuple, d: tuple, img, own,
                 counts) -> tuple:
    """Linear RGB seen along mirror rays from points ``p`` of objects ``own``."""
    rd = shading.reflect(d, n)
    ro = tuple(pc + 1e-3 * nc for pc, nc in zip(p, n))
    m = int(p[0].shape[0])
    down = rd[2] < -1e-6
    t_ground = xp.where(down, -ro[2] / xp.clip(rd[2], None, -1e-6), _INF)
    tbuf = xp.full(m, _INF)
    hit = xp.full(m, -1, "int64")
    ray, obj = geo.same_image_pairs(xp, img, counts)
    o, dd = geo.take(ro, ray), geo.take(rd, ray)
    keep = xp.nonzero((obj != own[ray]) & geo.sphere_candidates(xp, a, obj, o, dd))
    ray, obj = ray[keep], obj[keep]
    t = geo.intersect(xp, a, obj, geo.take(o, keep), geo.take(dd, keep))
    xp.scatter_min(tbuf, ray, t)
    win = xp.nonzero((t == tbuf[ray]) & (t < _INF))
    hit[ray[win]] = obj[win]
    on_obj = (hit >= 0) & (tbuf < t_ground)
    t = xp.where(on_obj, tbuf, xp.where(down, t_ground, 0.0))
    q = tuple(oc + t * dc for oc, dc in zip(ro, rd))
    k = xp.clip(hit, 0, None)
    qn = tuple(xp.where(on_obj, c, g) for c, g in zip(geo.normals(xp, a, k, q), (0.0, 0.0, 1.0)))
    lamps = shading.lamp_vectors(xp, {nm: a.per_image(v, img) for nm, v in a.lights.items()}, q)
    e = shading.irradiance(xp, look, qn, lamps)
    sky = shading.environment(xp, look, rd)
    return tuple(xp.where(on_obj, al * e, xp.where(down, look.ground_albedo * e, sky))
                 for al in geo.take(a.albedo, k))


def _shade_objects(xp, look: Look, a: geo.SceneArrays, r: geo.Raster, dirs, p_obj, n_obj,
                   idx, k, visible) -> tuple:
    """Linear RGB of the samples ``idx`` that see objects ``k``."""
    img = idx // r.n
    lights = {nm: a.per_image(v, img) for nm, v in a.lights.items()}
    lamps = shading.lamp_vectors(xp, lights, p_obj)
    view = tuple(-dc[idx] for dc in dirs)
    metal = a.metal[k]
    reflected = [xp.full(int(idx.shape[0]), 0.0) for _ in range(3)]
    midx = xp.nonzero(metal)
    if int(midx.shape[0]):
        counts = np.bincount(a.host["image"], minlength=a.n_images)
        seen = _reflections(xp, look, a, geo.take(p_obj, midx), geo.take(n_obj, midx),
                            geo.take(view, midx), img[midx], k[midx], counts)
        for c in range(3):
            reflected[c][midx] = seen[c]
    return shading.surface_colour(xp, look, geo.take(a.albedo, k), metal, n_obj, view, lamps,
                                  visible[idx], reflected)


def _shade(xp, look: Look, a: geo.SceneArrays, r: geo.Raster, dirs: tuple, tbuf, hit) -> tuple:
    """Linear RGB of every sample, per channel."""
    total = int(dirs[0].shape[0])
    img = xp.arange(total) // r.n if a.n_images > 1 else None
    origin = a.per_image(a.cam_pos, img)
    down = dirs[2] < -1e-6
    t_ground = xp.where(down, -origin[2] / xp.clip(dirs[2], None, -1e-6), _INF)
    on_obj = hit >= 0
    t = xp.where(on_obj, tbuf, t_ground)
    finite = t < _INF
    t = xp.where(finite, t, 0.0)
    p = tuple(o + t * dc for o, dc in zip(origin, dirs))
    visible = _key_visibility(xp, a, r, p, hit)
    lights = {nm: a.per_image(v, img) for nm, v in a.lights.items()}
    ground = shading.ground_irradiance(xp, look, lights, p, visible) * look.ground_albedo
    ground = ground * _contact(xp, look, a, r, p, hit)
    ground = xp.where(finite, ground, shading.environment(xp, look, dirs))
    colour = (ground, ground + 0.0, ground + 0.0)
    idx = xp.nonzero(on_obj)
    if int(idx.shape[0]):
        k = hit[idx]
        p_obj = geo.take(p, idx)
        n_obj = geo.normals(xp, a, k, p_obj)
        rgb = _shade_objects(xp, look, a, r, dirs, p_obj, n_obj, idx, k, visible)
        for c in range(3):
            colour[c][idx] = rgb[c]
    return colour


def _render_arrays(xp, scenes, width, height, ss: int, look: Look):
    if ss not in (1, 2, 3, 4):
        raise UsageError(f"supersampling ss must be 1, 2, 3 or 4, not {ss!r}")
    cams = _cameras(scenes, width, height)
    a = geo.scene_arrays(xp, scenes, cams)
    native = geo.Raster.of(cams[0], 1)
    raster = geo.Raster.of(cams[0], ss)
    dirs, tbuf, hit = _primary(xp, a, raster)
    colour = _shade(xp, look, a, raster, dirs, tbuf, hit)
    b = a.n_images
    if ss > 1:
        colour = [xp.reshape(c, (b, native.height, ss, native.width, ss)).mean(4).mean(2)
                  for c in colour]
        _, _, hit = _primary(xp, a, native)  # the mask stays one sample per pixel
    table = xp.asarray(shading.SRGB_TABLE, "uint8")
    images = xp.stack([shading.to_srgb8(xp, c, table) for c in colour], -1)
    images = xp.reshape(images, (b, native.height, native.width, 3))
    mask, counts, boxes = _mask_stats(xp, a, native, hit)
    return images, mask, counts, boxes, a.host["image"]


def render_batch(scenes: list[dict], width: int | None = None, height: int | None = None, *,
                 ss: int = 1, backend: str = "torch", device=None,
                 look: Look = LOOK) -> list[RenderResult]:
    """Render many scenes at once (on a GPU when ``backend="torch"`` and CUDA is present)."""
    xp = namespace(backend, device)
    if not scenes:
        return []
    images, mask, counts, boxes, owner = _render_arrays(xp, scenes, width, height, ss, look)
    images = xp.to_numpy(images)
    out = []
    for b in range(len(scenes)):
        mine = owner == b
        out.append(RenderResult(images[b], mask[b], boxes[mine], counts[mine]))
    return out


def render(scene: dict, width: int | None = None, height: int | None = None, *, ss: int = 1,
           backend: str = "numpy", device=None, look: Look = LOOK) -> RenderResult:
    """Render one scene (size: the arguments, else the scene's camera, else CLEVR's 480x320)."""
    return render_batch([scene], width, height, ss=ss, backend=backend, device=device,
                        look=look)[0]


def render_mask(scene: dict, width: int, height: int):
    """Only the instance mask, visible pixel counts and boxes (for placement checks; fast)."""
    xp = namespace("numpy")
    cams = _cameras([scene], width, height)
    a = geo.scene_arrays(xp, [scene], cams)
    native = geo.Raster.of(cams[0], 1)
    _, _, hit = _primary(xp, a, native)
    mask, counts, boxes = _mask_stats(xp, a, native, hit)
    return mask[0], counts, boxes


def annotate_scene(scene: dict, result: RenderResult, width: int | None = None,
                   height: int | None = None) -> dict:
    """Write each object's ``bbox`` (from the render) and ``pixel_coords`` (for this size)."""
    height, width = result.mask.shape if width is None or height is None else (height, width)
    cam = Camera.from_dict(scene.get("camera"), width, height)
    for o, box in zip(scene["objects"], result.bboxes):
        o["pixel_coords"] = cam.pixel_coords(o["3d_coords"])
        o["bbox"] = [int(v) for v in box]
    return scene
