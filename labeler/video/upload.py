"""A video upload as the rest of the labeler sees it: its Probe (cost) and its Media."""

from __future__ import annotations

from ..decoded import Media
from ..limits import SAMPLE_COST, Limits, Probe, VideoLimits, video_limits, within_budget
from .container import plan_video, sequential_frames
from .decode import decode_video


def _video_limits(limits: Limits) -> VideoLimits:
    """The sampling and duration limits: the engine's, else the environment's as it is now."""
    if limits.video is not None:
        return limits.video
    from ..config import EngineConfig

    return video_limits(EngineConfig.from_env())


def probe_video_upload(data: bytes, mime: str, limits: Limits) -> Probe:
    video = _video_limits(limits)
    header, plan = plan_video(data, video, max_pixels=limits.max_pixels)
    if plan is not None:
        frames = plan.frames
        duration = plan.duration_s
        extras = sum(1 for v in plan.visits if not v.on_clock and not v.walk)
        samples = min(video.max_samples, plan.rate.ticks + min(plan.rate.cut_budget, extras))
    else:  # decoded in sequence: every frame the header promises
        frames = sequential_frames(header, video)
        duration = header.duration_s
        samples = video.max_samples
    decoded = frames * header.width * header.height / 1e6
    cost = round(decoded + samples * SAMPLE_COST, 3)
    result = Probe(
        mime,
        "video",
        header.width,
        header.height,
        frames,
        duration,
        samples,
        cost,
        cost >= limits.heavy_cost,
    )
    return within_budget(result, limits)


def decode_video_upload(data: bytes, mime: str, digest: str, limits: Limits) -> Media:
    # sampled frames only (labeler/video/decode.py); the pixel limit is `limits`'
    video = decode_video(data, _video_limits(limits), max_pixels=limits.max_pixels)
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
