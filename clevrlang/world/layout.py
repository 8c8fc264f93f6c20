"""CLEVR v1.0's file layout: where each file lives, atomic writers, and a reader.

A world (ours, or the real CLEVR v1.0 / CLEVR-CoGenT download) is a folder::

    images/<split>/CLEVR_<split>_000000.png
    scenes/CLEVR_<split>_scenes.json         {"info": {...}, "scenes": [...]}
    questions/CLEVR_<split>_questions.json   {"info": {...}, "questions": [...]}
    masks/<split>/CLEVR_<split>_000000.png   ours: instance ids, 0 = ground, object i = i + 1

CoGenT names its splits ``trainA``, ``valA``, ``valB``, ``testA``, ``testB``; the test splits
of both downloads have questions without answers or programs, and no scenes. Our scenes add
``bbox`` ([x0, y0, x1, y1), pixels) to each object and ``mask_filename`` (a file name under
``masks/<split>/``) to each scene.

Every writer here is atomic: the bytes go to a hidden temporary file in the same folder,
which ``os.replace`` then renames, so a killed run never leaves a partial file under a final
name (only ``.*.tmp-*`` leftovers, which :func:`remove_temp_files` sweeps).

>>> world = open_world("tests/fixtures/clevr_v1/CLEVR_v1.0")  # a miniature of the download
>>> world.splits(), world.image_path("val", 1).name
(['train', 'val', 'test'], 'CLEVR_val_000001.png')
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from clevrlang.atomic import TEMP_MARK as _TEMP_MARK
from clevrlang.atomic import replacing, write_atomic
from clevrlang.language.errors import DataError, MissingFileError, UsageError

#: Split names of CLEVR v1.0 and CLEVR-CoGenT v1.0, in the order a listing shows them.
KNOWN_SPLITS = ("train", "val", "test", "trainA", "valA", "valB", "testA", "testB")
#: The top folders of the two downloads once unzipped.
DOWNLOAD_FOLDERS = ("CLEVR_v1.0", "CLEVR_CoGenT_v1.0")
_PARTS = ("images", "scenes", "questions")
_SCENES_RE = re.compile(r"^CLEVR_(\w+)_scenes\.json$")
_QUESTIONS_RE = re.compile(r"^CLEVR_(\w+)_questions\.json$")


def image_filename(split: str, index: int) -> str:
    """``CLEVR_<split>_<index:06d>.png``, the name of an image (and of its mask)."""
    return f"CLEVR_{split}_{int(index):06d}.png"


def image_relpath(split: str, index: int) -> str:
    return f"images/{split}/{image_filename(split, index)}"


def mask_relpath(split: str, index: int) -> str:
    return f"masks/{split}/{image_filename(split, index)}"


def scenes_relpath(split: str) -> str:
    return f"scenes/CLEVR_{split}_scenes.json"


def questions_relpath(split: str) -> str:
    return f"questions/CLEVR_{split}_questions.json"


# ---------------------------------------------------------------------------- atomic writers

def dumps(obj) -> str:
    """JSON exactly as CLEVR's scripts write it (``json.dump`` defaults), deterministic."""
    return json.dumps(obj)


def write_json(path: str | os.PathLike, obj, durable: bool = True) -> Path:
    return write_atomic(path, dumps(obj).encode("utf-8"), durable)


def write_document(path: str | os.PathLike, info: dict, key: str, items: Iterable,
                   durable: bool = True) -> Path:
    """Stream ``{"info": info, key: [items...]}`` to ``path``, byte-identical to ``dumps``.

    The items are serialised one at a time, so a 70K-scene file never sits in memory twice.
    """
    def chunks():
        yield f'{{"info": {dumps(info)}, {dumps(key)}: ['.encode()
        for i, item in enumerate(items):
            yield (", " if i else "").encode() + dumps(item).encode("utf-8")
        yield b"]}"
    return write_atomic(path, chunks(), durable)


def write_png(path: str | os.PathLike, array: np.ndarray) -> Path:
    """An RGB (H, W, 3) or grey-level (H, W) uint8 array as a PNG, atomically."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG")
    return write_atomic(path, buf.getvalue())


def link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Put file ``src`` at ``dst`` atomically (a hard link when both are on one file system);
    nothing to do when ``dst`` exists, since only finished files have final names."""
    src, dst = Path(src), Path(dst)
    if dst.is_file():
        return
    with replacing(dst) as tmp:
        tmp.unlink(missing_ok=True)  # a leftover of a killed writer with our PID
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def remove_temp_files(folders: Iterable[str | os.PathLike]) -> int:
    """Delete the temporary files a killed writer left in ``folders``; how many there were.

    A file whose writer (the PID in its name) still runs is kept: two splits, or two shards,
    made at once in one world share ``scenes/`` and ``questions/``.
    """
    n = 0
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if (p.name.startswith(".") and _TEMP_MARK in p.name and p.is_file()
                    and not _writer_running(p.name)):
                p.unlink(missing_ok=True)
                n += 1
    return n


def _writer_running(name: str) -> bool:
    pid = name.rpartition(_TEMP_MARK)[2]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


def read_png(path: str | os.PathLike, mode: str | None = None) -> np.ndarray:
    """A PNG as a uint8 array (``mode="RGB"`` drops the alpha channel CLEVR's images carry)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode) if mode and im.mode != mode else im.copy())
    except FileNotFoundError:
        raise MissingFileError("no such image file", where=os.fspath(path)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ModuleNotFoundError) as e:
        raise DataError(f"not a readable image: {e}", where=os.fspath(path)) from None


def boxes_from_mask(mask: np.ndarray, n: int) -> np.ndarray:
    """Each object's visible box ``[x0, y0, x1, y1)`` from an instance mask (-1s if unseen)."""
    boxes = np.full((n, 4), -1, np.int64)
    for i in range(n):
        ys, xs = np.nonzero(mask == i + 1)
        if len(xs):
            boxes[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return boxes


# ---------------------------------------------------------------------------------- reader

def _resolve_root(root: Path) -> Path:
    if not root.is_dir():
        raise MissingFileError("no such directory", where=str(root))
    if any((root / p).is_dir() for p in _PARTS):
        return root
    inner = sorted(p for p in root.iterdir()
                   if p.is_dir() and any((p / q).is_dir() for q in _PARTS))
    if len(inner) == 1:
        return inner[0]
    if inner:
        names = ", ".join(p.name for p in inner)
        raise DataError(f"holds several CLEVR worlds ({names})", where=str(root),
                        hint="open one of them")
    raise DataError("not a CLEVR world: expected images/, scenes/ or questions/ inside",
                    where=str(root))


def _split_order(split: str) -> tuple:
    return (KNOWN_SPLITS.index(split), "") if split in KNOWN_SPLITS else (len(KNOWN_SPLITS), split)


class World:
    """A CLEVR world on disk; files are read on first use and kept.

    Indices are CLEVR's ``image_index`` (file names), which are also list positions in
    every file this project and CLEVR write.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = _resolve_root(Path(root))
        self._scenes: dict[str, list] = {}
        self._questions: dict[str, list] = {}

    def __repr__(self) -> str:
        return f"World({str(self.root)!r}, splits={self.splits()})"

    @cached_property
    def _split_names(self) -> list[str]:
        found = set()
        for folder in ("images", "masks"):
            d = self.root / folder
            if d.is_dir():
                found |= {p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")}
        for folder, pattern in (("scenes", _SCENES_RE), ("questions", _QUESTIONS_RE)):
            d = self.root / folder
            if d.is_dir():
                found |= {m.group(1) for p in d.iterdir() if (m := pattern.match(p.name))}
        return sorted(found, key=_split_order)

    def splits(self) -> list[str]:
        """The splits present (any of images, scenes or questions), CLEVR's order first."""
        return list(self._split_names)

    def default_split(self) -> str:
        """The split a command reads when none is named: ``val``, else the first with scenes."""
        with_scenes = [s for s in self._split_names if self.has_scenes(s)]
        return "val" if "val" in with_scenes else (with_scenes or self.splits() or ["val"])[0]

    def _check_split(self, split: str) -> None:
        if split not in self._split_names:
            have = ", ".join(self._split_names) or "none"
            raise DataError(f"no split {split!r} here (splits: {have})", where=str(self.root))

    def scenes_path(self, split: str) -> Path:
        return self.root / scenes_relpath(split)

    def questions_path(self, split: str) -> Path:
        return self.root / questions_relpath(split)

    def has_scenes(self, split: str) -> bool:
        return self.scenes_path(split).is_file()

    def has_questions(self, split: str) -> bool:
        return self.questions_path(split).is_file()

    def scenes(self, split: str) -> list:
        """The split's scenes (:class:`clevrlang.scene.Scene`), validated, in file order."""
        if split not in self._scenes:
            self._check_split(split)
            path = self.scenes_path(split)
            if not path.is_file():
                raise DataError(f"split {split!r} has no scenes file", where=str(path),
                                hint="CLEVR's test splits come without scenes")
            from clevrlang.datafiles import load_scenes

            self._scenes[split] = load_scenes(path)
        return self._scenes[split]

    def scene(self, split: str, index: int):
        """The scene of image ``index`` (by ``image_index``, which is also its position)."""
        scenes = self.scenes(split)
        if 0 <= index < len(scenes) and scenes[index].raw.get("image_index", index) == index:
            return scenes[index]
        for s in scenes:
            if s.raw.get("image_index") == index:
                return s
        raise DataError(f"split {split!r} has no scene for image {index} "
                        f"({len(scenes)} scenes)", where=str(self.scenes_path(split)))

    def questions(self, split: str) -> list:
        """The split's questions (:class:`clevrlang.datafiles.Question`); test splits lack answers."""
        if split not in self._questions:
            self._check_split(split)
            path = self.questions_path(split)
            if not path.is_file():
                raise DataError(f"split {split!r} has no questions file", where=str(path))
            from clevrlang.datafiles import load_questions

            self._questions[split] = load_questions(path)
        return self._questions[split]

    def num_images(self, split: str) -> int:
        """How many images the split has (its image files, else its scenes)."""
        self._check_split(split)
        d = self.root / "images" / split
        if d.is_dir():
            return sum(1 for p in d.iterdir() if p.suffix == ".png" and not p.name.startswith("."))
        return len(self.scenes(split)) if self.has_scenes(split) else 0

    def image_path(self, split: str, index: int) -> Path:
        """``images/<split>/CLEVR_<split>_<index>.png``; DataError when it is missing."""
        self._check_split(split)
        path = self.root / image_relpath(split, index)
        if not path.is_file():
            raise DataError(f"split {split!r} has no image {index}", where=str(path))
        return path

    def mask_path(self, split: str, index: int) -> Path | None:
        """The instance mask of image ``index`` (ours), or None (real CLEVR has none)."""
        self._check_split(split)
        path = self.root / mask_relpath(split, index)
        return path if path.is_file() else None

    def load_image(self, split: str, index: int) -> np.ndarray:
        """Image ``index`` as (H, W, 3) uint8 RGB (CLEVR's RGBA files lose their alpha)."""
        return read_png(self.image_path(split, index), "RGB")

    def load_mask(self, split: str, index: int) -> np.ndarray:
        """The (H, W) uint8 instance mask of image ``index``: 0 ground, object i -> i + 1."""
        path = self.mask_path(split, index)
        if path is None:
            raise DataError(f"split {split!r} has no mask for image {index}",
                            where=str(self.root / mask_relpath(split, index)),
                            hint="masks come with worlds made by `clevr world make`")
        return read_png(path, "L")


def open_world(root: str | os.PathLike) -> World:
    """Open a CLEVR world: ours, or the unzipped CLEVR v1.0 / CLEVR-CoGenT v1.0 download.

    ``root`` is the folder holding ``images/``, ``scenes/`` and ``questions/``, or the folder
    one level up when it holds exactly one such world (e.g. the ``CLEVR_v1.0`` folder).
    """
    return World(root)


@dataclass(frozen=True)
class WorldFiles:
    """The files of one split of a world; None where the split has none (CLEVR's test)."""

    root: str
    split: str
    scenes: str | None
    questions: str | None
    images: str | None  # the split's image folder


def world_files(world_dir: str, split: str | None = None) -> WorldFiles:
    """Where ``--world DIR --split S`` keeps its files (``scenes/CLEVR_<split>_scenes.json``,
    ``questions/...``, ``images/<split>/``); the split defaults to :meth:`World.default_split`."""
    world = open_world(world_dir)
    splits = world.splits()
    if split is None:
        split = world.default_split()
    elif split not in splits:
        raise UsageError(f"--split {split}: {world_dir} has no such split",
                         hint=f"splits: {', '.join(splits) or 'none'}")
    images = os.path.join(world.root, "images", split)
    return WorldFiles(
        root=str(world.root), split=split,
        scenes=str(world.scenes_path(split)) if world.has_scenes(split) else None,
        questions=str(world.questions_path(split)) if world.has_questions(split) else None,
        images=images if os.path.isdir(images) else None)
