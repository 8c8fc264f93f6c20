"""Perception: images -> predicted CLEVR scene dicts (detector, SVMs, geometry).

For a batch of images: the detector finds whole-object boxes; the SVMs read colour and
material from each box's pixels, shape from the detector's class (or from a HOG SVM for a
one-class detector), size from the box's world-unit extent at its back-projected depth; the
box is back-projected to the height of the object's centre and corrected by the position
regression, giving ground-frame coordinates; CLEVR's relations follow from those with its
0.2 margin. Images are read through CLEVR's base camera unless a camera is given.

For ablations, ``truth`` (ground-truth scenes) and ``replace`` (component names from
:data:`COMPONENTS`) swap any component's output for the truth: ``detection`` uses the true
whole-object boxes; the others overwrite the attribute (or position) of each detected box
that matches a true object at IoU >= 0.5.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import ATTRIBUTES, SHAPES
from clevrlang.modules.engineered import geometry as geo
from clevrlang.modules.engineered.features import (
    appearance_features, shape_features, size_features,
)
from clevrlang.scene import compute_relationships

log = logging.getLogger(__name__)

COMPONENTS = ("detection", "shape", "color", "material", "size", "depth")


@dataclass
class Boxes:
    """One image's boxes and what is known about them while perceiving."""

    boxes: np.ndarray
    scores: np.ndarray
    shapes: list | None = None  # from the detector's classes, when it has shape classes
    attrs: dict = field(default_factory=dict)


@dataclass
class Perception:
    """Everything one artefact folder holds, loaded."""

    detector: object  # clevrlang.modules.engineered.detector.Detector
    models: dict  # color, material, size, shape (optional), position
    config: dict
    metrics: dict = field(default_factory=dict)
    source: Path | None = None

    @classmethod
    def load(cls, folder: Path, device: str = "auto") -> Perception:
        from clevrlang.modules.engineered.artefacts import (
            DETECTOR, MODELS, load_model, read_manifest,
        )
        from clevrlang.modules.engineered.detector import Detector

        folder = Path(folder)
        manifest = read_manifest(folder)
        models = {}
        for name in MODELS:
            f = folder / f"{name}.skops"
            if f"{name}.skops" in manifest["files"]:
                models[name] = load_model(f, "position" if name == "position" else "classifier")
        detector = Detector.load(folder / DETECTOR, device)
        return cls(detector, models, manifest["config"], manifest.get("metrics", {}), folder)

    # -- steps -----------------------------------------------------------------------------
    def detect(self, images) -> list[Boxes]:
        cfg = self.config
        dets = self.detector.predict(images, conf=cfg.get("conf", 0.25), iou=cfg.get("iou", 0.7),
                                     imgsz=cfg.get("infer_imgsz"))
        shaped = (tuple(self.detector.names) == SHAPES
                  and cfg.get("shape_from", "detector") == "detector")
        return [Boxes(d.boxes, d.scores, [SHAPES[c] for c in d.classes] if shaped else None)
                for d in dets]

    def classify(self, images, found: list[Boxes], cameras, oracle=None) -> None:
        """Fill ``attrs`` (shape, color, material, size, frame) of every image's boxes.

        ``oracle`` (per image: a :class:`_Oracle` or None) overwrites replaced components as
        soon as they are predicted, so later steps (size needs the shape, position the size)
        build on the replaced values.
        """
        oracle = oracle or [None] * len(found)
        counts = [len(f.boxes) for f in found]
        cuts = np.cumsum(counts)[:-1]

        def fill(name, per_image):
            for f, values, o in zip(found, per_image, oracle):
                f.attrs[name] = list(values)
                if o is not None:
                    o.apply(name, f.attrs[name])

        if not sum(counts):
            for f in found:
                f.attrs = {k: [] for k in ATTRIBUTES}
                f.attrs["frame"] = np.zeros((0, 2))
            return
        fill("shape", self._shapes(images, found, cuts))
        app = np.concatenate([appearance_features(im, f.boxes) for im, f in zip(images, found)])
        fill("color", np.split(self.models["color"].predict(app), cuts))
        fill("material", np.split(self.models["material"].predict(app), cuts))
        geom = [geo.box_geometry(cam, f.boxes) for cam, f in zip(cameras, found)]
        shapes = np.concatenate([f.attrs["shape"] for f in found])
        fill("size", np.split(self.models["size"].predict(
            size_features(np.concatenate(geom), shapes)), cuts))
        for f, g, cam, o in zip(found, geom, cameras, oracle):
            f.attrs["frame"] = self.position(cam, f.boxes, g, f.attrs["shape"], f.attrs["size"])
            if o is not None:
                o.apply("frame", f.attrs["frame"])

    def _shapes(self, images, found, cuts) -> list:
        if all(f.shapes is not None for f in found):
            return [np.asarray(f.shapes, dtype=object) for f in found]
        if "shape" not in self.models:
            raise UsageError("this model has no shape classifier for boxes it did not detect")
        x = np.concatenate([shape_features(im, f.boxes) for im, f in zip(images, found)])
        return np.split(self.models["shape"].predict(x), cuts)

    def position(self, cam, boxes, geometry, shapes, sizes) -> np.ndarray:
        """Ground-frame ``(right, behind)`` of each box's object (see :mod:`.geometry`)."""
        if not len(boxes):
            return np.zeros((0, 2))
        heights = np.array([geo.centre_height(s, z) for s, z in zip(shapes, sizes)])
        centres = np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
        base = geo.to_frame(cam, geo.backproject(cam, centres, heights)[:, :2])
        base = np.nan_to_num(base)
        model = self.models.get("position")
        if model is None:
            return base
        from clevrlang.modules.engineered.attributes import position_features

        return base + model.predict(position_features(geometry, heights, base))

    # -- the whole pipeline ------------------------------------------------------------------
    def perceive(self, images, cameras=None, truth=None, replace=()) -> list[dict]:
        """Predicted scene dicts (CLEVR's format, plus ``bbox`` and ``score`` per object)."""
        images = [np.asarray(im)[..., :3] for im in images]
        bad = set(replace) - set(COMPONENTS)
        if bad:
            raise UsageError(f"unknown components {sorted(bad)}; known: {', '.join(COMPONENTS)}")
        if replace and truth is None:
            raise UsageError("replacing components by the truth needs the true scenes")
        cams = self.cameras(images, cameras)
        if "detection" in replace:
            found = self.true_boxes(images, truth)
        else:
            found = self.detect(images)
        return self.describe(images, found, cams, truth, replace)

    def cameras(self, images, cameras=None) -> list:
        """The camera of each image: the given one (a scene or camera dict) or CLEVR's base."""
        return [geo.camera_of(c if isinstance(c, dict) and "camera" in c else
                              {"camera": c} if c else None, im.shape[1], im.shape[0])
                for im, c in zip(images, cameras or [None] * len(images))]

    def true_boxes(self, images, truth) -> list[Boxes]:
        """The true whole-object boxes as if detected (shapes named only if no shape SVM)."""
        found = [Boxes(geo.amodal_boxes(t, im.shape[1], im.shape[0]),
                       np.ones(len(t["objects"])), None) for im, t in zip(images, truth)]
        if self.models.get("shape") is None:  # a shape detector names only its own boxes
            for f, t in zip(found, truth):
                f.shapes = [o["shape"] for o in t["objects"]]
        return found

    def describe(self, images, found: list[Boxes], cams, truth=None, replace=()) -> list[dict]:
        """Scene dicts for detected boxes (``found`` is not changed)."""
        found = [Boxes(f.boxes, f.scores, f.shapes) for f in found]
        oracle = None
        if truth is not None and set(replace) - {"detection"}:
            oracle = [_Oracle(f.boxes, t, im.shape, set(replace)) for f, t, im in
                      zip(found, truth, images)]
        self.classify(images, found, cams, oracle)
        return [self._scene(f, cam, i) for i, (f, cam) in enumerate(zip(found, cams))]

    @staticmethod
    def _scene(found: Boxes, cam, index: int) -> dict:
        a = found.attrs
        coords = geo.world_coords(cam, a["frame"], a["shape"], a["size"])
        objects = []
        for k, box in enumerate(found.boxes):
            objects.append({
                "shape": str(a["shape"][k]), "color": str(a["color"][k]),
                "material": str(a["material"][k]), "size": str(a["size"][k]),
                "3d_coords": coords[k], "rotation": 0.0,
                "pixel_coords": cam.pixel_coords(coords[k]),
                "bbox": [round(float(v), 1) for v in box],
                "score": round(float(found.scores[k]), 4),
            })
        directions = cam.directions()
        return {"image_index": index, "objects": objects, "directions": directions,
                "relationships": compute_relationships(objects, directions)}


class _Oracle:
    """The true values of the objects matched to one image's boxes, for ablations."""

    def __init__(self, boxes, truth: dict, shape, replace: set):
        h, w = shape[:2]
        true_boxes = geo.amodal_boxes(truth, w, h)
        self.pairs = (list(zip(range(len(true_boxes)), range(len(true_boxes))))
                      if "detection" in replace else geo.match(boxes, true_boxes))
        self.objects = truth["objects"]
        self.replace = replace
        self.frame = None
        if "depth" in replace:
            cam = geo.camera_of(truth, w, h)
            self.frame = geo.to_frame(cam, [o["3d_coords"][:2] for o in self.objects])

    def apply(self, name: str, values) -> None:
        key = "depth" if name == "frame" else name
        if key not in self.replace:
            return
        for p, t in self.pairs:
            values[p] = self.frame[t] if name == "frame" else self.objects[t][name]
