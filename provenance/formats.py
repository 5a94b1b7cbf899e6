"""Which containers we read credentials from, sniffed from the leading bytes.

The MIME type a caller passes is a hint from an uploader; the container is
decided by the bytes so a renamed file cannot steer the SDK into another parser.
"""

from __future__ import annotations

from .errors import UnsupportedFormat

# The product handles still images and video; audio (WAV/MP3), PDF and fonts that
# c2pa-rs could also read are out of scope and rejected up front.
SUPPORTED = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/tiff",
    "image/heic",
    "image/avif",
    "video/mp4",
    "video/quicktime",
)


def sniff(data: bytes) -> str | None:
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"avif", b"avis"):
            return "image/avif"
        return "video/mp4"
    return None


def container_of(data: bytes, mime: str | None) -> str:
    """The MIME type to hand to the SDK, or UnsupportedFormat with a clear reason."""
    if not data:
        raise UnsupportedFormat("the file is empty")
    sniffed = sniff(data)
    if sniffed is None:
        claimed = f" (declared {mime})" if mime else ""
        raise UnsupportedFormat(
            f"not a supported image or video container{claimed}: expected one of "
            + ", ".join(SUPPORTED)
        )
    return sniffed
