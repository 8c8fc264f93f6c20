"""``train_engineered``: the engineered back end's whole training, in resumable stages.

Stages, each recorded in ``OUT/work/stages.json`` when done, so a re-run after a kill
continues at the first unfinished one (and the detector at its last finished epoch):

1. ``data``      -- whole-object box labels in ultralytics' layout (``OUT/work/yolo``); with
   ``degrade``, beside each image a copy that went through a random codec and byte budget
   (``OUT/work/degraded``, see :mod:`.degrade`), which every later stage trains on too;
2. ``detector``  -- YOLO from its yaml, from scratch or from ``init_detector`` (with 0
   epochs, that detector as it is: only the attribute models are trained again);
3. ``features``  -- the detector runs over the training images; features of its boxes that
   match a true object, and of the true boxes, with their labels (``OUT/work/features.npz``);
4. ``models``    -- the colour, material, size and shape SVMs and the position regression
   (``OUT/*.skops``);
5. ``evaluate``  -- the detector's input size, score and NMS thresholds with the best F1 on
   held-out images (and their degraded copies, with ``degrade``), whether the detector's class or the HOG SVM names shapes better, and
   the component metrics there; then ``manifest.json`` makes the folder loadable.

>>> train_engineered("world", "model", epochs=30, imgsz=192)  # an hour on a CPU  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import SHAPES
from clevrlang.modules.engineered.artefacts import (
    DETECTOR, MANIFEST, read_manifest, save_model, write_json_atomic, write_manifest,
)
from clevrlang.modules.engineered.offline import resolve_device
from clevrlang.compress.degrade import Degradation
from clevrlang.modules.engineered.training.samples import (
    as_samples, split_holdout, world_samples, write_yolo_dataset,
)
from clevrlang.resume import say_finished

log = logging.getLogger(__name__)
STAGES = ("data", "detector", "features", "models", "evaluate")
CONF_GRID = tuple(np.round(np.arange(0.1, 0.75, 0.05), 2))


def state_file(out_dir) -> Path:
    """Where a run in ``out_dir`` records its finished stages (what --resume continues)."""
    return Path(out_dir) / "work" / "stages.json"


class _Stages:
    """``OUT/work/stages.json``: finished stages, and the settings they were made with."""

    def __init__(self, work: Path, settings: dict, resume: bool):
        self.path = state_file(work.parent)
        state = json.loads(self.path.read_text()) if resume and self.path.is_file() else {}
        if state and state.get("settings") != settings:
            changed = sorted(k for k in settings if state["settings"].get(k) != settings[k])
            raise UsageError(f"{work} holds a run with other settings ({', '.join(changed)})",
                             hint="train into a new --out folder, or pass --force to start "
                                  "over")
        self.state = {"settings": settings, "done": state.get("done", {})}

    def done(self, stage: str) -> bool:
        return stage in self.state["done"]

    def start(self) -> None:
        self.t0 = time.time()

    def finish(self, stage: str, **info) -> None:
        info.setdefault("seconds", round(time.time() - self.t0, 1))
        self.state["done"][stage] = {"at": time.strftime("%Y-%m-%d %H:%M:%S"), **info}
        write_json_atomic(self.path, self.state)
        log.info("stage %s done %s", stage, info or "")


def _sources(world, limit, holdout):
    if isinstance(world, (str, Path)):
        from clevrlang.world.layout import open_world

        w = open_world(world)
        train = world_samples(world, "train" if "train" in w.splits() else w.splits()[0], limit)
        held = [s for s in w.splits() if s.startswith("val") and w.has_scenes(s)]
        if held:
            return train, world_samples(world, held[0], holdout)
        return split_holdout(train, 0.1)
    train = as_samples(world, limit=limit)
    return split_holdout(train, 0.1)


def train_engineered(world, out_dir, *, device: str = "auto", epochs: int = 30,
                     imgsz: int = 192, resume: bool = True, progress: bool = True,
                     threads: int | None = None, classes: str = "shapes",
                     limit: int | None = None, holdout: int = 100, batch: int = 16,
                     cfg: str = "yolo11n.yaml", seed: int = 0, half: bool = True,
                     init_detector: str | Path | None = None,
                     degrade: Degradation | None = None) -> dict:
    """Train everything into ``out_dir``; returns the manifest (config and metrics).

    ``world`` is a world folder (its ``train`` split; held-out images from its first ``val*``
    split, else the last tenth), ``(images, scenes)``, or a list of samples. ``classes`` is
    ``"shapes"`` (the detector names the shape) or ``"object"`` (one class; a HOG SVM names
    the shape). ``threads``: torch CPU threads (default: the cores idle now).
    ``init_detector``: a trained ``detector.safetensors`` to start the detector from
    (``epochs=0``: keep it unchanged). ``degrade``: also train on a codec-degraded copy of
    every training image (:mod:`.degrade`); the metrics then include ``holdout_degraded``.
    """
    if classes not in ("shapes", "object"):
        raise UsageError(f"classes must be 'shapes' or 'object', not {classes!r}")
    if epochs == 0 and init_detector is None:
        raise UsageError("0 detector epochs keeps the --init-detector, and none was given")
    out = Path(out_dir).resolve()
    work = out / "work"
    if not resume:  # starting over: nothing of an earlier run's data or detector is reused
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    settings = {"world": str(Path(world).resolve()) if isinstance(world, (str, Path))
                else "<memory>",
                "epochs": epochs, "imgsz": imgsz, "classes": classes, "limit": limit,
                "holdout": holdout, "batch": batch, "cfg": cfg, "seed": seed,
                "init_detector": str(Path(init_detector).resolve()) if init_detector else None,
                "degrade": degrade.settings() if degrade else None}
    stages = _Stages(work, settings, resume)
    if all(stages.done(s) for s in STAGES):
        say_finished(out, "all stages done")
    stages.start()
    train, held = _sources(world, limit, holdout)
    held_degraded = []
    if degrade is not None:  # cheap once made: the copies are files found again on resume
        from clevrlang.modules.engineered.training.degrade import degraded_copies

        train = train + degraded_copies(train, work / "degraded" / "train", degrade, seed=seed,
                                        stream=0, progress=progress)
        held_degraded = degraded_copies(held, work / "degraded" / "holdout", degrade,
                                        seed=seed, stream=1, progress=progress)
    names = SHAPES if classes == "shapes" else ("object",)
    data = work / "yolo" / "data.yaml"
    if not stages.done("data"):
        class_of = (lambda o: SHAPES.index(o["shape"])) if classes == "shapes" else (lambda o: 0)
        data = write_yolo_dataset(work / "yolo", {"train": train, "val": held}, names, class_of)
        info = {}
        if degrade is not None:
            from clevrlang.modules.engineered.training.degrade import summary

            info["degraded"] = summary(train[len(train) // 2:])
        stages.finish("data", train=len(train), holdout=len(held), **info)
    stages.start()
    detector = _detector_stage(stages, data, work, out, names, epochs=epochs, imgsz=imgsz,
                               batch=batch, device=device, threads=threads, resume=resume,
                               progress=progress, seed=seed, cfg=cfg, half=half,
                               init=Path(init_detector) if init_detector else None)
    stages.start()
    if not stages.done("features"):
        from clevrlang.modules.engineered.training.fitting import collect_features

        arrays = collect_features(detector, train, progress=progress)
        np.savez(work / "features.npz", **arrays)
        stages.finish("features", rows=int(len(arrays["color"])))
    stages.start()
    if not stages.done("models"):
        from clevrlang.modules.engineered.training.fitting import fit_models

        with np.load(work / "features.npz", allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        scores = fit_models(arrays, out, seed=seed)
        stages.finish("models", cv=scores)
    stages.start()
    if not stages.done("evaluate") or not (out / MANIFEST).is_file():
        from clevrlang.modules.engineered.training.fitting import evaluate_holdout

        config = {"classes": classes, "names": list(names), "imgsz": imgsz, "cfg": cfg}
        config, metrics = evaluate_holdout(out, config, held, device, CONF_GRID,
                                           degraded=held_degraded)
        files = [DETECTOR] + sorted(p.name for p in out.glob("*.skops"))
        done = stages.state["done"]
        seconds = {k: v.get("seconds") for k, v in done.items()}
        seconds["evaluate"] = round(time.time() - stages.t0, 1)
        metrics = {**metrics, "train_images": len(train), "cv": done["models"]["cv"],
                   "seconds": seconds, "device": resolve_device(device),
                   "cpu_count": os.cpu_count()}
        write_manifest(out, files, config, metrics)
        stages.finish("evaluate")
    return read_manifest(out)


def _detector_stage(stages, data, work, out, names, *, half, **kw):
    from clevrlang.modules.engineered.detector import Detector
    from clevrlang.modules.engineered.training.detector_train import (
        CKPT_NAME, checkpoint_seconds, train_detector,
    )

    if stages.done("detector") and (out / DETECTOR).is_file():
        return Detector.load(out / DETECTOR, kw["device"])
    if kw["epochs"] == 0:  # the given detector as it is (checked to load first)
        from clevrlang.atomic import write_atomic

        Detector.load(kw["init"], kw["device"])
        write_atomic(out / DETECTOR, Path(kw["init"]).read_bytes())
        stages.finish("detector", seconds=0.0, kept=str(kw["init"]))
        return Detector.load(out / DETECTOR, kw["device"])
    detector = train_detector(data, work / "detector", names, **kw)
    detector.save(out / DETECTOR, half=half)
    detector = Detector.load(out / DETECTOR, kw["device"])  # predict exactly as users will
    stages.finish("detector", seconds=checkpoint_seconds(work / "detector" / CKPT_NAME))
    return detector
