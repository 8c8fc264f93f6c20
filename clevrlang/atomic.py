"""Atomic file writes: a hidden temporary file in the same folder, then ``os.replace``.

A killed process never leaves a partial file under a final name (only ``.NAME.tmp-PID``
leftovers, which :func:`clevrlang.world.layout.remove_temp_files` sweeps).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_MARK = ".tmp-"


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")


@contextmanager
def replacing(path: str | os.PathLike, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (safetensors,
    skops, ``os.link``); when the block ends without an error it becomes ``path``.

    ``durable`` also fsyncs (survives a power cut, not only a killed process).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with replacing(target) as tmp:
    ...     _ = tmp.write_text("whole")
    ...     target.exists()
    False
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]
    ('whole', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, chunks: Iterable[bytes] | bytes,
                 durable: bool = False) -> Path:
    """Write ``chunks`` to ``path`` through a temporary file and ``os.replace``."""
    with replacing(path, durable) as tmp, open(tmp, "wb") as f:
        for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
            f.write(chunk)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, durable: bool = False) -> Path:
    return write_atomic(path, text.encode("utf-8"), durable)
