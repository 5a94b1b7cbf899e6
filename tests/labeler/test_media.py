import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from labeler.errors import MediaDecodeError, MediaTooLarge, UnsupportedMedia
from labeler.media import Limits, decode, sniff_mime


def _encode(fmt: str, size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    "fmt,mime",
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("TIFF", "image/tiff"),
    ],
)
def test_sniffs_and_decodes_by_content(fmt, mime):
    data = _encode(fmt)
    assert sniff_mime(data) == mime
    media = decode(data, filename="misleading-name.txt")
    assert media.mime == mime
    assert media.kind == "image"
    assert (media.width, media.height) == (64, 48)
    frame = media.frames[0]
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert frame[10, 10, 0] > 150  # red survived the decode


def test_name_does_not_decide_the_type():
    with pytest.raises(UnsupportedMedia, match="not a supported"):
        decode(b"%PDF-1.7 definitely not an image", filename="photo.jpg")


def test_empty_file():
    with pytest.raises(UnsupportedMedia, match="empty"):
        decode(b"")


def test_byte_limit():
    with pytest.raises(MediaTooLarge):
        decode(_encode("PNG"), limits=Limits(max_bytes=10))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: a decompression bomb's header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_pixel_bomb_rejected_before_decoding():
    with pytest.raises(MediaTooLarge, match="pixels"):
        decode(_png_header_only(100_000, 100_000))


def test_truncated_image_is_a_decode_error():
    data = _encode("JPEG", size=(256, 256))
    with pytest.raises(MediaDecodeError):
        decode(data[: len(data) // 3])


def test_sha256_is_of_the_bytes():
    import hashlib

    data = _encode("PNG")
    assert decode(data).sha256 == hashlib.sha256(data).hexdigest()
