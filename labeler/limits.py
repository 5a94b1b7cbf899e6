"""What an upload may cost, and what it will: the limits decoding works under.

Costs are estimated from the header alone (`labeler.media.probe` makes the
`Probe`), so an upload over its budget is refused before a pixel is decoded.
Unset limits come from the environment through the one EngineConfig; the
config itself knows nothing of these classes (it is read by them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError, MediaOverBudget

MAX_PIXELS = 50_000_000  # per frame; operators change it through Limits or AIGC_MAX_PIXELS
# the estimated cost (decoded megapixels, see Probe.cost) above which an
# upload is refused, and above which it is "heavy"
MAX_COST = 10_000.0
HEAVY_COST = 100.0
# the signals' work on one frame handed to them (~20 ms: watermark
# luminance and whitening, PDQ and ORB at 640 px) counted as the megapixels
# of H.264 that take as long to decode (~2 ms per megapixel on one core)
SAMPLE_COST = 10.0

# fields of VideoLimits set by the AIGC_VIDEO_* variables
_VIDEO_FIELDS = {
    "video_max_seconds": "max_duration_s",
    "video_sample_fps": "sample_fps",
    "video_max_frames": "max_samples",
    "video_min_frames": "min_samples",
    "video_max_side": "max_side",
    "video_decode_timeout": "max_decode_s",
}


@dataclass(frozen=True)
class VideoLimits:
    """What an operator allows one video upload to cost (AIGC_VIDEO_*: `video_limits`)."""

    # longer videos are refused rather than scanned in part: a fake could
    # otherwise hide after the limit
    max_duration_s: float = 900.0
    sample_fps: float = 1.0
    # sampled frames kept in memory; long videos are sampled more sparsely
    # so that samples still cover the whole video
    max_samples: int = 120
    # short clips are sampled faster, up to this many frames: evidence pooled
    # over frames (the watermark) needs a few, and short clips are cheap
    min_samples: int = 16
    # sampled frames are scaled down to this long side: 120 frames stay near
    # 200 MB, and no signal looks closer (PDQ hashes at 512, the watermark
    # detector works at 512; both must survive a 480p re-share anyway)
    max_side: int = 1024
    # wall-clock bound on decoding one upload
    max_decode_s: float = 60.0
    # no real camera exceeds this; a file that claims more is hostile
    max_frame_rate: float = 240.0
    # mean absolute difference (0..1) of 32 x 32 grey thumbnails that counts as a cut
    scene_threshold: float = 0.15
    # a cut closer than this to the previous sample adds no sample
    min_scene_gap_s: float = 0.4
    # decode the frames nothing refers to as well (dense bank references, where
    # a sample should land on its tick rather than on the next reference frame)
    every_frame: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"VideoLimits.{f.name} must be a positive number, not {value!r}")


def video_limits(config) -> VideoLimits:
    """The VideoLimits an EngineConfig sets (its AIGC_VIDEO_* values over the defaults)."""
    set_here = {
        target: getattr(config, name)
        for name, target in _VIDEO_FIELDS.items()
        if getattr(config, name) is not None
    }
    try:
        return VideoLimits(**set_here)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _from_env(name: str):
    def read():
        from .config import EngineConfig

        return getattr(EngineConfig.from_env(), name)

    return read


@dataclass(frozen=True)
class Limits:
    """What one upload may be and cost; unset fields come from the environment (EngineConfig)."""

    max_bytes: int = 200 * 1024 * 1024
    # AIGC_MAX_PIXELS: per frame, as declared by the header (before any reduction)
    max_pixels: int = field(default_factory=_from_env("max_pixels"))
    # AIGC_MAX_COST: estimated decoded megapixels (Probe.cost) allowed per upload
    max_cost: float = field(default_factory=_from_env("max_cost"))
    # AIGC_HEAVY_COST: Probe.heavy above this cost
    heavy_cost: float = field(default_factory=_from_env("heavy_cost"))
    # a video's sampling and duration limits (VideoLimits, AIGC_VIDEO_*);
    # None: read from the environment when a video is probed or decoded
    video: Any = None

    @classmethod
    def from_config(cls, config) -> Limits:
        """The limits an EngineConfig sets (its video limits included)."""
        return cls(
            max_pixels=config.max_pixels,
            max_cost=config.max_cost,
            heavy_cost=config.heavy_cost,
            video=video_limits(config),
        )


@dataclass(frozen=True)
class Probe:
    """What decoding an upload will cost, from its header (and a video's index) alone."""

    mime: str
    kind: str  # "image" | "video"
    # as stored (EXIF orientation or a video's display matrix may swap them on decode)
    width: int
    height: int
    # frames the decoder will decode (an estimate from above for a video: frames
    # nothing refers to are skipped); 1 for an image
    frames: int
    duration_s: float | None  # None for an image
    # frames handed to the signals (for a video: clock ticks plus the extras
    # its keyframes may add)
    samples: int
    # decoded megapixels (at the scale decoding will use) plus SAMPLE_COST per
    # sample: comparable between images and videos, roughly 2 ms of one core each
    cost: float
    # should not share a lane with cheap images (cost >= Limits.heavy_cost)
    heavy: bool
    # the long side images are decoded at is this much smaller (1 = full size)
    reduction: int = 1


def within_budget(result: Probe, limits: Limits) -> Probe:
    if result.cost > limits.max_cost:
        raise MediaOverBudget(
            f"decoding this {result.kind} would cost about {result.cost:,.0f} megapixels, "
            f"more than the limit of {limits.max_cost:,.0f}",
            cost=result.cost,
            budget=limits.max_cost,
        )
    return result
