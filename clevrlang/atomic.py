"""Atomic file writes: a hidden temporary file in the same folder, then ``os.replace``.

A killed process never leaves a partial file under a final name (only ``.NAME.tmp-PID``
leftovers, which :func:`clevrlang.world.layout.remove_temp_files` sweeps).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TEMP_MARK = ".tmp-"


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")


def write_atomic(path: str | os.PathLike, chunks: Iterable[bytes] | bytes,
                 durable: bool = False) -> Path:
    """Write ``chunks`` to ``path`` through a temporary file and ``os.replace``.

    ``durable`` also fsyncs (survives a power cut, not only a killed process).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                f.write(chunk)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str, durable: bool = False) -> Path:
    return write_atomic(path, text.encode("utf-8"), durable)
