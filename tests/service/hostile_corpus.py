"""A hostile upload corpus, built at test time: broken, lying and pathological media.

Every generator is seeded, so a failure names a file that the next run builds
byte for byte again. Generated bases are small (a few hundred pixels) so the
files that still decode cost little; what makes a file expensive here is what
it claims, not its honest size.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

PNG_SIG = b"\x89PNG\r\n\x1a\n"

# MP4 boxes that hold other boxes (the ones encode_frames writes)
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}


# ---- bases ----------------------------------------------------------------


def _rgb(name: str, size: tuple[int, int]) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.asarray(Image.fromarray(image[..., :3]).resize(size))


def _save(rgb: np.ndarray, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(rgb)
    if fmt == "GIF":
        image = image.quantize(64)
    image.save(buf, fmt, **options)
    return buf.getvalue()


def _mp4() -> bytes:
    from service.media_encode import encode_frames

    rgb = _rgb("astronaut", (128, 96))
    # a moving picture (two seconds at 12 fps) so the decoder sees P-frames too
    frames = [np.roll(rgb, 4 * i, axis=1) for i in range(24)]
    return encode_frames(frames, fps=12)


@cache
def bases() -> dict[str, bytes]:
    """One small valid file per format, made from images that ship with scikit-image."""
    return {
        "astronaut.jpg": _save(_rgb("astronaut", (256, 256)), "JPEG", quality=90),
        "chelsea.png": _save(_rgb("chelsea", (256, 192)), "PNG"),
        "coffee.webp": _save(_rgb("coffee", (240, 160)), "WEBP", quality=80),
        "camera.gif": _save(_rgb("camera", (200, 200)), "GIF"),
        "rocket.tiff": _save(_rgb("rocket", (212, 140)), "TIFF", compression="tiff_lzw"),
        "astronaut.mp4": _mp4(),
    }


# ---- structure ------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, offset of the 0xFF, offset past the segment) up to and including SOS."""
    out = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        out.append((marker, pos, pos + 2 + length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


def mp4_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple]:
    """(type, offset, size) of every box, depth first, through the usual containers."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1 and pos + 16 <= end:  # a 64-bit size follows the type
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:  # the box runs to the end of the file
            size = end - pos
        if size < 8:
            return
        yield kind, pos, size
        if kind in _CONTAINERS:
            yield from mp4_boxes(data, pos + 8, pos + size)
        pos += size


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _ihdr(width: int, height: int, depth: int, colour: int) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))


def _header_end(name: str, data: bytes) -> int:
    """Where the headers stop and the coded picture begins (roughly, per format)."""
    if name.endswith(".jpg"):
        return jpeg_segments(data)[-1][2]
    if name.endswith(".png"):
        return 8 + 25  # signature and IHDR
    if name.endswith(".mp4"):
        return next(off + 16 for kind, off, _ in mp4_boxes(data) if kind == b"mdat")
    return 64


# ---- variants of one valid file --------------------------------------------


def _flip(data: bytes, positions) -> bytes:
    out = bytearray(data)
    rng = np.random.default_rng(len(data))
    for pos in positions:
        out[int(pos)] ^= 1 << int(rng.integers(8))
    return bytes(out)


def variants(name: str, data: bytes, seed: int) -> Iterator[tuple[str, bytes]]:
    """Truncations, bit flips, zeroed ranges and bad tails of one valid file."""
    rng = np.random.default_rng(seed)
    n = len(data)
    head = _header_end(name, data)
    for label, cut in (
        ("header-only", head),
        ("quarter", n // 4),
        ("half", n // 2),
        ("nine-tenths", n * 9 // 10),
        ("one-short", n - 1),
    ):
        yield f"{name}.trunc-{label}", data[:cut]
    for i in range(3):
        yield f"{name}.flip-any-{i}", _flip(data, rng.integers(0, n, 16))
    for i in range(2):
        yield f"{name}.flip-header-{i}", _flip(data, rng.integers(2, head, 4))
    if name.endswith(".jpg"):
        # the tables and the frame header decide how much the decoder allocates
        for marker, start, stop in jpeg_segments(data):
            if marker in (0xC0, 0xC2, 0xC4, 0xDB, 0xDA):
                flips = rng.integers(start + 2, stop, 3)
                yield f"{name}.flip-ff{marker:02x}-at-{start}", _flip(data, flips)
    if name.endswith(".mp4"):
        for kind, off, size in mp4_boxes(data):
            if kind in (b"stsd", b"stsz", b"stco", b"stts", b"ctts"):
                flips = rng.integers(off, off + size, 4)
                yield f"{name}.flip-{kind.decode()}-at-{off}", _flip(data, flips)
    zeroed = bytearray(data)
    zeroed[n // 3 : n // 3 + max(1, n // 10)] = bytes(max(1, n // 10))
    yield f"{name}.zero-middle", bytes(zeroed)
    zeroed = bytearray(data)
    zeroed[12 : min(head, 12 + 256)] = bytes(len(zeroed[12 : min(head, 12 + 256)]))
    yield f"{name}.zero-header", bytes(zeroed)
    yield f"{name}.tail-duplicate", data + data[n // 2 :]
    yield f"{name}.tail-garbage", data + rng.integers(0, 256, 65536, dtype=np.uint8).tobytes()


# ---- files that lie ---------------------------------------------------------


def _png(width: int, height: int, depth: int, colour: int, idat: bytes, plte=b"") -> bytes:
    chunks = _ihdr(width, height, depth, colour)
    if plte:
        chunks += _chunk(b"PLTE", plte)
    return PNG_SIG + chunks + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def single_colour_png(width: int, height: int) -> bytes:
    """A one-bit palette PNG of one colour: kilobytes on the wire, width x height x 3 decoded."""
    row = b"\x00" + bytes((width + 7) // 8)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    return _png(width, height, 1, 3, b"".join(parts), plte=b"\xd0\x20\x20")


def _gif_huge_screen() -> bytes:
    # a 65535 x 65535 logical screen around one 1 x 1 image
    body = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return body + image + b"\x3b"


def _jpeg_with_size(jpeg: bytes, width: int, height: int, keep: int) -> bytes:
    """The JPEG with its SOF claiming width x height, cut `keep` bytes after the headers."""
    out = bytearray(jpeg)
    for marker, start, _stop in jpeg_segments(jpeg):
        if marker in (0xC0, 0xC2):
            out[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(out[: jpeg_segments(jpeg)[-1][2] + keep])


def _tiff_with_size(width: int, height: int) -> bytes:
    """An uncompressed RGB TIFF whose tags claim width x height over a 64-byte strip."""
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample (one value for all samples, as many writers do)
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 2),  # Photometric: RGB
        (273, 4, 1, 0),  # StripOffsets (patched below)
        (277, 3, 1, 3),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, 64),  # StripByteCounts: far fewer than claimed
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    strip = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = strip if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00" + bytes(64)


def _webp_canvas(side: int) -> bytes:
    """An animated WebP: a side x side canvas (VP8X) around one 4 x 4 frame (ANMF)."""
    small = _save(np.zeros((4, 4, 3), np.uint8), "WEBP", lossless=True)
    frame = small[12:]  # the VP8L chunk
    canvas = struct.pack("<I", side - 1)[:3] * 2
    vp8x = _riff_chunk(b"VP8X", b"\x02\x00\x00\x00" + canvas)  # flags: animation
    anim = _riff_chunk(b"ANIM", b"\x00\x00\x00\x00\x00\x00")
    three = struct.pack("<I", 3)[:3]
    header = b"\x00" * 6 + three + three + struct.pack("<I", 100)[:3] + b"\x00"
    anmf = _riff_chunk(b"ANMF", header + frame)
    body = b"WEBP" + vp8x + anim + anmf
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    pad = b"\x00" if len(payload) % 2 else b""
    return kind + struct.pack("<I", len(payload)) + payload + pad


def _mp4_patched(mp4: bytes, duration: bool = False, frames: bool = False) -> bytes:
    """The clip with its headers claiming an absurd duration and/or sample count."""
    out = bytearray(mp4)
    for kind, off, _size in mp4_boxes(mp4):
        body = off + 8
        if duration and kind in (b"mvhd", b"mdhd") and out[body] == 0:
            # version 0: flags, creation, modification, timescale, duration
            out[body + 12 : body + 20] = struct.pack(">II", 1, 0xFFFFFFFF)
        if duration and kind == b"tkhd" and out[body] == 0:
            out[body + 20 : body + 24] = struct.pack(">I", 0xFFFFFFFF)
        if frames and kind == b"stts":
            # the first entry's sample count: two billion frames
            out[body + 8 : body + 12] = struct.pack(">I", 0x7FFFFFFF)
        if frames and kind == b"stsz":
            out[body + 8 : body + 12] = struct.pack(">I", 0x7FFFFFFF)
    return bytes(out)


def _nested_boxes(depth: int, kind: bytes) -> bytes:
    inner = _box(b"free", b"")
    for _ in range(depth):
        inner = _box(kind, inner)
    return _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2") + inner


def _jpeg_nested_jumbf(jpeg: bytes, depth: int) -> bytes:
    """APP11 JUMBF segments holding `depth` nested superboxes (the C2PA parser's input)."""
    inner = b""
    for _ in range(depth):
        inner = struct.pack(">I4s", 8 + len(inner), b"jumb") + inner
    segments = b""
    step = 65000
    for seq, start in enumerate(range(0, len(inner), step), 1):
        piece = b"JP" + struct.pack(">HI", 0x0211, seq) + inner[start : start + step]
        segments += b"\xff\xeb" + struct.pack(">H", len(piece) + 2) + piece
    return jpeg[:2] + segments + jpeg[2:]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("payload.txt", "x" * 10000)
        archive.writestr("nested/evil.sh", "#!/bin/sh\necho hi\n")
    return buf.getvalue()


def liars() -> Iterator[tuple[str, bytes]]:
    """Tiny files, wrong magic, polyglots, decompression bombs, lying containers."""
    b = bases()
    jpeg, png, mp4 = b["astronaut.jpg"], b["chelsea.png"], b["astronaut.mp4"]
    # tiny
    yield "tiny-0", b""
    yield "tiny-1", b"\xff"
    yield "tiny-8-jpeg", b"\xff\xd8\xff\xe0\x00\x10JF"
    yield "tiny-8-png", PNG_SIG
    yield "tiny-8-gif", b"GIF89a\x01\x00"
    yield "tiny-8-tiff", b"II*\x00\x08\x00\x00\x00"
    yield "tiny-8-mp4", b"\x00\x00\x00\x08ftyp"
    yield "tiny-12-webp", b"RIFF\x04\x00\x00\x00WEBP"
    # wrong magic
    yield "magic-png-on-jpeg", PNG_SIG + jpeg[8:]
    yield "magic-png-before-jpeg", PNG_SIG + jpeg
    yield "magic-jpeg-on-png", b"\xff\xd8\xff" + png[3:]
    yield "magic-gif-on-jpeg", b"GIF89a" + jpeg[6:]
    yield "magic-tiff-on-jpeg", b"II*\x00" + jpeg[4:]
    yield "magic-webp-on-png", b"RIFF" + struct.pack("<I", len(png)) + b"WEBP" + png
    yield "magic-ftyp-on-png", _box(b"ftyp", b"isom\x00\x00\x02\x00") + png
    yield "magic-qt-on-jpeg", _box(b"ftyp", b"qt  \x00\x00\x02\x00") + jpeg
    yield "magic-heic-on-jpeg", _box(b"ftyp", b"heic\x00\x00\x00\x00") + jpeg
    # polyglots
    yield "polyglot-jpeg-zip", jpeg + _zip()
    yield "polyglot-png-zip", png + _zip()
    yield "polyglot-jpeg-in-mdat", _box(b"ftyp", b"isom\x00\x00\x02\x00") + _box(b"mdat", jpeg)
    yield "polyglot-jpeg-in-uuid", mp4[:32] + _box(b"uuid", bytes(16) + jpeg) + mp4[32:]
    yield "polyglot-mp4-after-jpeg", jpeg + mp4
    # decompression bombs
    yield "bomb-png-20000-single-colour", single_colour_png(20000, 20000)
    yield "bomb-png-7000-single-colour", single_colour_png(7000, 7000)
    yield "bomb-png-ihdr-huge", _png(1_000_000, 1_000_000, 8, 2, zlib.compress(bytes(1000)))
    yield "bomb-png-ihdr-6000-no-data", _png(6000, 6000, 8, 2, zlib.compress(bytes(1000)))
    yield "bomb-gif-huge-screen", _gif_huge_screen()
    yield "bomb-jpeg-sof-65000", _jpeg_with_size(jpeg, 65000, 65000, 200)
    yield "bomb-jpeg-sof-7000", _jpeg_with_size(jpeg, 7000, 7000, 200)
    yield "bomb-tiff-huge", _tiff_with_size(1_000_000, 1_000_000)
    yield "bomb-tiff-7000", _tiff_with_size(7000, 7000)
    yield "bomb-webp-huge-canvas", _webp_canvas(16384)
    yield "bomb-webp-7000-canvas", _webp_canvas(7000)
    # lying and deep containers
    yield "mp4-huge-duration", _mp4_patched(mp4, duration=True)
    yield "mp4-huge-frame-count", _mp4_patched(mp4, frames=True)
    yield "mp4-huge-duration-and-frames", _mp4_patched(mp4, duration=True, frames=True)
    yield "nested-moov-20000", _nested_boxes(20000, b"moov")
    yield "nested-trak-5000", _nested_boxes(5000, b"trak")
    yield "nested-jumbf-6000", _jpeg_nested_jumbf(jpeg, 6000)
    # headers that never end: a million empty segments or chunks before the picture
    yield "padded-jpeg-250k-comments", jpeg[:2] + b"\xff\xfe\x00\x02" * 250_000 + jpeg[2:]
    yield "padded-png-30k-chunks", png[:33] + _chunk(b"zzZz", b"") * 30_000 + png[33:]


def budget_breakers() -> Iterator[tuple[str, bytes]]:
    """Files whose honest decoding costs more than a small analysis budget (48 MB each)."""
    png = bases()["chelsea.png"]
    # four million empty chunks before the picture: tens of CPU seconds in the decoder
    yield "padded-png-4m-chunks", png[:33] + _chunk(b"zzZz", b"") * 4_000_000 + png[33:]


# ---- the corpus -------------------------------------------------------------


def fixture_files(folder: Path) -> list[tuple[str, bytes]]:
    """Every file of the C2PA fixture corpus, certificates and notes included."""
    return [
        (str(p.relative_to(folder)), p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def generated(fixtures: Path | None) -> list[tuple[str, bytes]]:
    out = list(liars())
    sources = dict(bases())
    if fixtures is not None:
        # signed files: the damage lands in C2PA manifests too
        for name in ("C.jpg", "sample1.png", "video1.mp4"):
            if (fixtures / name).is_file():
                sources[f"fixture-{name}"] = (fixtures / name).read_bytes()
    for seed, (name, data) in enumerate(sorted(sources.items())):
        out.extend(variants(name, data, seed))
    return out


def corpus(fixtures: Path | None) -> list[tuple[str, bytes]]:
    """The whole hostile corpus: the fixture files (when present) and the generated ones."""
    files = fixture_files(fixtures) if fixtures is not None else []
    return files + generated(fixtures) + list(budget_breakers())


def representative(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The first file named by each entry of REPRESENTATIVE (segment offsets vary by encoder)."""
    picked = []
    for wanted in REPRESENTATIVE:
        picked.append(next((n, d) for n, d in files if n == wanted or n.startswith(wanted + "-")))
    return picked


# a cross-section for the fast in-process run: one or two of each kind of trouble
REPRESENTATIVE = (
    "tiny-0",
    "tiny-1",
    "tiny-8-png",
    "tiny-8-mp4",
    "magic-png-on-jpeg",
    "magic-jpeg-on-png",
    "magic-ftyp-on-png",
    "polyglot-jpeg-zip",
    "polyglot-jpeg-in-mdat",
    "bomb-png-20000-single-colour",
    "bomb-png-ihdr-huge",
    "bomb-png-ihdr-6000-no-data",
    "bomb-gif-huge-screen",
    "bomb-jpeg-sof-65000",
    "bomb-tiff-huge",
    "bomb-webp-huge-canvas",
    "mp4-huge-duration",
    "mp4-huge-frame-count",
    "nested-moov-20000",
    "nested-jumbf-6000",
    "astronaut.jpg.trunc-header-only",
    "astronaut.jpg.trunc-half",
    "astronaut.jpg.flip-ffc0",
    "chelsea.png.trunc-one-short",
    "chelsea.png.flip-header-0",
    "coffee.webp.trunc-half",
    "camera.gif.zero-header",
    "rocket.tiff.trunc-quarter",
    "astronaut.mp4.trunc-header-only",
    "astronaut.mp4.flip-stsz",
    "astronaut.mp4.tail-garbage",
)
