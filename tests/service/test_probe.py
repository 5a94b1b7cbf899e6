"""The lane estimate (`lane_of`): right for honest files, cheap for hostile ones.

It runs in the service worker, before the upload has a slot or a budget, so
its cost must not depend on how long the uploader made the headers.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from labeler.media import Limits
from service.app.analysis import lane_of
from service.app.header import header_size

from .hostile_corpus import _chunk, _gif_huge_screen, _png, _tiff_with_size, _webp_canvas, bases


def _encoded(size: tuple[int, int], fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(buf, fmt, **options)
    return buf.getvalue()


def _with_sof(jpeg: bytes, width: int, height: int) -> bytes:
    from .hostile_corpus import jpeg_segments

    out = bytearray(jpeg)
    for marker, start, _stop in jpeg_segments(jpeg):
        if marker in (0xC0, 0xC2):
            out[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(out)


def _app11(jpeg: bytes, total: int) -> bytes:
    """`total` bytes of APP11 segments (where C2PA manifests live) before the frame header."""
    piece = b"JP" + bytes(65000)
    segment = b"\xff\xeb" + struct.pack(">H", len(piece) + 2) + piece
    return jpeg[:2] + segment * (total // len(segment) + 1) + jpeg[2:]


def _honest() -> dict[str, bytes]:
    jpeg = bases()["astronaut.jpg"]
    return {
        "small jpeg": jpeg,
        "jpeg claiming 5000 x 4000": _with_sof(jpeg, 5000, 4000),
        "jpeg claiming 4000 x 4000": _with_sof(jpeg, 4000, 4000),
        "jpeg with 300 kB of manifest before a 6000 x 4000 frame": _app11(
            _with_sof(jpeg, 6000, 4000), 300_000
        ),
        "progressive jpeg": _encoded((300, 200), "JPEG", progressive=True),
        "small png": bases()["chelsea.png"],
        "png claiming 20000 x 20000": _png(20000, 20000, 8, 2, zlib.compress(b"")),
        "small gif": bases()["camera.gif"],
        "gif with a huge screen": _gif_huge_screen(),
        "small tiff": bases()["rocket.tiff"],
        "big-endian tiff": _big_endian_tiff(),
        "tiff claiming 7000 x 7000": _tiff_with_size(7000, 7000),
        "small webp": bases()["coffee.webp"],
        "webp with a huge canvas": _webp_canvas(16384),
        "webp with a 3000 x 3000 canvas": _webp_canvas(3000),
        "webp with a 5000 x 5000 canvas": _webp_canvas(5000),
    }


def _big_endian_tiff() -> bytes:
    """A 120 x 80 RGB TIFF in Motorola byte order (Pillow writes Intel), one raw strip."""
    image = np.zeros((80, 120, 3), np.uint8).tobytes()
    entries = [(256, 3, 1, 120), (257, 3, 1, 80), (258, 3, 1, 8), (259, 3, 1, 1)]
    entries += [(262, 3, 1, 2), (273, 4, 1, 0), (277, 3, 1, 3), (278, 3, 1, 80)]
    entries += [(279, 4, 1, len(image))]
    strip = 8 + 2 + 12 * len(entries) + 4
    ifd = struct.pack(">H", len(entries))
    for tag, kind, count, value in entries:
        value = strip if tag == 273 else value
        packed = struct.pack(">HH", value, 0) if kind == 3 else struct.pack(">I", value)
        ifd += struct.pack(">HHI", tag, kind, count) + packed
    return b"MM\x00*" + struct.pack(">I", 8) + ifd + bytes(4) + image


@pytest.mark.parametrize("name", sorted(_honest()))
def test_the_lane_follows_the_size_pillow_reads(name, monkeypatch):
    # Pillow's own bomb check would hide the sizes it reads
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    data = _honest()[name]
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    mime = Image.MIME[Image.open(io.BytesIO(data)).format]
    assert header_size(data, mime) == (width, height)


def _heavy(data: bytes) -> bool:
    return lane_of(data, None, Limits(max_pixels=10**12, max_cost=10**12))[1]


def test_videos_are_heavy_and_unknown_bytes_are_not():
    assert lane_of(bases()["astronaut.mp4"], None, Limits()) == ("video", True)
    assert not _heavy(b"just some text")
    assert not _heavy(b"\xff\xd8\xff")
    assert not _heavy(b"\x89PNG\r\n\x1a\n")


def _endless_headers() -> dict[str, bytes]:
    jpeg, png = bases()["astronaut.jpg"], bases()["chelsea.png"]
    entries = b"".join(struct.pack("<HHII", 40000 + i % 20000, 4, 1, 1) for i in range(65535))
    return {
        # 4 MB of empty comment segments: Pillow walks a million of them
        "jpeg": jpeg[:2] + b"\xff\xfe\x00\x02" * 1_000_000 + jpeg[2:],
        "jpeg fill bytes": jpeg[:2] + b"\xff" * 4_000_000 + jpeg[2:],
        "jpeg junk": jpeg[:2] + b"\xff\xfe\x00\x02" + b"\x00" * 4_000_000 + jpeg[2:],
        "png": png[:33] + _chunk(b"zzZz", b"") * 300_000 + png[33:],
        # the largest first IFD there is
        "tiff": b"II*\x00" + struct.pack("<IH", 8, 65535) + entries + bytes(4),
    }


@pytest.mark.parametrize("name", sorted(_endless_headers()))
def test_the_lane_estimate_costs_little_however_long_the_headers(name):
    data = _endless_headers()[name]
    started = time.process_time()
    _heavy(data)
    # the old estimate (Pillow's whole header parse) took 0.4 to 1.5 s here
    assert time.process_time() - started < 0.1


@pytest.mark.parametrize("name", ["jpeg", "jpeg junk"])
def test_headers_too_long_to_read_go_to_the_heavy_lane(name):
    # no camera writes this; whatever its size, decoding it costs its budget
    assert _heavy(_endless_headers()[name])
