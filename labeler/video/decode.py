"""Sampling a video's frames: the clock, keyframes and scene cuts (contract in __init__)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import av
import numpy as np

from ..errors import MediaDecodeError, MediaTooLarge, UnsupportedMedia
from ..limits import VideoLimits
from .container import (
    VideoProbe,
    decoded_frames,
    ffmpeg_reason,
    open_container,
    read_header,
    sampling_plan,
    scaled_size,
    turn,
)
from .plan import Plan, Visit, sampling_rate


@dataclass(frozen=True)
class DecodedVideo:
    probe: VideoProbe
    # RGB uint8 H x W x 3 sampled frames, display orientation, long side <= max_side
    frames: tuple[np.ndarray, ...] = field(repr=False)
    # presentation time of each sampled frame, seconds from the first frame
    timestamps: tuple[float, ...]
    # which sampled frames were taken because a scene cut preceded them
    scene_cuts: tuple[int, ...]
    # which sampled frames are keyframes (intra-coded)
    key_frames: tuple[int, ...]
    frames_decoded: int
    # decoded stream length (the last frame's time), not the declared one
    duration_s: float
    # True when sampling stopped at max_samples before the end
    truncated: bool = False

    @property
    def width(self) -> int:
        return self.probe.width

    @property
    def height(self) -> int:
        return self.probe.height


# how far before a clock tick a keyframe may stand in for it
_EARLY_S = 0.5


def _thumb(frame) -> np.ndarray:
    grey = frame.reformat(width=32, height=32, format="gray", interpolation="AREA")
    return grey.to_ndarray().astype(np.float32) / 255.0


@dataclass(frozen=True)
class Sample:
    time_s: float
    rgb: np.ndarray = field(repr=False)
    # taken because a scene cut preceded it, not by the clock
    cut: bool = False
    # an intra-coded frame (see _sample)
    key_frame: bool = False


@dataclass
class SampleStats:
    """Filled in while `iter_samples` runs; complete once it is exhausted."""

    probe: VideoProbe | None = None
    frames_decoded: int = 0
    duration_s: float = 0.0
    truncated: bool = False


def decode_video(
    data: bytes,
    limits: VideoLimits | None = None,
    max_pixels: int = 50_000_000,
) -> DecodedVideo:
    """Sample frames from an MP4/MOV: every 1/sample_fps seconds and after each cut."""
    stats = SampleStats()
    samples = list(iter_samples(data, limits, max_pixels, stats))
    if not samples:
        raise MediaDecodeError("the video has no decodable frames")
    return DecodedVideo(
        probe=stats.probe,
        frames=tuple(s.rgb for s in samples),
        timestamps=tuple(s.time_s for s in samples),
        scene_cuts=tuple(i for i, s in enumerate(samples) if s.cut),
        key_frames=tuple(i for i, s in enumerate(samples) if s.key_frame),
        frames_decoded=stats.frames_decoded,
        duration_s=stats.duration_s,
        truncated=stats.truncated,
    )


def iter_samples(
    data: bytes,
    limits: VideoLimits | None = None,
    max_pixels: int = 50_000_000,
    stats: SampleStats | None = None,
) -> Iterator[Sample]:
    """The samples one at a time, so a dense pass (bank fingerprints) holds one frame."""
    limits = limits or VideoLimits()
    stats = stats if stats is not None else SampleStats()
    deadline = time.monotonic() + limits.max_decode_s
    try:
        with open_container(data) as container:
            probe, stream = read_header(container, limits, max_pixels)
            stats.probe = probe
            plan = sampling_plan(stream, probe, limits)
            if plan is not None:
                stream.thread_type = "AUTO"
                yield from _sample_plan(
                    container, stream, probe, plan, limits, max_pixels, deadline, stats
                )
                if stats.frames_decoded:
                    return
        # Samples 1-5 times a second need no frame that nothing refers to
        # (B-frames, mostly): skipping them halves the decoding work. A
        # stream made only of such frames is decoded again in full.
        for skip in ("DEFAULT",) if limits.every_frame else ("NONREF", "DEFAULT"):
            with open_container(data) as container:
                probe, stream = read_header(container, limits, max_pixels)
                stats.probe = probe
                stream.thread_type = "AUTO"
                stream.codec_context.skip_frame = skip
                yield from _sample(container, stream, probe, limits, max_pixels, deadline, stats)
            if stats.frames_decoded:
                return
    except (MediaDecodeError, MediaTooLarge, UnsupportedMedia):
        raise
    except av.FFmpegError as exc:
        raise MediaDecodeError(f"could not decode the video: {ffmpeg_reason(exc)}") from exc
    except (ValueError, OverflowError, MemoryError, RuntimeError) as exc:
        raise MediaDecodeError(f"could not decode the video: {exc}") from exc


def _check_size(frame, max_pixels: int) -> None:
    if frame.width * frame.height > max_pixels:
        raise MediaTooLarge(
            f"a frame of {frame.width} x {frame.height} pixels is more than the limit"
        )


def _rotation(frame, probe: VideoProbe, stats: SampleStats) -> int:
    """The first frame's rotation; the probe reports the display size from then on.

    The display matrix is only seen on decoded frames.
    """
    rotation = int(getattr(frame, "rotation", 0) or 0)
    if rotation:
        w, h = (probe.height, probe.width) if rotation % 180 else (probe.width, probe.height)
        stats.probe = replace(probe, width=w, height=h, rotation=rotation)
    return rotation


class _CutFinder:
    """Is a decoded frame a scene cut: does it differ from the one decoded before it?"""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.last: np.ndarray | None = None

    def __call__(self, frame, spare: bool) -> bool:
        """`spare`: a cut may add a sample here (far enough from the last, budget left)."""
        thumb = _thumb(frame)
        cut = (
            spare
            and self.last is not None
            and float(np.abs(thumb - self.last).mean()) > self.threshold
        )
        self.last = thumb
        return cut


def _pace(extras: int, cut_budget: int, t: float, duration: float | None) -> bool:
    """May a stray keyframe be taken as an extra sample at time t?

    Extras get at most half of the spare budget, spent evenly over the video,
    so that frequent keyframes early on leave room for cuts near the end.
    """
    if not duration:
        return extras < cut_budget // 2
    return extras < (cut_budget / 2) * min(1.0, (t + 1.0) / duration)


def _sample(container, stream, probe, limits, max_pixels, deadline, stats) -> Iterator[Sample]:
    """In sequence: every frame (but those nothing refers to) passes the decoder."""
    rate = sampling_rate(probe.duration_s, limits)
    interval, cut_budget = rate.interval, rate.cut_budget
    max_decoded = math.ceil(limits.max_duration_s * limits.max_frame_rate)
    fps = probe.fps or 30.0

    taken = cuts = extras = decoded = 0
    first_time: float | None = None
    next_time = 0.0
    last_sample = -math.inf
    is_cut = _CutFinder(limits.scene_threshold)
    rotation = 0
    t = 0.0
    for frame in decoded_frames(container, stream, deadline):
        decoded += 1
        stats.frames_decoded = decoded
        if decoded > max_decoded:
            raise MediaTooLarge(f"the video has more than {max_decoded} frames")
        _check_size(frame, max_pixels)
        raw = frame.time
        if raw is None:
            raw = (decoded - 1) / fps
        if first_time is None:
            first_time = raw
            rotation = _rotation(frame, probe, stats)
        t = max(0.0, raw - first_time)
        stats.duration_s = round(t + 1.0 / fps, 4)
        if t > limits.max_duration_s:
            raise MediaTooLarge(
                f"the video runs past {limits.max_duration_s:g} s (its header said otherwise)"
            )
        spare = t - last_sample >= limits.min_scene_gap_s and cuts < cut_budget
        cut = is_cut(frame, spare)
        # Keyframes are intra-coded at the best quality of their group: after a
        # low-bitrate re-encode they keep the most of any pixel-level signal
        # (the watermark). A keyframe shortly before a tick takes the tick's
        # place; one far from any sample is taken as an extra.
        key = bool(frame.key_frame)
        on_clock = t + 1e-6 >= next_time
        early = (
            key and not (on_clock or cut) and t + 1e-6 >= next_time - min(interval / 2, _EARLY_S)
        )
        keyed = key and spare and t - last_sample >= interval / 2
        keyed = keyed and _pace(extras, cut_budget, t, probe.duration_s)
        if not (on_clock or early or cut or keyed):
            continue
        if taken >= limits.max_samples:
            stats.truncated = True
            return
        width, height = scaled_size(frame.width, frame.height, limits.max_side)
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
        taken += 1
        last_sample = t
        if on_clock:
            next_time = (math.floor(t / interval + 1e-6) + 1) * interval
        elif early:
            next_time += interval
        else:
            cuts += 1
            extras += not cut
        rgb = turn(rgb.to_ndarray(), rotation)
        yield Sample(round(t, 4), rgb, cut=cut and not on_clock, key_frame=key)


def _visit_frames(container, stream, visit: Visit, deadline: float) -> Iterator:
    packets = 0
    for packet in container.demux(stream):
        if time.monotonic() > deadline:
            raise MediaTooLarge("decoding the video took longer than the limit")
        # a seek lands on the keyframe shown at or before the target, which
        # may be the one before ours: its packets are read, not decoded
        if packet.dts is not None and packet.dts < visit.dts and packets == 0:
            continue
        packets += 1
        yield from packet.decode()
        if packets >= visit.frames:
            break
    # the decoder holds a few frames back (reordering, threads): drain them;
    # the next seek resets it
    yield from stream.decode(None)


def _sample_plan(container, stream, probe, plan: Plan, limits, max_pixels, deadline, stats):
    """By the plan: a seek per visit, the keyframe, and a walk to its ticks if any."""
    time_base = float(stream.time_base)
    ctx = stream.codec_context
    interval, cut_budget = plan.rate.interval, plan.rate.cut_budget
    max_decoded = plan.frames + len(plan.visits) * 4
    stats.duration_s = plan.duration_s
    taken = cuts = extras = decoded = 0
    first_pts: int | None = None
    last_sample = -math.inf
    is_cut = _CutFinder(limits.scene_threshold)
    rotation = 0
    for visit in plan.visits:
        # a visit that only needs its keyframe lets the decoder skip the rest
        ctx.skip_frame = "NONREF" if visit.walk else "NONKEY"
        container.seek(visit.seek_to, stream=stream, backward=True)
        pending = list(visit.walk)
        served = not visit.on_clock
        for frame in _visit_frames(container, stream, visit, deadline):
            decoded += 1
            stats.frames_decoded = decoded
            if decoded > max_decoded:
                raise MediaTooLarge("the video needs more decoding than its index promised")
            _check_size(frame, max_pixels)
            if first_pts is None:
                first_pts = frame.pts if frame.pts is not None else 0
                rotation = _rotation(frame, probe, stats)
            # drained frames carry no time base, only their pts
            t = visit.time_s if frame.pts is None else (frame.pts - first_pts) * time_base
            t = max(0.0, t)
            spare = t - last_sample >= limits.min_scene_gap_s and cuts < cut_budget
            cut = is_cut(frame, spare)
            key = bool(frame.key_frame)
            on_clock = False
            if not served and key:
                served = on_clock = True
            if pending and t + 1e-6 >= pending[0]:
                on_clock = True
                while pending and t + 1e-6 >= pending[0]:
                    pending.pop(0)
            keyed = key and spare and t - last_sample >= interval / 2
            keyed = keyed and _pace(extras, cut_budget, t, plan.duration_s)
            if on_clock or cut or keyed:
                if taken >= limits.max_samples:
                    stats.truncated = True
                    return
                width, height = scaled_size(frame.width, frame.height, limits.max_side)
                rgb = frame.reformat(
                    width=width, height=height, format="rgb24", interpolation="AREA"
                )
                taken += 1
                last_sample = t
                if not on_clock:
                    cuts += 1
                    extras += not cut
                rgb = turn(rgb.to_ndarray(), rotation)
                yield Sample(round(t, 4), rgb, cut=cut and not on_clock, key_frame=key)
            if served and not pending:
                break
