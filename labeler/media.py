"""Sniff and decode an upload once; every signal reads the decoded frames.

The type comes from the bytes, never from the file name: an uploader chooses
the name. Pixel limits are checked from the header before any pixel is
decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

from provenance.formats import sniff as sniff_container

from .errors import MediaDecodeError, MediaTooLarge, UnsupportedMedia

MAX_PIXELS = 50_000_000  # per frame; operators change it through Limits

IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff")
VIDEO_MIMES = ("video/mp4", "video/quicktime")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200 * 1024 * 1024
    max_pixels: int = MAX_PIXELS


@dataclass(frozen=True)
class Media:
    data: bytes
    mime: str
    kind: str  # "image" | "video"
    sha256: str
    width: int
    height: int
    # RGB uint8 H x W x 3 frames: one for an image, sampled frames for a video
    frames: tuple[np.ndarray, ...] = field(repr=False, default=())
    # for a video: each sampled frame's time in seconds (empty for an image)
    times: tuple[float, ...] = ()
    # for a video: indices of the sampled frames that are keyframes (intra-coded)
    key_frames: tuple[int, ...] = ()

    def summary(self) -> dict:
        return {
            "mime": self.mime,
            "kind": self.kind,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
        }


def sniff_mime(data: bytes) -> str | None:
    """The media type from the leading bytes, or None if it is not one we decode.

    The container sniffing is provenance's (C2PA reads the same containers);
    HEIF/AVIF stills carry credentials but are not decoded yet.
    """
    mime = sniff_container(data)
    return mime if mime in IMAGE_MIMES + VIDEO_MIMES else None


def decode(data: bytes, filename: str | None = None, limits: Limits | None = None) -> Media:
    limits = limits or Limits()
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
    digest = hashlib.sha256(data).hexdigest()
    if mime in VIDEO_MIMES:
        return _decode_video(data, mime, digest, limits)
    return _decode_image(data, mime, digest, limits)


def _decode_image(data: bytes, mime: str, digest: str, limits: Limits) -> Media:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise MediaTooLarge(
                    f"{width} x {height} pixels is more than the limit of {limits.max_pixels}"
                )
            image = ImageOps.exif_transpose(image)
            rgb = np.asarray(image.convert("RGB"))
    except (MediaTooLarge, UnsupportedMedia, MemoryError):  # memory: the caller's ceiling
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaTooLarge(str(exc)) from exc
    except Exception as exc:  # Pillow raises many types for hostile files
        raise MediaDecodeError(f"could not decode the {mime} image: {exc}") from exc
    height, width = rgb.shape[:2]
    return Media(data, mime, "image", digest, width, height, (np.ascontiguousarray(rgb),))


def _decode_video(data: bytes, mime: str, digest: str, limits: Limits) -> Media:
    # Sampled frames only (labeler/video.py); sampling and duration limits
    # come from the AIGC_VIDEO_* environment, the pixel limit from `limits`.
    # Imported here so image-only work does not pay PyAV's ~0.1 s import.
    from .video import VideoLimits, decode_video

    video = decode_video(data, VideoLimits.from_env(), max_pixels=limits.max_pixels)
    return Media(
        data,
        mime,
        "video",
        digest,
        video.width,
        video.height,
        video.frames,
        video.timestamps,
        video.key_frames,
    )
