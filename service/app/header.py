"""An image's size from its header, with work bounded whatever the file.

The worker reads it before an upload has a slot or a budget (to choose its
lane), so it reads a few fixed fields instead of parsing the headers the way
a decoder does.
"""

from __future__ import annotations

import io
import re
import struct

from PIL import Image


class LongHeaders(Exception):
    """More header structure before the picture than any honest file has."""


# no camera or editor writes more segments than this before the frame header
_MAX_JPEG_SEGMENTS = 4096
# JPEG start-of-frame markers (C4 is DHT, C8 reserved, CC is DAC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_FILL = re.compile(rb"\xff+")


def header_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) as the image's header declares it; None if it declares none.

    Bounded work whatever the file: fixed offsets for PNG and GIF, at most
    `_MAX_JPEG_SEGMENTS` segment headers for JPEG (LongHeaders past them), one
    IFD for TIFF, and libwebp's own parser (C) for WebP.
    """
    if mime == "image/png":
        return struct.unpack(">II", data[16:24]) if data[12:16] == b"IHDR" else None
    if mime == "image/gif":
        return struct.unpack("<HH", data[6:10])
    if mime == "image/jpeg":
        return _jpeg_size(data)
    if mime == "image/tiff":
        return _tiff_size(data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Image.DecompressionBombError:
        raise LongHeaders("a canvas Pillow will not even open") from None
    except Exception:
        return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        fill = _FILL.match(data, pos)  # a marker, after any number of 0xFF fill bytes
        if fill is None:
            raise LongHeaders("bytes between segments (Pillow skips them one at a time)")
        pos = fill.end()
        if pos >= len(data):
            return None
        marker = data[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # standalone markers carry no length
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            return None  # not a header segment: no frame header before the picture
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            return width, height
        pos += length
    raise LongHeaders(f"more than {_MAX_JPEG_SEGMENTS} segments before the frame header")


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    entries = data[offset + 2 : offset + 2 + 12 * count]
    entries = entries[: len(entries) // 12 * 12]
    found = {}
    # one IFD: at most 65535 entries, unpacked in C
    for tag, kind, _count, value in struct.iter_unpack(order + "HHI4s", entries):
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG, left-justified
            found[tag] = struct.unpack_from(order + ("H" if kind == 3 else "I"), value)[0]
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]
