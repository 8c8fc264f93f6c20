"""Image I/O: every image is an HxWx3 uint8 NumPy array; bad files are clear errors."""

from __future__ import annotations

import os

import numpy as np

from clevrlang.errors import DataError


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (alpha is dropped, greyscale expanded)."""
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except FileNotFoundError:
        raise DataError("no such image file", where=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, expected an image file", where=path) from None
    except UnidentifiedImageError:
        raise DataError("not an image file Pillow can read (PNG, JPEG, WebP, ...)",
                        where=path) from None
    except OSError as e:
        raise DataError(f"cannot read image: {e}", where=path) from None


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write an RGB uint8 array as PNG (or the format the suffix names), atomically."""
    from PIL import Image

    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    fmt = os.path.splitext(path)[1].lstrip(".").upper() or "PNG"
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format={"JPG": "JPEG"}.get(fmt, fmt))
    os.replace(tmp, path)
