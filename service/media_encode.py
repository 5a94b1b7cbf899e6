"""Writing video: frames to an MP4, and an upload re-encoded frame by frame.

The labeler only reads uploads; writing belongs with the callers that need
it: the watermark embedder (`aigc watermark embed` marks every frame and
re-encodes with H.264), the benchmarks and the tests that make their own
clips and re-shares (480p copies, trims, lower bitrates).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from fractions import Fraction

import av
import numpy as np

from labeler.errors import MediaDecodeError, MediaTooLarge, UnsupportedMedia
from labeler.video import VideoLimits
from labeler.video.container import (
    decoded_frames,
    ffmpeg_reason,
    open_container,
    read_header,
    turn,
)


def _even(n: int) -> int:
    # 4:2:0 chroma needs even dimensions
    return max(2, n - n % 2)


def _rate(fps: float | Fraction) -> Fraction:
    return fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)


def encode_frames(
    frames: Iterable[np.ndarray],
    fps: float | Fraction = 30,
    *,
    crf: int = 18,
    codec: str = "libx264",
    preset: str = "veryfast",
    container_format: str = "mp4",
    gop: int | None = None,
) -> bytes:
    """RGB uint8 frames (all the same size) to an MP4 (H.264 unless told), as bytes.

    `container_format="mov"` writes QuickTime; `codec="libx265"` writes HEVC;
    `gop` is the longest run of frames between keyframes (the encoder's own
    default, 250 for x264, unless told).
    """
    out = io.BytesIO()
    with av.open(out, mode="w", format=container_format) as container:
        stream = None
        for rgb in frames:
            rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
            if stream is None:
                stream = _add_video_stream(container, codec, _rate(fps), rgb.shape, crf, preset)
                if gop is not None:
                    stream.codec_context.gop_size = gop
            _write(container, stream, rgb)
        if stream is None:
            raise ValueError("no frames to encode")
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _add_video_stream(container, codec, rate, shape, crf, preset):
    stream = container.add_stream(codec, rate=rate)
    stream.height = _even(shape[0])
    stream.width = _even(shape[1])
    stream.pix_fmt = "yuv420p"
    if codec in ("libx264", "libx265"):
        stream.options = {"crf": str(crf), "preset": preset}
    return stream


def _write(container, stream, rgb: np.ndarray) -> None:
    rgb = rgb[: stream.height, : stream.width]
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    for packet in stream.encode(frame):
        container.mux(packet)


FrameTransform = Callable[[np.ndarray, int], np.ndarray]


def crop_transform(share: float, y0: float = 0.5, x0: float = 0.5) -> FrameTransform:
    """A re-share's crop: keep `share` of each frame's area with its aspect, the
    kept window's corner at (y0, x0) of the room left (0.5: centred); even sides
    for H.264."""

    def transform(rgb: np.ndarray, _index: int) -> np.ndarray:
        h, w = rgb.shape[:2]
        side = share**0.5
        ch, cw = int(h * side) // 2 * 2, int(w * side) // 2 * 2
        y, x = int((h - ch) * y0), int((w - cw) * x0)
        return np.ascontiguousarray(rgb[y : y + ch, x : x + cw])

    return transform


def reencode(
    data: bytes,
    transform: FrameTransform | None = None,
    *,
    crf: int = 18,
    max_height: int | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    codec: str = "libx264",
    preset: str = "veryfast",
    limits: VideoLimits | None = None,
    max_pixels: int = 50_000_000,
) -> bytes:
    """Decode every frame, optionally change it, write an H.264 MP4 (audio dropped).

    `transform(rgb, index)` gets each full-resolution RGB frame in display
    orientation (the watermark embedder). `max_height`, `start_s`/`end_s`
    and `crf` also make the re-shares that signals must survive: a 480p
    copy, a trimmed clip, a lower-bitrate upload.
    """
    limits = limits or VideoLimits()
    deadline = time.monotonic() + max(limits.max_decode_s, 600.0)
    out = io.BytesIO()
    try:
        with open_container(data) as source:
            probe, stream = read_header(source, limits, max_pixels)
            stream.thread_type = "AUTO"
            rate = stream.average_rate or Fraction(round(probe.fps or 30))
            with av.open(out, mode="w", format="mp4") as target:
                written = _copy_frames(
                    source, stream, target, transform, rate, crf, max_height, start_s, end_s,
                    codec, preset, deadline,
                )  # fmt: skip
                if written is None:
                    raise MediaDecodeError("no frames in the requested time range")
                for packet in written.encode():
                    target.mux(packet)
    except (MediaDecodeError, MediaTooLarge, UnsupportedMedia):
        raise
    except av.FFmpegError as exc:
        raise MediaDecodeError(f"could not re-encode the video: {ffmpeg_reason(exc)}") from exc
    return out.getvalue()


def _copy_frames(source, stream, target, transform, rate, crf, max_height, start, end, codec,
                 preset, deadline):  # fmt: skip
    out_stream = None
    first_time = None
    index = 0
    for frame in decoded_frames(source, stream, deadline):
        raw = frame.time if frame.time is not None else index / float(rate)
        if first_time is None:
            first_time = raw
            rotation = int(getattr(frame, "rotation", 0) or 0)
        t = raw - first_time
        if t + 1e-6 < start:
            continue
        if end is not None and t >= end - 1e-6:
            break
        width, height = frame.width, frame.height
        if rotation % 180:
            width, height = height, width
        if max_height and height > max_height:
            width, height = round(width * max_height / height), max_height
        rgb = turn(frame.to_ndarray(format="rgb24"), rotation)
        if rgb.shape[:2] != (height, width):
            rgb = _resize(rgb, width, height)
        if transform is not None:
            rgb = transform(rgb, index)
        if out_stream is None:
            out_stream = _add_video_stream(target, codec, rate, rgb.shape, crf, preset)
        _write(target, out_stream, rgb)
        index += 1
    return out_stream


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2  # only the resizing re-share path needs it

    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
