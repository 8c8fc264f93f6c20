"""Training samples for the engineered back end: images with their scenes, from anywhere.

A sample is an image (a file or an RGB array) and its CLEVR scene dict. Samples come from a
world folder (``clevr world make`` output or the real CLEVR layout, read through
:func:`clevrlang.world.layout.open_world`), from ``(images, scenes)`` held in memory, or are
made on the spot with the world's scene generator and renderer (:func:`synth_samples`).

:func:`write_yolo_dataset` lays samples out the way ultralytics reads them -- image files
(symlinks where the images already are files) next to label files of whole-object boxes --
under a work folder, never inside the world.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clevrlang.language.errors import DataError, UsageError
from clevrlang.modules.engineered.geometry import amodal_boxes


@dataclass
class Sample:
    """One training or evaluation image and its ground-truth scene."""

    scene: dict
    path: Path | None = None
    array: np.ndarray | None = None

    @property
    def name(self) -> str:
        if self.path is not None:
            return self.path.stem
        return Path(self.scene.get("image_filename") or f"image_{id(self)}").stem

    def image(self) -> np.ndarray:
        """The RGB uint8 image."""
        if self.array is not None:
            return self.array
        from clevrlang.world.layout import read_png

        return read_png(self.path, "RGB")

    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the image (read from the file header only)."""
        if self.array is not None:
            return self.array.shape[1], self.array.shape[0]
        from PIL import Image

        with Image.open(self.path) as im:
            return im.size

    def boxes(self) -> np.ndarray:
        """Whole-object boxes of the scene's objects at this image's size."""
        w, h = self.size()
        return amodal_boxes(self.scene, w, h)


def synth_samples(n: int, seed: int = 0, split: str = "train", width: int = 320,
                  height: int = 240, start: int = 0, progress: bool = False) -> list[Sample]:
    """``n`` freshly generated and rendered samples (images held in memory)."""
    from tqdm.auto import tqdm

    from clevrlang.world.render import annotate_scene, render
    from clevrlang.world.scenes import make_scene

    out = []
    for i in tqdm(range(start, start + n), desc=f"render {split}", disable=not progress,
                  unit="img"):
        scene = make_scene(seed, i, split, width, height)
        result = render(scene, width, height)
        out.append(Sample(annotate_scene(scene, result), array=result.image))
    return out


def write_synth_world(root: Path, counts: dict[str, int], seed: int = 0, width: int = 320,
                      height: int = 240, progress: bool = False) -> Path:
    """Render a small CLEVR-layout world (images and scenes per split) into ``root``.

    Split ``k`` (in ``counts`` order) uses seed ``seed + k``, so splits never share scenes.
    Images already written are kept, so an interrupted run continues where it stopped.
    """
    from tqdm.auto import tqdm

    from clevrlang.world.layout import image_relpath, scenes_relpath, write_document, write_png
    from clevrlang.world.render import annotate_scene, render
    from clevrlang.world.scenes import make_scene

    root = Path(root)
    for k, (split, n) in enumerate(counts.items()):
        if (root / scenes_relpath(split)).is_file():
            continue
        scenes = []
        for i in tqdm(range(n), desc=f"render {split}", unit="img", disable=not progress):
            scene = make_scene(seed + k, i, split, width, height)
            path = root / image_relpath(split, i)
            if path.is_file():  # rendered before an interruption: only the boxes are needed
                from clevrlang.world.render import render_mask

                mask, counts_, boxes = render_mask(scene, width, height)
                for o, b in zip(scene["objects"], boxes):
                    o["bbox"] = [int(v) for v in b]
            else:
                result = render(scene, width, height)
                annotate_scene(scene, result)
                write_png(path, result.image)
            scenes.append(scene)
        write_document(root / scenes_relpath(split), {"split": split, "seed": seed + k},
                       "scenes", scenes)
    return root


def world_samples(root, split: str, limit: int | None = None) -> list[Sample]:
    """The samples of one split of a world folder (images that have scenes)."""
    from clevrlang.world.layout import open_world

    world = open_world(root)
    if split not in world.splits():
        raise DataError(f"no split {split!r} (splits: {', '.join(world.splits()) or 'none'})",
                        where=str(world.root))
    scenes = world.scenes(split)[:limit]
    return [Sample(s.raw, path=world.image_path(split, s.raw.get("image_index", i)))
            for i, s in enumerate(scenes)]


def as_samples(source, split: str = "train", limit: int | None = None) -> list[Sample]:
    """Samples from a world folder, ``(images, scenes)``, or a list of samples."""
    if isinstance(source, (str, os.PathLike)):
        return world_samples(source, split, limit)
    if isinstance(source, tuple) and len(source) == 2:
        images, scenes = source
        if len(images) != len(scenes):
            raise UsageError(f"{len(images)} images but {len(scenes)} scenes")
        out = [Sample(getattr(s, "raw", s), array=np.asarray(im)[..., :3])
               if not isinstance(im, (str, os.PathLike))
               else Sample(getattr(s, "raw", s), path=Path(im))
               for im, s in zip(images, scenes)]
        return out[:limit]
    if isinstance(source, list) and all(isinstance(s, Sample) for s in source):
        return source[:limit]
    raise UsageError("training data must be a world folder, (images, scenes), or samples")


def split_holdout(samples: list[Sample], fraction: float = 0.1, minimum: int = 1
                  ) -> tuple[list[Sample], list[Sample]]:
    """The last ``fraction`` of the samples held out (at least ``minimum``, at most half)."""
    k = min(len(samples) // 2, max(minimum, round(len(samples) * fraction)))
    return samples[:len(samples) - k], samples[len(samples) - k:]


def label_lines(sample: Sample, class_of) -> list[str]:
    """YOLO label rows ``cls cx cy w h`` (normalised) for the sample's whole-object boxes."""
    w, h = sample.size()
    rows = []
    for obj, (x0, y0, x1, y1) in zip(sample.scene["objects"], sample.boxes()):
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        rows.append(f"{class_of(obj)} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} "
                    f"{(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
    return rows


def _place_image(sample: Sample, target: Path) -> None:
    from clevrlang.world.layout import write_png

    if target.exists() or target.is_symlink():
        return
    if sample.path is not None:
        try:
            target.symlink_to(Path(sample.path).resolve())
            return
        except OSError:  # no symlinks here (some file systems): copy the pixels instead
            pass
    write_png(target, sample.image())


def write_yolo_dataset(root: Path, splits: dict[str, list[Sample]], names, class_of) -> Path:
    """Write ``root/{images,labels}/<split>/`` and ``root/data.yaml``; returns the yaml path.

    Files already there are kept (a resumed run does not rewrite them).
    """
    from clevrlang.atomic import write_atomic

    root = Path(root).resolve()
    for split, samples in splits.items():
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for k, sample in enumerate(samples):
            stem = f"{k:06d}_{sample.name}"
            _place_image(sample, root / "images" / split / f"{stem}.png")
            label = root / "labels" / split / f"{stem}.txt"
            if not label.exists():
                write_atomic(label, "\n".join(label_lines(sample, class_of)).encode())
    lines = [f"path: {root}"] + [f"{s}: {root / 'images' / s}" for s in splits]
    if "val" not in splits:
        lines.append(f"val: {root / 'images' / next(iter(splits))}")
    lines.append("names:")
    lines += [f"  {i}: {n}" for i, n in enumerate(names)]
    data = root / "data.yaml"
    write_atomic(data, ("\n".join(lines) + "\n").encode())
    return data
