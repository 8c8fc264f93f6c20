"""The training stages after the detector: features, attribute models, held-out evaluation.

The SVMs learn from two kinds of boxes per training object: the true whole-object box, and
the detector's box when one matches it (IoU >= 0.5), so they see the box noise they will
meet at test time. Labels are the matched object's attributes; position targets are its
ground-frame coordinates through the image's own camera, while the features are read
through CLEVR's base camera, as at test time (the regression absorbs the camera jitter).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from clevrlang.language.vocabulary import ATTRIBUTES
from clevrlang.modules.engineered import geometry as geo
from clevrlang.modules.engineered.attributes import fit_position, fit_svm, position_features
from clevrlang.modules.engineered.features import (
    appearance_features, shape_features, size_features,
)
from clevrlang.world.camera import Camera

log = logging.getLogger(__name__)
IOU_GRID = (0.5, 0.6, 0.7, 0.8)


def _rows(image, boxes, objects, frame, keep, cam) -> dict:
    """Feature rows for ``boxes`` (all of one image's), kept at ``keep`` = (box, object)."""
    if not keep:
        return {}
    b_idx = [b for b, _ in keep]
    o_idx = [o for _, o in keep]
    objs = [objects[o] for o in o_idx]
    geom = geo.box_geometry(cam, boxes)[b_idx]
    heights = np.array([geo.centre_height(o["shape"], o["size"]) for o in objs])
    centres = np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2][b_idx]
    base = np.nan_to_num(geo.to_frame(cam, geo.backproject(cam, centres, heights)[:, :2]))
    out = {"appearance": appearance_features(image, boxes)[b_idx],
           "hog": shape_features(image, boxes[b_idx]), "geometry": geom,
           "height": heights, "base": base, "frame": frame[o_idx]}
    for k in ATTRIBUTES:
        out[k] = np.array([o[k] for o in objs])
    return out


def frame_targets(sample) -> np.ndarray:
    """True ground-frame positions of a sample's objects (through its own camera)."""
    w, h = sample.size()
    cam = geo.camera_of(sample.scene, w, h)
    return geo.to_frame(cam, [o["3d_coords"][:2] for o in sample.scene["objects"]])


def collect_features(detector, samples, progress: bool = True, batch: int = 32) -> dict:
    """Feature and label arrays over all training samples (see module doc)."""
    from tqdm.auto import tqdm

    parts: list[dict] = []
    bar = tqdm(total=len(samples), desc="box features", unit="img", disable=not progress)
    for lo in range(0, len(samples), batch):
        chunk = samples[lo:lo + batch]
        images = [s.image() for s in chunk]
        dets = detector.predict(images, conf=0.25)
        for s, im, d in zip(chunk, images, dets):
            cam = Camera(width=im.shape[1], height=im.shape[0])
            true = s.boxes()
            objs, frame = s.scene["objects"], frame_targets(s)
            parts.append(_rows(im, true, objs, frame, [(i, i) for i in range(len(true))], cam))
            parts.append(_rows(im, d.boxes, objs, frame, geo.match(d.boxes, true), cam))
            bar.update(1)
    bar.close()
    parts = [p for p in parts if p]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def fit_models(arrays: dict, out: Path, seed: int = 0) -> dict:
    """Fit and save (``out/<name>.skops``) every attribute model; their CV accuracies."""
    from clevrlang.modules.engineered.artefacts import save_model

    x_size = size_features(arrays["geometry"], arrays["shape"])
    inputs = {"color": arrays["appearance"], "material": arrays["appearance"],
              "size": x_size, "shape": arrays["hog"]}
    scores = {}
    for name, x in inputs.items():
        model, scores[name] = fit_svm(x, arrays[name], seed=seed, name=name)
        save_model(Path(out) / f"{name}.skops", model)
    x_pos = position_features(arrays["geometry"], arrays["height"], arrays["base"])
    position = fit_position(x_pos, arrays["frame"], arrays["base"])
    save_model(Path(out) / "position.skops", position)
    err = np.linalg.norm(arrays["frame"] - arrays["base"] - position.predict(x_pos), axis=1)
    scores["position_train_error"] = round(float(err.mean()), 5)
    return {k: round(v, 5) for k, v in scores.items()}


def load_parts(out: Path, config: dict, device: str = "auto"):
    """A :class:`Perception` from a folder whose manifest is not written yet (training)."""
    from clevrlang.modules.engineered.artefacts import DETECTOR, load_model
    from clevrlang.modules.engineered.detector import Detector
    from clevrlang.modules.engineered.perception import Perception

    out = Path(out)
    models = {p.stem: load_model(p, "position" if p.stem == "position" else "classifier")
              for p in sorted(out.glob("*.skops"))}
    return Perception(Detector.load(out / DETECTOR, device), models, dict(config), source=out)


def _f1(dets, true, conf: float) -> float:
    tp = n_pred = n_true = 0
    for d, t in zip(dets, true):
        boxes = d.boxes[d.scores >= conf]
        tp += len(geo.match(boxes, t))
        n_pred, n_true = n_pred + len(boxes), n_true + len(t)
    return 2 * tp / max(n_pred + n_true, 1)


def best_thresholds(detector, held, grid, ious=IOU_GRID, images=None) -> dict:
    """Input size, score and NMS thresholds with the best detection F1 (IoU 0.5) held out.

    Whole-object boxes of an object and of one half hiding it overlap more than visible
    boxes do, so the NMS threshold is chosen too; and a detector trained at one size often
    finds small objects better slightly larger, so the input size is chosen as well.
    ``images``: the held-out samples' images, when already read.
    """
    images = images if images is not None else [s.image() for s in held]
    true = [s.boxes() for s in held]
    trained = detector.imgsz
    best, best_f1 = {"conf": 0.25, "iou": 0.7, "infer_imgsz": trained}, -1.0
    for size in (trained, trained + 32, trained + 64):
        for iou in ious:
            dets = detector.predict(images, conf=min(grid), iou=iou, imgsz=size)
            for c in grid:
                f1 = _f1(dets, true, c)
                if f1 > best_f1 + 1e-9:
                    best, best_f1 = {"conf": float(c), "iou": float(iou), "infer_imgsz": size}, f1
    log.info("detector: %s (held-out F1 %.4f)", best, best_f1)
    return best


def shape_source(perception, held, images=None) -> str:
    """``detector`` (its class) or ``svm`` (HOG SVM on its boxes): whichever names more
    matched held-out objects right."""
    from clevrlang.language.vocabulary import SHAPES
    from clevrlang.modules.engineered.features import shape_features

    if tuple(perception.detector.names) != SHAPES:
        return "svm"
    images = images if images is not None else [s.image() for s in held]
    hits = {"detector": 0, "svm": 0}
    for s, im, found in zip(held, images, perception.detect(images)):
        pairs = geo.match(found.boxes, s.boxes())
        if not pairs:
            continue
        svm = perception.models["shape"].predict(shape_features(im, found.boxes))
        for p, t in pairs:
            truth = s.scene["objects"][t]["shape"]
            hits["detector"] += found.shapes[p] == truth
            hits["svm"] += svm[p] == truth
    log.info("shape from the detector's class or the SVM (held-out hits): %s", hits)
    return "svm" if hits["svm"] > hits["detector"] else "detector"


def evaluate_holdout(out: Path, config: dict, held, device: str, grid, degraded=()
                     ) -> tuple[dict, dict]:
    """Choose the detection settings and the shape source on held-out images (and their
    ``degraded`` copies: one setting must serve both), then measure every component there;
    returns the updated config and the metrics (``holdout``, ``holdout_degraded``)."""
    from clevrlang.modules.engineered.training.evaluate import component_metrics

    perception = load_parts(out, config, device)
    both = list(held) + list(degraded)
    images = [s.image() for s in both]
    perception.config.update(best_thresholds(perception.detector, both, grid, images=images))
    perception.config["shape_from"] = shape_source(perception, both, images)
    predicted = perception.perceive(images)
    metrics = {}
    for name, part in (("holdout", slice(0, len(held))), ("holdout_degraded",
                                                          slice(len(held), len(both)))):
        if both[part]:
            metrics[name] = component_metrics(predicted[part], [s.scene for s in both[part]],
                                              [s.size() for s in both[part]])
            log.info("%s components: %s", name, metrics[name])
    return perception.config, metrics
