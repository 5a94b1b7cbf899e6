"""Video decoding with PyAV: probe, sample frames, and write frames back to MP4.

Signals never see every frame of a video, and the decoder does not decode
every frame either. The sampling contract:

- a clock: 1 sample per second by default (`sample_fps`), faster for clips
  shorter than 16 s so that there are at least `min_samples`, sparser for
  long ones so that at most three quarters of `max_samples` go to the clock
  and the rest stays free for cuts; samples always cover the whole video;
- keyframes preferred: a keyframe within a third of the interval of a tick
  takes the tick's place (keyframes are intra-coded at the best quality of
  their group, so after a low-bitrate re-encode they keep the most of any
  pixel-level signal, the watermark), and a keyframe far from any sample is
  taken as an extra while the budget lasts;
- scene cuts: a decoded frame that differs from the one decoded before it
  adds a sample, so that a short inserted shot is not skipped. Cuts are
  looked for among the frames that are decoded anyway: keyframes (up to
  four per sample of the budget) and the walks to ticks that no keyframe
  serves. Encoders start a new group of pictures at a scene cut (x264,
  x265 and libvpx do by default), so a cut shows on a keyframe; a fixed-group
  encoder that ignores cuts can hide a shot shorter than its group between
  two keyframes that look alike, the price of not decoding every frame.

Which frames that takes is planned from the container's sample index before
anything is decoded (labeler/video_plan.py): a seek to each keyframe needed,
and a walk forward from a keyframe only for ticks no keyframe serves. A
14-minute clip with ordinary 4 s groups costs about what a 30 s one does;
`labeler.media.probe` reports a plan's cost so the caller can refuse a
costly one (very sparse keyframes) before decoding. Files without an index
(fragmented MP4) and dense bank references (`every_frame`) are decoded in
sequence, as before. Everything an uploader controls (duration, frame rate,
resolution, box structure, codec) is bounded by `VideoLimits` before or while
decoding, so a hostile file costs a bounded amount of work and ends in a
typed error, never a hang.

The writer side (`encode_frames`, `reencode`) exists for the watermark
embedder (embed in every frame, re-encode with H.264) and for tests that
make their own clips from package images.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction

import av
import numpy as np

from .errors import MediaDecodeError, MediaTooLarge, UnsupportedMedia
from .video_plan import Plan, Visit, plan_from_index, sampling_rate

# FFmpeg decodes many more codecs than an upload pipeline needs; every one is
# attack surface, so only the codecs phones and editors actually write pass.
ALLOWED_CODECS = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"})

# The mov demuxer can follow data references to other files ("drefs"); an
# upload must never make the worker open a path or URL it names.
_DEMUX_OPTIONS = {"enable_drefs": "0", "use_absolute_path": "0"}

_ENV = {
    "max_duration_s": "AIGC_VIDEO_MAX_SECONDS",
    "sample_fps": "AIGC_VIDEO_SAMPLE_FPS",
    "max_samples": "AIGC_VIDEO_MAX_FRAMES",
    "min_samples": "AIGC_VIDEO_MIN_FRAMES",
    "max_side": "AIGC_VIDEO_MAX_SIDE",
    "max_decode_s": "AIGC_VIDEO_DECODE_TIMEOUT",
}


@dataclass(frozen=True)
class VideoLimits:
    """What an operator allows one upload to cost (environment: AIGC_VIDEO_*)."""

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

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> VideoLimits:
        environ = os.environ if environ is None else environ
        values = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, var in _ENV.items():
            raw = environ.get(var)
            if raw is None or raw == "":
                continue
            try:
                values[name] = int(raw) if types[name] in ("int", int) else float(raw)
            except ValueError:
                raise ValueError(f"{var}={raw!r} is not a number") from None
        return cls(**values)


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


def _open(data: bytes):
    try:
        return av.open(io.BytesIO(data), mode="r", format="mov", options=_DEMUX_OPTIONS)
    except av.FFmpegError as exc:
        raise MediaDecodeError(
            f"could not read the video container: {_ffmpeg_reason(exc)}"
        ) from exc
    except Exception as exc:  # PyAV raises plain Python errors on some malformed input
        raise MediaDecodeError(f"could not read the video container: {exc}") from exc


def _ffmpeg_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _probe(container, limits: VideoLimits, max_pixels: int) -> tuple[VideoProbe, object]:
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
    with _open(data) as container:
        probe, _ = _probe(container, limits, max_pixels)
    return probe


def plan_video(
    data: bytes, limits: VideoLimits | None = None, max_pixels: int = 50_000_000
) -> tuple[VideoProbe, Plan | None]:
    """The container facts and the sampling plan (None: it would decode in sequence).

    Reads the header and the sample index only; no frame is decoded.
    """
    limits = limits or VideoLimits()
    with _open(data) as container:
        probe, stream = _probe(container, limits, max_pixels)
        return probe, _plan(stream, probe, limits)


def sequential_frames(probe: VideoProbe, limits: VideoLimits) -> int:
    """Frames an in-sequence decode may read: the header's length, else the limit's."""
    fps = min(probe.fps or limits.max_frame_rate, limits.max_frame_rate)
    seconds = probe.duration_s if probe.duration_s is not None else limits.max_duration_s
    return math.ceil(min(seconds, limits.max_duration_s) * fps) + 1


def _plan(stream, probe: VideoProbe, limits: VideoLimits) -> Plan | None:
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


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale)), max(2, round(height * scale))


def _turn(rgb: np.ndarray, rotation: int) -> np.ndarray:
    # FFmpeg's rotation is counter-clockwise degrees the picture must turn
    # to display upright; np.rot90 turns counter-clockwise for k > 0.
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


# how far before a clock tick a keyframe may stand in for it
_EARLY_S = 0.5


def _thumb(frame) -> np.ndarray:
    grey = frame.reformat(width=32, height=32, format="gray", interpolation="AREA")
    return grey.to_ndarray().astype(np.float32) / 255.0


def _frames(container, stream, deadline: float) -> Iterator:
    for packet in container.demux(stream):
        if time.monotonic() > deadline:
            raise MediaTooLarge("decoding the video took longer than the limit")
        yield from packet.decode()


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
        with _open(data) as container:
            probe, stream = _probe(container, limits, max_pixels)
            stats.probe = probe
            plan = _plan(stream, probe, limits)
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
            with _open(data) as container:
                probe, stream = _probe(container, limits, max_pixels)
                stats.probe = probe
                stream.thread_type = "AUTO"
                stream.codec_context.skip_frame = skip
                yield from _sample(container, stream, probe, limits, max_pixels, deadline, stats)
            if stats.frames_decoded:
                return
    except (MediaDecodeError, MediaTooLarge, UnsupportedMedia):
        raise
    except av.FFmpegError as exc:
        raise MediaDecodeError(f"could not decode the video: {_ffmpeg_reason(exc)}") from exc
    except (ValueError, OverflowError, MemoryError, RuntimeError) as exc:
        raise MediaDecodeError(f"could not decode the video: {exc}") from exc


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
    last_thumb: np.ndarray | None = None
    rotation = 0
    t = 0.0
    for frame in _frames(container, stream, deadline):
        decoded += 1
        stats.frames_decoded = decoded
        if decoded > max_decoded:
            raise MediaTooLarge(f"the video has more than {max_decoded} frames")
        if frame.width * frame.height > max_pixels:
            raise MediaTooLarge(
                f"a frame of {frame.width} x {frame.height} pixels is more than the limit"
            )
        raw = frame.time
        if raw is None:
            raw = (decoded - 1) / fps
        if first_time is None:
            first_time = raw
            rotation = int(getattr(frame, "rotation", 0) or 0)
            if rotation:
                # the display matrix is only seen on decoded frames; report display size
                w, h = (
                    (probe.height, probe.width) if rotation % 180 else (probe.width, probe.height)
                )
                stats.probe = replace(probe, width=w, height=h, rotation=rotation)
        t = max(0.0, raw - first_time)
        stats.duration_s = round(t + 1.0 / fps, 4)
        if t > limits.max_duration_s:
            raise MediaTooLarge(
                f"the video runs past {limits.max_duration_s:g} s (its header said otherwise)"
            )
        thumb = _thumb(frame)
        spare = t - last_sample >= limits.min_scene_gap_s and cuts < cut_budget
        cut = (
            spare
            and last_thumb is not None
            and float(np.abs(thumb - last_thumb).mean()) > limits.scene_threshold
        )
        last_thumb = thumb
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
        width, height = _scaled_size(frame.width, frame.height, limits.max_side)
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
        rgb = _turn(rgb.to_ndarray(), rotation)
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
    last_thumb: np.ndarray | None = None
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
            if frame.width * frame.height > max_pixels:
                raise MediaTooLarge(
                    f"a frame of {frame.width} x {frame.height} pixels is more than the limit"
                )
            if first_pts is None:
                first_pts = frame.pts if frame.pts is not None else 0
                rotation = int(getattr(frame, "rotation", 0) or 0)
                if rotation:
                    w, h = (
                        (probe.height, probe.width)
                        if rotation % 180
                        else (probe.width, probe.height)
                    )
                    stats.probe = replace(probe, width=w, height=h, rotation=rotation)
            # drained frames carry no time base, only their pts
            t = visit.time_s if frame.pts is None else (frame.pts - first_pts) * time_base
            t = max(0.0, t)
            thumb = _thumb(frame)
            spare = t - last_sample >= limits.min_scene_gap_s and cuts < cut_budget
            cut = (
                spare
                and last_thumb is not None
                and float(np.abs(thumb - last_thumb).mean()) > limits.scene_threshold
            )
            last_thumb = thumb
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
                width, height = _scaled_size(frame.width, frame.height, limits.max_side)
                rgb = frame.reformat(
                    width=width, height=height, format="rgb24", interpolation="AREA"
                )
                taken += 1
                last_sample = t
                if not on_clock:
                    cuts += 1
                    extras += not cut
                rgb = _turn(rgb.to_ndarray(), rotation)
                yield Sample(round(t, 4), rgb, cut=cut and not on_clock, key_frame=key)
            if served and not pending:
                break


# ---------------------------------------------------------------- writing


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
        with _open(data) as source:
            probe, stream = _probe(source, limits, max_pixels)
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
        raise MediaDecodeError(f"could not re-encode the video: {_ffmpeg_reason(exc)}") from exc
    return out.getvalue()


def _copy_frames(source, stream, target, transform, rate, crf, max_height, start, end, codec,
                 preset, deadline):  # fmt: skip
    out_stream = None
    first_time = None
    index = 0
    for frame in _frames(source, stream, deadline):
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
        rgb = _turn(frame.to_ndarray(format="rgb24"), rotation)
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
