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


# ---------------------------------------------------------------- probe


def _flat_jpeg(width: int, height: int, quality: int = 90) -> bytes:
    # a single colour compresses to almost nothing: a cheap "huge" upload
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_probe_reads_the_header_only():
    from labeler import Probe, probe

    data = _encode("PNG", size=(640, 480))
    found = probe(data)
    assert isinstance(found, Probe)
    assert (found.mime, found.kind, found.width, found.height) == ("image/png", "image", 640, 480)
    assert found.frames == 1 and found.samples == 1 and found.duration_s is None
    assert 0 < found.cost < Limits().heavy_cost and not found.heavy
    # the header is enough: pixels cut away do not matter until decoding
    jpeg = _encode("JPEG", size=(512, 512))
    cut = jpeg[: len(jpeg) // 3]
    assert probe(cut).width == 512
    with pytest.raises(MediaDecodeError):
        decode(cut)


def test_probe_raises_the_typed_errors():
    from labeler import probe

    with pytest.raises(UnsupportedMedia):
        probe(b"")
    with pytest.raises(UnsupportedMedia):
        probe(b"%PDF-1.7 not an image")
    with pytest.raises(MediaTooLarge, match="100000 x 100000 pixels is more than the limit"):
        probe(_png_header_only(100_000, 100_000))
    with pytest.raises(MediaDecodeError):
        probe(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)


def test_cost_over_the_budget_is_refused_before_decoding(monkeypatch):
    from labeler import MediaOverBudget, probe

    data = _encode("PNG", size=(2000, 2000))
    cost = probe(data).cost
    with pytest.raises(MediaOverBudget) as refused:
        decode(data, limits=Limits(max_cost=cost - 1))
    assert isinstance(refused.value, MediaTooLarge)  # the service maps it like one
    assert refused.value.cost == cost and "limit" in str(refused.value)
    monkeypatch.setenv("AIGC_MAX_COST", str(cost - 1))
    with pytest.raises(MediaOverBudget):
        probe(data)
    monkeypatch.setenv("AIGC_HEAVY_COST", str(cost))
    monkeypatch.setenv("AIGC_MAX_COST", str(cost * 2))
    assert probe(data).heavy


def test_pixel_limit_above_pillows_own_is_honoured(monkeypatch):
    # 9500 x 9500 = 90.25 MP, above Pillow's default 89.5 MP bomb limit
    data = _flat_jpeg(9500, 9500)
    assert Image.MAX_IMAGE_PIXELS is None or 9500 * 9500 > 89_478_485
    with pytest.raises(MediaTooLarge) as refused:
        decode(data)  # the default limit is ours (50 MP), in our words
    message = str(refused.value)
    assert "50000000" in message and "89478485" not in message and "0x" not in message
    monkeypatch.setenv("AIGC_MAX_PIXELS", "100000000")
    media = decode(data)
    assert (media.width, media.height) == (9500, 9500)
    assert max(media.frames[0].shape[:2]) < 2048  # decoded at 1/8 scale


def test_error_messages_name_no_objects():
    garbage = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    for data in (garbage, _png_header_only(64, 64)[:40] + b"\x00" * 30):
        with pytest.raises((MediaDecodeError, UnsupportedMedia)) as failed:
            decode(data)
        assert " at 0x" not in str(failed.value) and "BytesIO" not in str(failed.value)


# ---------------------------------------------------------------- reduced decoding


def test_large_images_decode_at_reduced_scale_and_keep_their_size():
    media = decode(_flat_jpeg(7000, 7000))
    assert media.frames[0].shape == (875, 875, 3)  # 1/8: the smallest scale >= 640
    assert media.summary()["width"] == 7000 and media.summary()["height"] == 7000
    assert np.abs(media.frames[0].astype(int) - (90, 120, 200)).max() <= 3
    png = decode(_encode("PNG", size=(3000, 2000)))
    assert png.frames[0].shape == (500, 750, 3) and (png.width, png.height) == (3000, 2000)
    # under twice the working size nothing changes
    assert decode(_encode("JPEG", size=(1200, 800))).frames[0].shape == (800, 1200, 3)
    # a 2 MP photo at half size
    assert decode(_encode("JPEG", size=(1920, 1080))).frames[0].shape == (540, 960, 3)
    # a panorama keeps enough rows for the watermark (short side >= 320)
    assert decode(_encode("PNG", size=(8000, 600))).frames[0].shape == (600, 8000, 3)


def test_exif_orientation_is_applied_after_the_reduction():
    from PIL import ImageOps

    img = Image.new("RGB", (4096, 2048), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 2048, 2048))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    media = decode(buf.getvalue())
    assert (media.width, media.height) == (2048, 4096)  # display orientation, full size
    rgb = media.frames[0]
    assert rgb.shape == (1024, 512, 3)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))))
    assert rgb[:400].mean() > 200 and rgb[-400:].mean() < 50  # white half on top
    assert upright[:1600].mean() > 200  # the same way up as Pillow's own transpose


PEAK_SCRIPT = """
import re, sys
import numpy, labeler.media  # imported before the baseline

def peak_kb():
    # VmHWM is this process's own high-water mark; ru_maxrss would start at
    # the parent's (Linux carries it over exec)
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))

data = open(sys.argv[1], "rb").read()
base = peak_kb()
labeler.media.decode(data)
print((peak_kb() - base) // 1024)
"""


def test_peak_memory_follows_the_working_size_not_the_declared_pixels(tmp_path):
    # native allocations (libjpeg, numpy) are invisible to tracemalloc: a child
    # process, whose peak before decoding is its imports (the file is made here)
    import subprocess
    import sys

    path = tmp_path / "flat.jpg"
    path.write_bytes(_flat_jpeg(7000, 7000))
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    grown_mb = int(out.stdout.strip())
    # one full-size RGB copy is 147 MB; the full-size decode grew by ~470 MB, this one ~40
    assert grown_mb < 100, grown_mb
