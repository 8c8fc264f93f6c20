"""A coded image (:class:`Code`) and its small self-describing file format.

A ``.clc`` file is: 8 magic bytes ``b"CLVCODE\\0"``, a 2-byte big-endian format version, a
4-byte big-endian header length, a UTF-8 JSON header, then the payload. The header names the
codec and carries everything the decoder needs besides the payload (shape, iterations, bits per
iteration, codec parameters) and a CRC-32 of the payload, so a truncated, corrupted or foreign
file is refused with a :class:`~clevrlang.language.errors.DataError` instead of decoding to noise.

>>> code = Code(name="jpeg", shape=(2, 2, 3), data=b"abc", nbytes=2, total_bytes=3)
>>> Code.from_bytes(code.to_bytes()) == code
True
>>> code.bpp
4.0
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clevrlang.atomic import write_atomic
from clevrlang.language.errors import DataError, MissingFileError

MAGIC = b"CLVCODE\0"
VERSION = 1
_PREFIX = struct.Struct(">8sHI")  # magic, version, header length
_MAX_HEADER = 1 << 20


@dataclass(frozen=True)
class Code:
    """The bits of one coded image.

    ``data`` is what the codec's decoder reads: the packed bits of a learned codec, or the
    complete file of a standard codec. ``nbytes`` is the payload without any container or
    header (the number the paper compares); ``total_bytes`` counts the codec's own container
    too (equal to ``nbytes`` for learned codecs, which have none besides this file's header).
    """

    name: str
    shape: tuple[int, int, int]
    data: bytes = field(repr=False)
    nbytes: int
    total_bytes: int
    iterations: int = 1
    bits_per_iteration: int = 0
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def bpp(self) -> float:
        """Bits per pixel of the header-less payload."""
        h, w = self.shape[:2]
        return 8.0 * self.nbytes / (h * w)

    def header(self) -> dict[str, Any]:
        return {
            "name": self.name, "shape": list(self.shape), "nbytes": self.nbytes,
            "total_bytes": self.total_bytes, "iterations": self.iterations,
            "bits_per_iteration": self.bits_per_iteration, "params": self.params,
            "payload_bytes": len(self.data), "crc32": zlib.crc32(self.data),
        }

    def to_bytes(self) -> bytes:
        head = json.dumps(self.header(), sort_keys=True, separators=(",", ":")).encode()
        return _PREFIX.pack(MAGIC, VERSION, len(head)) + head + self.data

    @classmethod
    def from_bytes(cls, blob: bytes, where: str | None = None) -> Code:
        """Parse a ``.clc`` file's bytes; refuse anything truncated, corrupted or foreign."""
        where = where or "<bytes>"
        if not blob:
            raise DataError("empty Code file", where=where)
        if not blob.startswith(MAGIC[:len(blob)]):
            raise DataError(f"not a clevrlang Code file (it does not start with {MAGIC!r})",
                            where=where)
        if len(blob) < _PREFIX.size:
            raise DataError(f"truncated Code file: {len(blob)} bytes, shorter than its "
                            f"{_PREFIX.size}-byte prefix", where=where)
        _, version, head_len = _PREFIX.unpack_from(blob)
        if version != VERSION:
            raise DataError(f"Code file format version {version} is not supported "
                            f"(this clevrlang reads version {VERSION})", where=where)
        if head_len > _MAX_HEADER or _PREFIX.size + head_len > len(blob):
            raise DataError(f"truncated Code file: the header needs {head_len} bytes, the "
                            f"file has {len(blob) - _PREFIX.size} after the prefix", where=where)
        head = _parse_header(blob[_PREFIX.size:_PREFIX.size + head_len], where)
        data = blob[_PREFIX.size + head_len:]
        if len(data) != head["payload_bytes"]:
            what = "truncated" if len(data) < head["payload_bytes"] else "corrupted"
            raise DataError(f"{what} Code file: the header promises {head['payload_bytes']} "
                            f"payload bytes, the file holds {len(data)}", where=where)
        if zlib.crc32(data) != head["crc32"]:
            raise DataError("corrupted Code file: the payload's CRC-32 does not match its "
                            "header", where=where)
        return cls(name=head["name"], shape=tuple(head["shape"]), data=data,
                   nbytes=head["nbytes"], total_bytes=head["total_bytes"],
                   iterations=head["iterations"],
                   bits_per_iteration=head["bits_per_iteration"], params=head["params"])

    def save(self, path: str | os.PathLike) -> Path:
        """Write the code atomically (temp file in the same folder, then rename)."""
        return write_atomic(path, self.to_bytes(), durable=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Code:
        path = Path(path)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise MissingFileError("cannot read Code file: no such file", where=str(path)) from None
        except OSError as e:
            raise DataError(f"cannot read Code file: {e.strerror or e}", where=str(path)) from None
        return cls.from_bytes(blob, where=str(path))


_REQUIRED = {"name": str, "shape": list, "nbytes": int, "total_bytes": int, "iterations": int,
             "bits_per_iteration": int, "params": dict, "payload_bytes": int, "crc32": int}


def _parse_header(raw: bytes, where: str) -> dict[str, Any]:
    try:
        head = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"corrupted Code file: its header is not JSON ({e})", where=where) from None
    except (ValueError, RecursionError):  # a 4,300-digit number, nesting past the stack
        raise DataError("corrupted Code file: its header is JSON too big to read",
                        where=where) from None
    if not isinstance(head, dict):
        raise DataError("corrupted Code file: its header is not a JSON object", where=where)
    for key, typ in _REQUIRED.items():
        if not isinstance(head.get(key), typ):
            raise DataError(f"corrupted Code file: header field {key!r} is missing or not a "
                            f"{typ.__name__}", where=where)
    shape = head["shape"]
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise DataError(f"corrupted Code file: bad image shape {shape}", where=where)
    return head
