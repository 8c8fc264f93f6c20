"""Header-less payload sizes: how many bytes of a file are the coded image itself.

On a 32x32 thumbnail the container (tables, boxes, chunk headers) can outweigh the image, so,
like Toderici et al., codecs are compared by the entropy-coded payload alone:

* JPEG: the entropy-coded bytes after each SOS segment, up to the next marker (EOI);
* WebP: the ``VP8 `` chunk less its 10-byte frame header (``VP8L``: less its 5-byte header);
* JPEG 2000 (raw codestream): every tile-part's data after its SOD marker;
* AVIF: the body of the ``mdat`` box.

Each function raises :class:`~clevrlang.language.errors.DataError` when the bytes are not that
format.

>>> headerless_size("jpeg", b"\\xff\\xd8\\xff\\xda\\x00\\x02abc\\xff\\xd9")
3
"""

from __future__ import annotations

import struct

from clevrlang.language.errors import DataError


def headerless_size(fmt: str, blob: bytes) -> int:
    """The payload size of ``blob``, a complete file of codec ``fmt``."""
    try:
        return _PARSERS[fmt](blob)
    except (struct.error, IndexError):
        raise DataError(f"truncated {fmt} file ({len(blob)} bytes)") from None


def jpeg_payload(blob: bytes) -> int:
    if blob[:2] != b"\xff\xd8":
        raise DataError("not a JPEG file (no SOI marker)")
    pos, total, scans = 2, 0, 0
    while True:
        if blob[pos] != 0xFF:
            raise DataError(f"malformed JPEG: expected a marker at byte {pos}")
        marker = blob[pos + 1]
        if marker == 0xD9:  # EOI
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # standalone markers
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", blob, pos + 2)
        pos += 2 + length
        if marker == 0xDA:  # SOS: entropy-coded data follows, up to the next real marker
            end = _skip_entropy_coded(blob, pos)
            total, scans, pos = total + end - pos, scans + 1, end
    if not scans:
        raise DataError("malformed JPEG: no SOS segment")
    return total


def _skip_entropy_coded(blob: bytes, pos: int) -> int:
    while True:
        pos = blob.index(b"\xff", pos)
        nxt = blob[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:  # stuffed byte or restart marker
            pos += 2
            continue
        return pos


def webp_payload(blob: bytes) -> int:
    if blob[:4] != b"RIFF" or blob[8:12] != b"WEBP":
        raise DataError("not a WebP file (no RIFF/WEBP header)")
    pos = 12
    while pos + 8 <= len(blob):
        tag = blob[pos:pos + 4]
        (size,) = struct.unpack_from("<I", blob, pos + 4)
        if tag == b"VP8 ":
            return size - 10
        if tag == b"VP8L":
            return size - 5
        pos += 8 + size + (size & 1)
    raise DataError("malformed WebP: no VP8 or VP8L chunk")


def j2k_payload(blob: bytes) -> int:
    if blob[:2] != b"\xff\x4f":
        raise DataError("not a JPEG 2000 codestream (no SOC marker; save with no_jp2=True)")
    pos, total = 2, 0
    while pos < len(blob):
        (marker,) = struct.unpack_from(">H", blob, pos)
        if marker == 0xFFD9:  # EOC
            return total
        if marker == 0xFF90:  # SOT: a tile-part of Psot bytes from here
            (psot,) = struct.unpack_from(">I", blob, pos + 6)
            start = pos
            end = len(blob) - 2 if psot == 0 else start + psot
            sod = _find_sod(blob, pos + 2 + struct.unpack_from(">H", blob, pos + 2)[0])
            total += end - sod
            pos = end
            continue
        (length,) = struct.unpack_from(">H", blob, pos + 2)
        pos += 2 + length
    raise DataError("truncated JPEG 2000 codestream: no EOC marker")


def _find_sod(blob: bytes, pos: int) -> int:
    """Walk a tile-part header's marker segments to the end of its SOD marker."""
    while True:
        (marker,) = struct.unpack_from(">H", blob, pos)
        if marker == 0xFF93:
            return pos + 2
        (length,) = struct.unpack_from(">H", blob, pos + 2)
        pos += 2 + length


def avif_payload(blob: bytes) -> int:
    if blob[4:8] != b"ftyp":
        raise DataError("not an AVIF file (no ftyp box)")
    pos, total, found = 0, 0, False
    while pos + 8 <= len(blob):
        size, tag = struct.unpack_from(">I4s", blob, pos)
        head = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", blob, pos + 8)
            head = 16
        elif size == 0:
            size = len(blob) - pos
        if tag == b"mdat":
            total += size - head
            found = True
        pos += size
    if not found:
        raise DataError("malformed AVIF: no mdat box")
    return total


_PARSERS = {"jpeg": jpeg_payload, "webp": webp_payload, "jpeg2000": j2k_payload,
            "avif": avif_payload}
