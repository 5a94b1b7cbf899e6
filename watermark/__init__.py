"""Floor 1: the invisible watermark (plain values in, frozen dataclasses out).

`embed(rgb, payload, key)` marks an H x W x 3 uint8 RGB image with 8 bytes;
`detect(rgb, key)` says whether the key's mark is there, with a p-value whose
bound holds for any unmarked image. Design and derivation: README.md.
"""

from .detect import Detection, detect, detect_frames, detect_keys
from .embed import embed, embed_frames
from .errors import BadImage, BadKey, BadPayload, ImageTooSmall, WatermarkError
from .image import MIN_SIDE
from .pattern import check_key
from .stats import FALSE_POSITIVE_RATE

__all__ = [
    "FALSE_POSITIVE_RATE",
    "MIN_SIDE",
    "BadImage",
    "BadKey",
    "BadPayload",
    "Detection",
    "ImageTooSmall",
    "WatermarkError",
    "check_key",
    "detect",
    "detect_frames",
    "detect_keys",
    "embed",
    "embed_frames",
]
