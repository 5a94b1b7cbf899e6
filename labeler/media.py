"""Sniff, probe and decode an upload once; every signal reads the decoded frames.

The type comes from the bytes, never from the file name: an uploader chooses
the name. `probe` reads the header alone (and a video's sample index) and
says what decoding will cost before any pixel is decoded, so a decompression
bomb, a frame-count bomb or a video whose keyframes are too sparse to sample
cheaply is refused with a typed error for the price of reading its header.

Images above the working resolution are decoded at reduced scale:
JPEGs through libjpeg's DCT scaling (Pillow's `draft`), other formats by an
integer box reduction right after decoding. No signal looks closer than
WORK_SIDE: the watermark is detected at a 512 px reference (watermark/image.py),
PDQ, pHash and ORB work at 640 px (matching/hashing.py, matching/features.py)
and PDQ itself reduces to 64 x 64; video frames are handed over at 1024
(labeler/video/). An image is reduced only by a power of two that leaves
its long side at WORK_SIDE or more (so a 2 MP photo is decoded at half
size, a 12 MP one at a quarter, an image under 1280 px as it is) and its
short side at MIN_SHORT_SIDE or more (panoramas keep the watermark's 256 px
minimum with room to spare). Every later step (the copies, the colour
conversion, each signal's own downscaling) then runs on the reduced image.
The `Media` keeps the upload's own width and height.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
import warnings

import numpy as np
from PIL import (  # the plugins of IMAGE_MIMES, registered on import (no Image.init)
    GifImagePlugin,  # noqa: F401
    Image,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    WebPImagePlugin,  # noqa: F401
)

from provenance.formats import sniff as sniff_container

from .decoded import Media
from .errors import MediaDecodeError, MediaTooLarge, UnsupportedMedia
from .limits import (  # noqa: F401  (the decoding API's names, as importers know them)
    HEAVY_COST,
    MAX_COST,
    MAX_PIXELS,
    SAMPLE_COST,
    Limits,
    Probe,
    VideoLimits,
    within_budget,
)

WORK_SIDE = 640
MIN_SHORT_SIDE = 320

IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff")
VIDEO_MIMES = ("video/mp4", "video/quicktime")
_PIL_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/tiff": "TIFF",
}


def sniff_mime(data: bytes) -> str | None:
    """The media type from the leading bytes, or None if it is not one we decode.

    The container sniffing is provenance's (C2PA reads the same containers);
    HEIF/AVIF stills carry credentials but are not decoded yet.
    """
    mime = sniff_container(data)
    return mime if mime in IMAGE_MIMES + VIDEO_MIMES else None


def probe(data: bytes, filename: str | None = None, limits: Limits | None = None) -> Probe:
    """The type, size and estimated cost of an upload, without decoding a pixel.

    Bounded work on any bytes (a few ms: an image's header, a video's header
    and sample index). Raises UnsupportedMedia (not a type we decode),
    MediaTooLarge (bytes, pixels, duration or frame rate over the limits),
    MediaOverBudget (a MediaTooLarge: the cost is over Limits.max_cost) or
    MediaDecodeError (a header that does not parse). `decode` raises the same
    errors for the same bytes.
    """
    limits = limits or Limits()
    mime = _check(data, filename, limits)
    if mime in VIDEO_MIMES:
        from .video.upload import probe_video_upload  # PyAV's ~0.1 s import only for videos

        return probe_video_upload(data, mime, limits)
    with _open_image(data, mime, limits) as image:
        return _image_probe(image, mime, limits)


def decode(data: bytes, filename: str | None = None, limits: Limits | None = None) -> Media:
    limits = limits or Limits()
    mime = _check(data, filename, limits)
    digest = hashlib.sha256(data).hexdigest()
    if mime in VIDEO_MIMES:
        from .video.upload import decode_video_upload, probe_video_upload

        probe_video_upload(data, mime, limits)  # refuses an over-budget plan before decoding
        return decode_video_upload(data, mime, digest, limits)
    return _decode_image(data, mime, digest, limits)


def _check(data: bytes, filename: str | None, limits: Limits) -> str:
    if not data:
        raise UnsupportedMedia("the file is empty")
    if len(data) > limits.max_bytes:
        raise MediaTooLarge(f"{len(data)} bytes is more than the limit of {limits.max_bytes}")
    mime = sniff_mime(data)
    if mime is None:
        what = f" ({filename})" if filename else ""
        raise UnsupportedMedia(
            f"not a supported image or video{what}: expected JPEG, PNG, WebP, GIF, TIFF, MP4 or MOV"
        )
    return mime


# ---------------------------------------------------------------- images

# Pillow's own bomb check reads one process-wide number, Image.MAX_IMAGE_PIXELS.
# Our limit is checked from the header first; Pillow's is only ever raised
# (never lowered, under a lock) to at least the largest limit in use, so it
# never refuses what our limit allows and no thread sees another's value shrink.
_pillow_lock = threading.Lock()
_ADDRESS = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


def _allow_in_pillow(pixels: int) -> None:
    with _pillow_lock:
        current = Image.MAX_IMAGE_PIXELS
        if current is not None and current < pixels:
            Image.MAX_IMAGE_PIXELS = pixels


def _reason(exc: BaseException) -> str:
    # Pillow names the file object it read from; an upload has no name worth showing
    text = _ADDRESS.sub("the upload", str(exc)).strip()
    return text or type(exc).__name__


class _Opened:
    """The header-parsed image (no pixel decoded), closed on exit."""

    def __init__(self, image: Image.Image):
        self.image = image

    def __enter__(self) -> Image.Image:
        return self.image

    def __exit__(self, *exc) -> None:
        self.image.close()


def _open_image(data: bytes, mime: str, limits: Limits) -> _Opened:
    _allow_in_pillow(limits.max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # the plugin for the sniffed type, called directly: Image.open
            # would guess the type again and apply Pillow's limit, not ours
            factory, accept = Image.OPEN[_PIL_FORMATS[mime]]
            if accept is not None and not accept(data[:16]):
                raise MediaDecodeError(f"not a valid {mime} header")
            image = factory(io.BytesIO(data), None)
    except MediaDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaTooLarge(
            f"the image is larger than the limit of {limits.max_pixels} pixels"
        ) from exc
    except Exception as exc:  # Pillow raises many types for hostile headers
        raise MediaDecodeError(f"could not read the {mime} header: {_reason(exc)}") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise MediaDecodeError(f"the {mime} header declares no picture size")
    if width * height > limits.max_pixels:
        image.close()
        raise MediaTooLarge(
            f"{width} x {height} pixels is more than the limit of {limits.max_pixels}"
        )
    return _Opened(image)


def _reduction(width: int, height: int) -> int:
    """The power of two to divide the size by: long side >= WORK_SIDE, short >= MIN_SHORT_SIDE."""
    room = min(max(width, height) / WORK_SIDE, min(width, height) / MIN_SHORT_SIDE)
    if room < 2:
        return 1
    return 2 ** int(math.floor(math.log2(room)))


def _image_probe(image: Image.Image, mime: str, limits: Limits) -> Probe:
    return probe_image_size(mime, *image.size, limits)


def probe_image_size(mime: str, width: int, height: int, limits: Limits | None = None) -> Probe:
    """The probe of an image whose header (read by the caller) declares this size.

    For a caller that reads the size with a parser of its own, bounded where
    Pillow's is not; the same limits and cost as `probe`.
    """
    limits = limits or Limits()
    if width <= 0 or height <= 0:
        raise MediaDecodeError(f"the {mime} header declares no picture size")
    if width * height > limits.max_pixels:
        raise MediaTooLarge(
            f"{width} x {height} pixels is more than the limit of {limits.max_pixels}"
        )
    factor = _reduction(width, height)
    # a JPEG is decoded at the reduced scale (up to 1/8); others in full, then reduced
    scale = min(factor, 8) if mime == "image/jpeg" else 1
    decoded = math.ceil(width / scale) * math.ceil(height / scale) / 1e6
    cost = round(decoded + SAMPLE_COST, 3)
    result = Probe(
        mime, "image", width, height, 1, None, 1, cost, cost >= limits.heavy_cost, factor
    )
    return within_budget(result, limits)


# EXIF orientation -> the transposition that shows the picture upright
# (the table of ImageOps.exif_transpose, applied after reducing, not before)
_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _decode_image(data: bytes, mime: str, digest: str, limits: Limits) -> Media:
    with _open_image(data, mime, limits) as image:
        info = _image_probe(image, mime, limits)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                rgb, orientation = _pixels(image, info.reduction)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaTooLarge(
                f"the image is larger than the limit of {limits.max_pixels} pixels"
            ) from exc
        except MemoryError:
            raise  # the analysis process's memory ceiling: the caller reports it
        except Exception as exc:  # Pillow raises many types for hostile files
            raise MediaDecodeError(f"could not decode the {mime} image: {_reason(exc)}") from exc
    width, height = info.width, info.height
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return Media(data, mime, "image", digest, width, height, (rgb,))


def _pixels(image: Image.Image, factor: int) -> tuple[np.ndarray, int]:
    # read before loading: some plugins rewrite their EXIF on load
    orientation = image.getexif().get(0x0112, 1) if image.format != "PNG" else None
    width = image.size[0]
    if factor > 1:
        # JPEG: libjpeg's DCT scaling, the IDCT and colour conversion run at
        # 1/2-1/8 size; the other plugins ignore a draft request
        image.draft(None, (max(1, width // factor), max(1, image.size[1] // factor)))
    image.load()
    if orientation is None:  # PNG's eXIf chunk may follow the pixels
        orientation = image.getexif().get(0x0112, 1)
    left = max(1, round(image.size[0] * factor / width))  # what the draft left to do
    if left > 1 and image.mode in ("RGB", "RGBA", "L", "LA"):
        image = image.reduce(left)  # shrink first: one full-size copy fewer
        left = 1
    # convert() to the mode an image already has is a copy of all its pixels
    rgb_image = image if image.mode == "RGB" else image.convert("RGB")
    if left > 1:
        rgb_image = rgb_image.reduce(left)
    if orientation in _ORIENT:
        rgb_image = rgb_image.transpose(_ORIENT[orientation])
    return np.ascontiguousarray(np.asarray(rgb_image)), orientation
