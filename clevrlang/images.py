"""Image I/O: every image is an HxWx3 uint8 NumPy array; bad files are clear errors.

:func:`as_image` is the one door for an image a caller hands in (a file name, a PIL image
or an array): the back ends and the codecs all take their inputs through it.
"""

from __future__ import annotations

import os

import numpy as np

from clevrlang.language.errors import ClevrError, DataError, MissingFileError, UsageError


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
    except Exception as e:
        # A corrupt file: Pillow's decoders say so in many types (SyntaxError, ValueError,
        # struct.error, DecompressionBombError...), none an OSError; its own fuzzer catches
        # Exception for that reason.
        raise DataError(f"cannot decode image: {e}", where=path) from None


def as_image(image, error: type[ClevrError] = UsageError) -> np.ndarray:
    """``image`` -- a file name, a PIL image or an array -- as a C-contiguous H x W x 3 uint8
    array. A file is read by :func:`load_image` (so the array remembers its path); as when a
    file is read, a grey array is expanded and an alpha channel dropped.

    Anything else raises ``error``: a UsageError for a codec (the caller passed the wrong
    thing), a DataError for a back end, whose images are the data it answers about.

    >>> as_image(np.zeros((2, 3, 4), np.uint8)).shape
    (2, 3, 3)
    >>> as_image(np.zeros((2, 3), np.float32))
    Traceback (most recent call last):
    clevrlang.language.errors.UsageError: usage error: expected an H x W x 3 uint8 image, got shape (2, 3) dtype float32
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    if hasattr(image, "convert") and not isinstance(image, np.ndarray):  # a PIL image
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise error("expected an image (a file name or an H x W x 3 uint8 array), got "
                    f"{type(image).__name__}")
    if image.dtype != np.uint8 or not (image.ndim == 2 or image.ndim == 3
                                       and image.shape[2] in (3, 4)):
        raise error(f"expected an H x W x 3 uint8 image, got shape {image.shape} "
                    f"dtype {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise error(f"empty image of shape {image.shape}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, 2)
    # np.require keeps an ImageArray (and its path); it copies only when it must
    return np.require(image[..., :3], requirements="C")


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
    from clevrlang.datafiles import load_scenes

    key = (path, mtime)
    if key not in _cache:
        _cache.clear()
        _cache[key] = load_scenes(path)
    return _cache[key]
