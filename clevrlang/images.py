"""Image I/O: every image is an HxWx3 uint8 NumPy array; bad files are clear errors."""

from __future__ import annotations

import os

import numpy as np

from clevrlang.errors import DataError, MissingFileError


class ImageArray(np.ndarray):
    """An image array that remembers the file it came from (so the symbolic back end can
    find its ground-truth scene in a CLEVR world)."""

    path: str | None = None

    def __array_finalize__(self, obj):
        self.path = getattr(obj, "path", None)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (alpha is dropped, greyscale expanded)."""
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    try:
        with Image.open(path) as im:
            out = np.asarray(im.convert("RGB"), dtype=np.uint8).copy().view(ImageArray)
            out.path = os.path.abspath(path)
            return out
    except FileNotFoundError:
        raise MissingFileError("no such image file", where=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, expected an image file", where=path) from None
    except (UnidentifiedImageError, ModuleNotFoundError):  # ultralytics' PIL patch: see offline.py
        raise DataError("not an image file Pillow can read (PNG, JPEG, WebP, ...)",
                        where=path) from None
    except OSError as e:
        raise DataError(f"cannot read image: {e}", where=path) from None


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write an RGB uint8 array as PNG (or the format the suffix names), atomically."""
    from PIL import Image

    import io

    from clevrlang.atomic import write_atomic

    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").upper() or "PNG"
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format={"JPG": "JPEG"}.get(fmt, fmt))
    write_atomic(path, buf.getvalue())


def world_scene_of(image) -> "object | None":
    """The ground-truth Scene of an image file inside a CLEVR world, or None.

    ``<root>/images/<split>/CLEVR_<split>_000123.png`` -> scene 123 of
    ``<root>/scenes/CLEVR_<split>_scenes.json`` (matched by image_filename).
    """
    path = getattr(image, "path", None)
    if not path:
        return None
    split_dir = os.path.dirname(path)
    root = os.path.dirname(os.path.dirname(split_dir))
    split = os.path.basename(split_dir)
    scenes_path = os.path.join(root, "scenes", f"CLEVR_{split}_scenes.json")
    if not os.path.isfile(scenes_path):
        return None
    scenes = _scenes_cached(scenes_path, os.path.getmtime(scenes_path))
    name = os.path.basename(path)
    return next((s for s in scenes if s.image_filename == name), None)


def _scenes_cached(path: str, mtime: float, _cache={}):
    from clevrlang.data import load_scenes

    key = (path, mtime)
    if key not in _cache:
        _cache.clear()
        _cache[key] = load_scenes(path)
    return _cache[key]
