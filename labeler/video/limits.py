"""What an operator allows one video upload to cost."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class VideoLimits:
    """What an operator allows one upload to cost (set by AIGC_VIDEO_*: labeler/config.py)."""

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
