"""The container side of video decoding: open an upload safely, read its header, plan.

Everything here reads the container's header and sample index; frames are
decoded in labeler/video/decode.py (and re-encoded by the service's encoder,
which opens its sources through `open_container` too).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from ..errors import MediaDecodeError, MediaTooLarge, UnsupportedMedia
from ..limits import VideoLimits
from .plan import Plan, plan_from_index

# FFmpeg decodes many more codecs than an upload pipeline needs; every one is
# attack surface, so only the codecs phones and editors actually write pass.
ALLOWED_CODECS = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"})

# The mov demuxer can follow data references to other files ("drefs"); an
# upload must never make the worker open a path or URL it names.
_DEMUX_OPTIONS = {"enable_drefs": "0", "use_absolute_path": "0"}


@dataclass(frozen=True)
class VideoProbe:
    """What the container says, before any frame is decoded."""

    codec: str
    width: int
    height: int
    duration_s: float | None
    fps: float | None
    rotation: int  # degrees the player turns the picture (display matrix)
    has_audio: bool


def open_container(data: bytes):
    try:
        return av.open(io.BytesIO(data), mode="r", format="mov", options=_DEMUX_OPTIONS)
    except av.FFmpegError as exc:
        raise MediaDecodeError(f"could not read the video container: {ffmpeg_reason(exc)}") from exc
    except Exception as exc:  # PyAV raises plain Python errors on some malformed input
        raise MediaDecodeError(f"could not read the video container: {exc}") from exc


def ffmpeg_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def read_header(container, limits: VideoLimits, max_pixels: int) -> tuple[VideoProbe, object]:
    if not container.streams.video:
        raise MediaDecodeError("the file has no video stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    codec = ctx.name
    if codec not in ALLOWED_CODECS:
        allowed = ", ".join(sorted(ALLOWED_CODECS))
        raise UnsupportedMedia(f"video codec {codec!r} is not supported (supported: {allowed})")
    width, height = ctx.width, ctx.height
    if width <= 0 or height <= 0:
        raise MediaDecodeError("the video stream declares no picture size")
    if width * height > max_pixels:
        raise MediaTooLarge(
            f"{width} x {height} pixels per frame is more than the limit of {max_pixels}"
        )
    duration = None
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    if duration is not None and duration > limits.max_duration_s:
        raise MediaTooLarge(
            f"the video lasts {duration:.1f} s, more than the limit of {limits.max_duration_s:g} s"
        )
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    if fps is not None and fps > limits.max_frame_rate:
        raise MediaTooLarge(
            f"{fps:.0f} frames per second is more than the limit of {limits.max_frame_rate:g}"
        )
    probe = VideoProbe(
        codec=codec,
        width=width,
        height=height,
        duration_s=duration,
        fps=fps,
        rotation=0,
        has_audio=bool(container.streams.audio),
    )
    return probe, stream


def probe_video(data: bytes, limits: VideoLimits | None = None, max_pixels: int = 50_000_000):
    """Container facts without decoding a frame (raises the same typed errors as decode)."""
    limits = limits or VideoLimits()
    with open_container(data) as container:
        probe, _ = read_header(container, limits, max_pixels)
    return probe


def plan_video(
    data: bytes, limits: VideoLimits | None = None, max_pixels: int = 50_000_000
) -> tuple[VideoProbe, Plan | None]:
    """The container facts and the sampling plan (None: it would decode in sequence).

    Reads the header and the sample index only; no frame is decoded.
    """
    limits = limits or VideoLimits()
    with open_container(data) as container:
        probe, stream = read_header(container, limits, max_pixels)
        return probe, sampling_plan(stream, probe, limits)


def sequential_frames(probe: VideoProbe, limits: VideoLimits) -> int:
    """Frames an in-sequence decode may read: the header's length, else the limit's."""
    fps = min(probe.fps or limits.max_frame_rate, limits.max_frame_rate)
    seconds = probe.duration_s if probe.duration_s is not None else limits.max_duration_s
    return math.ceil(min(seconds, limits.max_duration_s) * fps) + 1


def sampling_plan(stream, probe: VideoProbe, limits: VideoLimits) -> Plan | None:
    if limits.every_frame:
        return None  # dense references want each tick's own frame, not a keyframe
    try:
        entries = stream.index_entries
        plan = plan_from_index(entries, float(stream.time_base or 0), probe.fps, limits)
    except (ValueError, OverflowError, IndexError, ZeroDivisionError):
        return None  # an index we cannot read: decode in sequence, under the same limits
    if plan is None:
        return None
    # the index is what will be decoded, whatever the header claims
    if plan.duration_s > limits.max_duration_s + 1.0:
        raise MediaTooLarge(
            f"the video runs past {limits.max_duration_s:g} s (its header said otherwise)"
        )
    max_decoded = math.ceil(limits.max_duration_s * limits.max_frame_rate)
    if plan.entries > max_decoded:
        raise MediaTooLarge(f"the video has more than {max_decoded} frames")
    return plan


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale)), max(2, round(height * scale))


def turn(rgb: np.ndarray, rotation: int) -> np.ndarray:
    # FFmpeg's rotation is counter-clockwise degrees the picture must turn
    # to display upright; np.rot90 turns counter-clockwise for k > 0.
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def decoded_frames(container, stream, deadline: float) -> Iterator:
    for packet in container.demux(stream):
        if time.monotonic() > deadline:
            raise MediaTooLarge("decoding the video took longer than the limit")
        yield from packet.decode()
