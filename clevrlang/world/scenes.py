"""Random CLEVR scenes, placed by CLEVR's published rules, in CLEVR's scene JSON format.

A scene has 3-10 objects (shape, colour, size, material drawn uniformly, or from a CoGenT
condition's shape/colour combinations), each at a random spot in ``[-3, 3]^2`` with a random
rotation, at least ``min_dist`` between bounding circles and at least ``margin`` apart along
the left/right and front/behind directions; an object that cannot be placed in
``max_retries`` tries, or any object with fewer than the minimum visible pixels, starts the
whole placement over (as CLEVR does). The camera and lamps are jittered per image.

Each image draws from its own generator seeded by ``(seed, index)``, so any shard of a data
set, or a resumed run, makes exactly the scenes of one uninterrupted run.

Differences from CLEVR's Blender script, all deliberate: distances use each object's
bounding circle (CLEVR used the cube's shrunken radius for earlier cubes, letting corners
touch); ``directions`` come from the jittered camera (CLEVR read the camera matrix before
its jitter took effect, so its directions never change); ``rotation`` is in degrees and is
rendered as degrees (CLEVR passed the same number to Blender as radians).

>>> s = make_scene(seed=7, index=3, split="val", width=320, height=240)
>>> s["image_filename"], 3 <= len(s["objects"]) <= 10
('CLEVR_val_000003.png', True)
>>> sorted(s["relationships"])
['behind', 'front', 'left', 'right']
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from clevrlang.language.errors import DataError, UsageError
from clevrlang.language.vocabulary import COLORS, MATERIALS, SHAPES, SIZE_RADIUS, SIZES
from clevrlang.world.camera import BASE_CAMERA_LOCATION, BASE_LIGHTS, Camera
from clevrlang.world.geometry import half_size

#: CLEVR's image size, at which its visible-pixel minimum is stated.
CLEVR_WIDTH, CLEVR_HEIGHT = 480, 320
#: The four relations CLEVR records, in the order its scene files list them.
RELATION_DIRECTIONS = ("behind", "front", "left", "right")


@dataclass(frozen=True)
class Rules:
    """CLEVR's placement settings (its ``render_images.py`` defaults)."""

    min_objects: int = 3
    max_objects: int = 10
    min_dist: float = 0.25  # between bounding circles (object surfaces)
    margin: float = 0.4  # along each cardinal direction
    min_pixels: int = 200  # at 480x320, scaled by pixel area
    centre_in_box: bool = True  # ours: pixel_coords must fall inside the visible box
    max_retries: int = 50  # tries per object before starting over
    camera_jitter: float = 0.5
    light_jitter: float = 1.0
    relation_eps: float = 0.2
    max_restarts: int = 2000  # we give up (DataError) where CLEVR would loop forever


RULES = Rules()


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of image ``index`` in a data set made with ``seed``."""
    if int(seed) < 0 or int(index) < 0:
        raise UsageError(f"seed and image index must be >= 0, got seed={seed}, index={index}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def min_visible_pixels(width: int, height: int, at_clevr_size: int = 200) -> int:
    """CLEVR's visible-pixel minimum scaled from 480x320 to ``width x height``."""
    return max(1, math.ceil(at_clevr_size * width * height / (CLEVR_WIDTH * CLEVR_HEIGHT)))


@cache
def cogent_combos(condition: str) -> dict[str, tuple[str, ...]]:
    """The shape -> allowed colours table of CLEVR-CoGenT condition ``"A"`` or ``"B"``."""
    if condition not in ("A", "B"):
        raise UsageError(f"CoGenT condition must be 'A' or 'B', not {condition!r}")
    name = f"CoGenT_{condition}.json"
    path = resources.files("clevrlang").joinpath("data/clevr", name)
    try:
        table = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{name}: cannot read the CoGenT table: {e}") from None
    bad = sorted(set(table) - set(SHAPES)) + [c for cs in table.values() for c in cs
                                              if c not in COLORS]
    if bad:
        raise DataError(f"{name}: unknown shapes or colours {bad}")
    return {shape: tuple(colors) for shape, colors in table.items()}


def image_filename(split: str, index: int) -> str:
    """CLEVR's image file name, e.g. ``CLEVR_train_000042.png``."""
    return f"CLEVR_{split}_{index:06d}.png"


def compute_relationships(objects: list[dict], directions: dict,
                          eps: float = 0.2) -> dict[str, list[list[int]]]:
    """CLEVR's relationships: ``out[rel][i]`` lists the j with ``(c_j - c_i) . dir_rel > eps``."""
    coords = np.array([o["3d_coords"] for o in objects], float).reshape(-1, 3)
    diff = coords[None, :, :] - coords[:, None, :]  # diff[i, j] = c_j - c_i
    out = {}
    for name in RELATION_DIRECTIONS:
        related = diff @ np.asarray(directions[name], float) > eps
        np.fill_diagonal(related, False)
        out[name] = [np.flatnonzero(row).tolist() for row in related]
    return out


def _fits(x: float, y: float, r: float, placed: list, directions: dict, rules: Rules) -> bool:
    for xx, yy, rr in placed:
        dx, dy = x - xx, y - yy
        if math.hypot(dx, dy) - r - rr < rules.min_dist:
            return False
        for name in RELATION_DIRECTIONS:
            d = directions[name]
            if 0 < dx * d[0] + dy * d[1] < rules.margin:
                return False
    return True


def _pick(rng: np.random.Generator, values):
    return values[int(rng.integers(len(values)))]


def _place_objects(rng, n: int, directions: dict, rules: Rules, combos) -> list[dict] | None:
    """One attempt at CLEVR's placement of ``n`` objects (None: an object did not fit)."""
    placed, objects = [], []
    for _ in range(n):
        size = _pick(rng, SIZES)
        r = SIZE_RADIUS[size]  # bounding-circle radius, whatever the shape
        for _try in range(rules.max_retries):
            x, y = (float(v) for v in rng.uniform(-3.0, 3.0, 2))
            if _fits(x, y, r, placed, directions, rules):
                break
        else:
            return None
        if combos is None:
            shape, color = _pick(rng, SHAPES), _pick(rng, COLORS)
        else:
            shape = _pick(rng, tuple(combos))
            color = _pick(rng, combos[shape])
        rotation = 360.0 * float(rng.random())
        material = _pick(rng, MATERIALS)
        placed.append((x, y, r))
        objects.append({
            "shape": shape, "size": size, "material": material,
            "3d_coords": [x, y, half_size(shape, size)], "rotation": rotation,
            "pixel_coords": None, "color": color,
        })
    return objects


def _visible(scene: dict, width: int, height: int, minimum: int, rules: Rules) -> bool:
    """CLEVR's visibility rule on the instance mask (and, optionally, centres inside boxes)."""
    from clevrlang.world.render import render_mask  # the renderer needs geometry only

    _, counts, boxes = render_mask(scene, width, height)
    if not (counts >= minimum).all():
        return False
    if rules.centre_in_box:
        centres = np.array([o["pixel_coords"][:2] for o in scene["objects"]])
        inside = (boxes[:, :2] <= centres) & (centres <= boxes[:, 2:])
        return bool(inside.all())
    return True


def _jitter(rng, base, amount: float) -> list[float]:
    return [float(c) for c in np.asarray(base, float) + rng.uniform(-amount, amount, 3)]


def make_scene(seed: int | np.random.Generator, index: int = 0, split: str = "train",
               width: int = 320, height: int = 240, cogent: str | None = None,
               rules: Rules = RULES) -> dict:
    """A random scene in CLEVR's JSON format, with ``camera`` and ``lights`` added.

    ``seed`` is a data set's seed (the image's generator is derived from seed and index) or
    a ready generator. Visibility is checked on the instance mask at ``width x height``;
    beyond CLEVR, each object's projected centre must also fall inside its visible box
    (``Rules.centre_in_box``), so detectors and ``pixel_coords`` always agree.
    """
    rng = seed if isinstance(seed, np.random.Generator) else scene_rng(seed, index)
    combos = cogent_combos(cogent) if cogent is not None else None
    n = int(rng.integers(rules.min_objects, rules.max_objects + 1))
    camera = Camera(tuple(_jitter(rng, BASE_CAMERA_LOCATION, rules.camera_jitter)),
                    width=width, height=height)
    lights = {name: _jitter(rng, pos, rules.light_jitter) for name, pos in BASE_LIGHTS.items()}
    directions = camera.directions()
    scene = {"image_index": int(index), "image_filename": image_filename(split, index),
             "split": split, "objects": [], "directions": directions, "relationships": {},
             "camera": camera.to_dict(), "lights": lights}
    minimum = min_visible_pixels(width, height, rules.min_pixels)
    for _ in range(rules.max_restarts):
        objects = _place_objects(rng, n, directions, rules, combos)
        if objects is None:
            continue
        for o in objects:
            o["pixel_coords"] = camera.pixel_coords(o["3d_coords"])
        scene["objects"] = objects
        if _visible(scene, width, height, minimum, rules):
            break
    else:
        raise DataError(f"scene {index}: could not place {n} objects in "
                        f"{rules.max_restarts} attempts at {width}x{height}")
    scene["relationships"] = compute_relationships(scene["objects"], directions,
                                                   rules.relation_eps)
    return scene


def placement_violations(scene: dict, rules: Rules = RULES) -> list[str]:
    """Every broken placement rule of a scene, in words (empty when the scene is valid)."""
    out = []
    objs = scene["objects"]
    if not rules.min_objects <= len(objs) <= rules.max_objects:
        out.append(f"{len(objs)} objects, outside {rules.min_objects}..{rules.max_objects}")
    for i, o in enumerate(objs):
        x, y, z = o["3d_coords"]
        if not (-3 <= x <= 3 and -3 <= y <= 3):
            out.append(f"object {i} at ({x:.2f}, {y:.2f}) is outside [-3, 3]^2")
        if abs(z - half_size(o["shape"], o["size"])) > 1e-6:
            out.append(f"object {i} does not rest on the ground (z={z:.3f})")
        for j in range(i):
            xx, yy, _ = objs[j]["3d_coords"]
            gap = math.hypot(x - xx, y - yy) - SIZE_RADIUS[o["size"]] - SIZE_RADIUS[objs[j]["size"]]
            if gap < rules.min_dist - 1e-9:
                out.append(f"objects {j} and {i} are {gap:.3f} apart (< {rules.min_dist})")
            for name in RELATION_DIRECTIONS:
                d = scene["directions"][name]
                m = (x - xx) * d[0] + (y - yy) * d[1]
                if 0 < m < rules.margin:
                    out.append(f"objects {j} and {i} are {m:.3f} apart {name} (< {rules.margin})")
    return out
