"""vPDQ fingerprints: one PDQ hash per sampled frame of a video, in the spirit of Meta's vPDQ.

Frames too flat to identify anything (PDQ quality < 50: black frames,
fades, title cards) are dropped, and so is a frame nearly identical to the
one kept before it, so a static shot counts once. `containment.py` compares
two fingerprints; `video.py` holds many for lookup.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pdqhash

from .bars import find_content_box
from .codes import hamming
from .hashing import pdq_dihedral, reduce

MIN_QUALITY = 50
# neighbours closer than this are the same moment (compression noise on a
# still shot moves PDQ by a few bits; a pan moves it by tens)
DEDUP_DISTANCE = 8
# PDQ reduces to 64 x 64 anyway; reducing first makes it ~3x cheaper and
# makes a 1080p original and its 480p re-share hash alike
HASH_SIDE = 512


class VideoFingerprintError(ValueError):
    """Frames or a stored fingerprint that cannot be used (wrong shape, corrupt, empty)."""


@dataclass(frozen=True)
class FrameHash:
    pdq: bytes  # 32 bytes, most significant bit first (the ThreatExchange hex form)
    quality: int
    time_s: float
    # the 8 dihedral variants in DIHEDRAL_NAMES order; empty for stored references
    dihedral: tuple[bytes, ...] = ()
    # the picture inside letterbox/pillarbox bars, when the frame had bars; a
    # frame matches through either hash, because a dark edge can look like a
    # bar in one copy of a frame and not in the other
    unboxed: bytes | None = None
    unboxed_dihedral: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class VideoFingerprint:
    frames: tuple[FrameHash, ...]
    frames_seen: int
    dropped_low_quality: int
    dropped_duplicates: int
    # the sampling interval the frames came at (median gap), seconds
    interval_s: float = 1.0

    def __len__(self) -> int:
        return len(self.frames)

    def to_dict(self) -> dict:
        """The stored form: hex PDQ, quality and time per kept frame (no dihedrals)."""
        return {
            "version": 1,
            "frames": [
                [f.pdq.hex(), f.quality, f.time_s, f.unboxed.hex() if f.unboxed else None]
                for f in self.frames
            ],
            "frames_seen": self.frames_seen,
            "dropped_low_quality": self.dropped_low_quality,
            "dropped_duplicates": self.dropped_duplicates,
            "interval_s": self.interval_s,
        }

    @classmethod
    def from_dict(cls, data: dict) -> VideoFingerprint:
        try:
            if data.get("version") != 1:
                raise VideoFingerprintError(f"unknown fingerprint version {data.get('version')!r}")
            frames = []
            for code, quality, time_s, *rest in data["frames"]:
                pdq = bytes.fromhex(code)
                unboxed = bytes.fromhex(rest[0]) if rest and rest[0] else None
                if len(pdq) != 32 or (unboxed is not None and len(unboxed) != 32):
                    raise VideoFingerprintError("a frame hash is not 64 hex digits")
                frames.append(FrameHash(pdq, int(quality), float(time_s), (), unboxed))
            return cls(
                tuple(frames),
                int(data["frames_seen"]),
                int(data["dropped_low_quality"]),
                int(data["dropped_duplicates"]),
                float(data.get("interval_s", 1.0)),
            )
        except VideoFingerprintError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise VideoFingerprintError(f"corrupt video fingerprint: {exc}") from exc


def _reduce(rgb: np.ndarray) -> np.ndarray:
    return reduce(rgb, HASH_SIDE)


def _check(rgb) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3:
        raise VideoFingerprintError("each frame must be an H x W x 3 uint8 RGB array")
    if rgb.shape[2] != 3 or min(rgb.shape[:2]) < 16:
        raise VideoFingerprintError(f"frame of shape {rgb.shape} cannot be hashed")
    return np.ascontiguousarray(rgb)


def _unboxed(small: np.ndarray) -> np.ndarray | None:
    """The picture inside bars, None when there are none."""
    box = find_content_box(small)
    if box is None:
        return None
    top, bottom, left, right = box
    if min(bottom - top, right - left) < 16:
        return None
    return np.ascontiguousarray(small[top:bottom, left:right])


def frame_quality(rgb: np.ndarray) -> int:
    """PDQ quality (0-100) of one frame, hashed the way fingerprints hash it."""
    return int(pdqhash.compute(_reduce(_check(rgb)))[1])


def fingerprint(
    frames: Iterable[np.ndarray],
    timestamps: Sequence[float] | None = None,
    *,
    min_quality: int = MIN_QUALITY,
    dedup_distance: int = DEDUP_DISTANCE,
    strip_bars: bool = True,
) -> VideoFingerprint:
    """PDQ per sampled frame; low-quality frames and repeated neighbours dropped.

    Without timestamps the frames are taken as one per second.
    """
    if timestamps is not None:
        frames = list(frames)
        if len(timestamps) != len(frames):
            raise VideoFingerprintError(f"{len(frames)} frames but {len(timestamps)} timestamps")
    times = timestamps if timestamps is not None else itertools.count(0.0)
    return fingerprint_samples(
        zip(times, frames, strict=False),  # lengths checked above; count() is endless
        min_quality=min_quality,
        dedup_distance=dedup_distance,
        strip_bars=strip_bars,
    )


def fingerprint_samples(
    samples: Iterable[tuple[float, np.ndarray]],
    *,
    min_quality: int = MIN_QUALITY,
    dedup_distance: int = DEDUP_DISTANCE,
    strip_bars: bool = True,
) -> VideoFingerprint:
    """Like `fingerprint`, from (time, frame) pairs consumed one at a time.

    Letterbox and pillarbox bars are cut off before hashing, on both sides of
    a comparison: a 4:3 clip reposted inside a 9:16 frame otherwise shares no
    frame with its source (PDQ distance ~94 measured on the test clips).
    """
    kept: list[FrameHash] = []
    seen_times: list[float] = []
    low = dupes = 0
    for time_s, rgb in samples:
        seen_times.append(float(time_s))
        small = _reduce(_check(rgb))
        variants, quality = pdq_dihedral(small)
        if quality < min_quality:
            low += 1
            continue
        if kept and hamming(kept[-1].pdq, variants[0]) <= dedup_distance:
            dupes += 1
            continue
        inner = _unboxed(small) if strip_bars else None
        boxed: tuple[bytes, ...] = ()
        if inner is not None:
            boxed, inner_quality = pdq_dihedral(inner)
            boxed = boxed if inner_quality >= min_quality else ()
        kept.append(
            FrameHash(
                variants[0],
                int(quality),
                float(time_s),
                variants,
                boxed[0] if boxed else None,
                boxed,
            )
        )
    gaps = np.diff(np.asarray(seen_times)) if len(seen_times) > 1 else np.zeros(0)
    gaps = gaps[gaps > 0]
    interval = float(np.median(gaps)) if len(gaps) else 1.0
    return VideoFingerprint(tuple(kept), len(seen_times), low, dupes, round(interval, 4))
