"""The watermark package's exception family: every bad input gets one of these."""

from __future__ import annotations


class WatermarkError(ValueError):
    """Base class: the input cannot be watermarked or read as given."""


class BadPayload(WatermarkError):
    """The payload is not exactly 8 bytes (64 bits)."""


class BadKey(WatermarkError):
    """The key is not bytes, or too short to be a secret."""


class BadImage(WatermarkError):
    """Not an H x W x 3 uint8 RGB array (or a sequence of them)."""


class ImageTooSmall(BadImage):
    """Smaller than 256 x 256: too few tiles to embed or find the mark."""
