"""A CLEVR scene as the executors see it: attribute codes, relation bitmasks, validation.

A scene is CLEVR's JSON dict (``objects`` with ``color``/``size``/``material``/``shape``/
``3d_coords``, ``relationships``, ``directions``); :class:`Scene` keeps it and adds dense
tables, built once: attribute codes per object and, per relation and object, the bitmask of
related objects. When ``relationships`` is missing it is computed from ``3d_coords`` and
``directions`` with CLEVR's 0.2 margin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from clevrlang.language.errors import DataError, shown
from clevrlang.language.vocabulary import ATTRIBUTE_TYPES, ATTRIBUTES, ENUMS, RELATIONS

MAX_OBJECTS = 62  # object sets are int64 bitmasks
PAD = 16  # scenes are padded to this many objects in batched tables (CLEVR has <= 10)
ROW_BLOCK = len(RELATIONS) + 2 * len(ATTRIBUTES)  # one object's entries in Scene.lookup_row

# A filter combination gives each attribute a value or "any" (0): 3 * 9 * 3 * 4 of them.
_COMBO_DIMS = tuple(len(ENUMS[ATTRIBUTE_TYPES[a]]) + 1 for a in ATTRIBUTES)
N_COMBOS = int(np.prod(_COMBO_DIMS))


def combo_id(chain: dict[str, str]) -> int:
    """The index of a filter combination (attribute -> value; missing = any)."""
    idx = 0
    for attr, dim in zip(ATTRIBUTES, _COMBO_DIMS):
        v = chain.get(attr)
        idx = idx * dim + (0 if v is None else ENUMS[ATTRIBUTE_TYPES[attr]].index(v) + 1)
    return idx
RELATION_MARGIN = 0.2  # CLEVR's eps in compute_all_relationships
_SCENES_FILE = re.compile(r"^CLEVR_(\w+)_scenes\.json$")


def compute_relationships(objects: list[dict], directions: dict, eps: float = RELATION_MARGIN
                          ) -> dict[str, list[list[int]]]:
    """CLEVR's rule: j is <rel> of i when (x_j - x_i) . direction[rel] > eps."""
    coords = np.asarray([o["3d_coords"] for o in objects], dtype=np.float64).reshape(-1, 3)
    out = {}
    for rel in RELATIONS:
        d = np.asarray(directions[rel], dtype=np.float64)
        dots = (coords[None, :, :] - coords[:, None, :]) @ d  # [i, j] = (x_j - x_i) . d
        np.fill_diagonal(dots, -np.inf)
        out[rel] = [np.flatnonzero(row > eps).tolist() for row in dots]
    return out


def _vector(value) -> np.ndarray | None:
    """``value`` as a float64 3-vector if it is a list of 3 numbers, else None."""
    if not isinstance(value, list) or len(value) != 3 \
            or any(isinstance(x, (bool, str)) for x in value):
        return None
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # ragged lists, 10**400
        return None
    return v if v.shape == (3,) else None


@dataclass(eq=False)
class Scene:
    """One validated scene. ``raw`` is the JSON dict as read (never modified)."""

    raw: dict
    index: int = 0
    where: str | None = None
    codes: np.ndarray = field(init=False)  # (n, 4) int8 attribute codes, ATTRIBUTES order
    relate: np.ndarray = field(init=False)  # (4, n) int64 bitmasks, RELATIONS order

    def __post_init__(self):
        raw = self.raw
        if not isinstance(raw, dict):
            raise self._fail(f"expected an object, found {type(raw).__name__}")
        objects = raw.get("objects")
        if not isinstance(objects, list):
            raise self._fail("missing 'objects' list")
        if len(objects) > MAX_OBJECTS:
            raise self._fail(f"{len(objects)} objects; at most {MAX_OBJECTS} are supported")
        for key in ("image_filename", "split"):  # image paths are built from them
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise self._fail(f"'{key}' must be a string, found {shown(raw[key])}")
        codes = np.zeros((len(objects), len(ATTRIBUTES)), dtype=np.int8)
        for i, obj in enumerate(objects):
            if not isinstance(obj, dict):
                raise self._fail(f"object {i} is not an object")
            for a, attr in enumerate(ATTRIBUTES):
                values = ENUMS[ATTRIBUTE_TYPES[attr]]
                if attr not in obj:
                    raise self._fail(f"object {i} has no '{attr}'")
                if obj[attr] not in values:
                    raise self._fail(f"object {i} has {attr} {shown(obj[attr])}; "
                                     f"expected one of {', '.join(values)}")
                codes[i, a] = values.index(obj[attr])
        self.codes = codes
        self.relate = self._relation_masks(objects)

    def _fail(self, msg: str) -> DataError:
        return DataError(f"scene {self.index}: {msg}", where=self.where)

    def _relation_masks(self, objects) -> np.ndarray:
        rels = self.raw.get("relationships")
        if rels is None:
            directions = self.raw.get("directions")
            if not isinstance(directions, dict):
                raise self._fail("has neither 'relationships' nor 'directions' to compute them")
            for i, o in enumerate(objects):
                if _vector(o.get("3d_coords")) is None:
                    raise self._fail(f"object {i} has no '3d_coords' (3 numbers) to compute "
                                     "relationships")
            missing = [r for r in RELATIONS if _vector(directions.get(r)) is None]
            if missing:
                raise self._fail(f"'directions' lacks {', '.join(missing)} (3 numbers each)")
            rels = compute_relationships(objects, directions)
        masks = np.zeros((len(RELATIONS), len(objects)), dtype=np.int64)
        for r, rel in enumerate(RELATIONS):
            lists = rels.get(rel) if isinstance(rels, dict) else None
            if not isinstance(lists, list) or len(lists) != len(objects):
                raise self._fail(f"relationships['{rel}'] must list one entry per object")
            for i, related in enumerate(lists):
                if not isinstance(related, list) or not all(
                        type(j) is int for j in related):  # no bool, float or string
                    raise self._fail(f"relationships['{rel}'][{i}] must be object indices")
                if any(not 0 <= j < len(objects) for j in related):
                    raise self._fail(f"relationships['{rel}'][{i}] names a missing object")
                masks[r, i] = sum(1 << j for j in set(related))
        return masks

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def objects(self) -> list[dict]:
        return self.raw["objects"]

    @property
    def image_filename(self) -> str | None:
        return self.raw.get("image_filename")

    def image_path(self) -> Path | None:
        """Where CLEVR's layout keeps this scene's image: ``<root>/images/<split>/<image_filename>``
        for a scene read from ``<root>/scenes/CLEVR_<split>_scenes.json`` (it may not exist)."""
        if not self.where:
            return None
        where = Path(self.where).resolve()
        m = _SCENES_FILE.match(where.name)
        split = self.raw.get("split") or (m.group(1) if m else None)
        name = self.raw.get("image_filename")
        if not (name and split):
            return None
        return where.parent.parent / "images" / split / name

    def _repr_png_(self) -> bytes | None:  # Jupyter: its image with object ids and boxes
        from clevrlang.notebook.display import scene_png

        return scene_png(self)

    @cached_property
    def attr_masks(self) -> np.ndarray:
        """(4, 8) int64: for each attribute and value code, the bitmask of objects with it."""
        out = np.zeros((len(ATTRIBUTES), 8), dtype=np.int64)
        for i, row in enumerate(self.codes):
            for a, code in enumerate(row):
                out[a, code] |= 1 << i
        return out

    @cached_property
    def combo_masks(self) -> np.ndarray:
        """(N_COMBOS,) int64: the objects matching each filter combination."""
        out = np.zeros(N_COMBOS, dtype=np.int64)
        if self.n == 0:  # an empty scene: no object matches (reshape(-1, 0) is undefined)
            return out
        grids = [np.stack([np.zeros(self.n, dtype=np.int64), self.codes[:, a].astype(np.int64) + 1])
                 for a in range(len(ATTRIBUTES))]  # each (2, n): "any" or the object's value
        ids = np.zeros((1, self.n), dtype=np.int64)
        for grid, dim in zip(grids, _COMBO_DIMS):
            ids = (ids[:, None, :] * dim + grid[None, :, :]).reshape(-1, self.n)
        bits = np.broadcast_to(np.int64(1) << np.arange(self.n, dtype=np.int64), ids.shape)
        np.bitwise_or.at(out, ids.ravel(), bits.ravel())
        return out

    @cached_property
    def lookup_row(self) -> np.ndarray:
        """The scene as one int64 row of lookup tables, for the batched symbolic executor:
        :attr:`combo_masks`, then one block of ``ROW_BLOCK`` per object (at least ``PAD``
        of them): its relation masks (``RELATIONS`` order), the masks of the other objects
        sharing each attribute, and its attribute codes (both ``ATTRIBUTES`` order)."""
        n = self.n
        codes = self.codes.astype(np.intp)
        blocks = np.zeros((max(PAD, n), ROW_BLOCK), dtype=np.int64)
        blocks[:n, :len(RELATIONS)] = self.relate.T
        others = ~(np.int64(1) << np.arange(n, dtype=np.int64))[:, None]
        same = self.attr_masks[np.arange(len(ATTRIBUTES)), codes] & others
        blocks[:n, len(RELATIONS):len(RELATIONS) + len(ATTRIBUTES)] = same
        blocks[:n, len(RELATIONS) + len(ATTRIBUTES):] = codes
        return np.concatenate([self.combo_masks, blocks.ravel()])

    def describe(self, i: int) -> str:
        """``#2 large red metal cube``."""
        o = self.objects[i]
        return f"#{i} " + " ".join(str(o[a]) for a in ATTRIBUTES)

    def to_networkx(self):
        """Objects as nodes (with attributes), relations as labelled edges i -> j."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for i, o in enumerate(self.objects):
            g.add_node(i, **{a: o[a] for a in ATTRIBUTES})
        for r, rel in enumerate(RELATIONS):
            for i in range(self.n):
                mask = int(self.relate[r, i])
                for j in range(self.n):
                    if mask >> j & 1:
                        g.add_edge(i, j, relation=rel)
        return g
