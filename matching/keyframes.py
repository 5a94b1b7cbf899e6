"""A reference video's keyframes: ORB features of one frame per second, stored with the entry.

vPDQ compares whole frames, so a re-upload cropped to 80% (or with a caption
bar over a fifth of the height) moves every frame's hash past the radius.
The image bank's answer to crops is local features (features.py); a video
entry keeps them for one frame per KEYFRAME_INTERVAL_S of its reference
sampling, so that any frame of a cut, cropped or re-encoded copy has a
keyframe showing the same scene within half a second.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .errors import InvalidFeatures
from .features import LocalFeatures, extract_features

KEYFRAME_INTERVAL_S = 1.0
# fewer than an image entry's 700: a keyframe's copy is a whole video frame,
# not a small crop of a photo. On benchmarks/video_matching.py's hardest rows
# (crop 60% at 240p, crop + caption bar, a zoomed clip inside a compilation)
# 700, 400 and 250 keypoints all found every copy with no false match, the
# weakest copy at 80, 60 and 49 entry keypoints against the threshold of 14;
# 300 keeps a keyframe at ~12 KB (~0.7 MB per banked minute)
KEYFRAME_FEATURES = 300
# a 10-minute reference (the reference sampling's own limit at 5 fps) keeps 600
MAX_KEYFRAMES = 600
_MAGIC = b"KEY1"
_HEADER = struct.Struct("<4sI")
_ITEM = struct.Struct("<dI")


@dataclass(frozen=True)
class Keyframes:
    """Keyframe times (seconds, ascending) and their ORB features."""

    times: tuple[float, ...]
    features: tuple[LocalFeatures, ...]

    def __len__(self) -> int:
        return len(self.times)

    def to_blob(self) -> bytes:
        parts = [_HEADER.pack(_MAGIC, len(self))]
        for t, feats in zip(self.times, self.features, strict=True):
            blob = feats.to_blob()
            parts += [_ITEM.pack(t, len(blob)), blob]
        return b"".join(parts)

    @classmethod
    def from_blob(cls, blob: bytes) -> Keyframes:
        """The stored form back; InvalidFeatures for anything that is not one."""
        view = memoryview(blob)
        if len(view) < _HEADER.size:
            raise InvalidFeatures("keyframes blob is truncated")
        magic, count = _HEADER.unpack_from(view)
        if magic != _MAGIC:
            raise InvalidFeatures(f"unknown keyframes format {bytes(magic)!r}")
        if count > MAX_KEYFRAMES:
            raise InvalidFeatures(f"keyframes blob claims {count} keyframes (max {MAX_KEYFRAMES})")
        at, times, feats = _HEADER.size, [], []
        for _ in range(count):
            if at + _ITEM.size > len(view):
                raise InvalidFeatures("keyframes blob is truncated")
            t, size = _ITEM.unpack_from(view, at)
            at += _ITEM.size
            if at + size > len(view) or not np.isfinite(t) or (times and t < times[-1]):
                raise InvalidFeatures("keyframes blob is corrupt")
            feats.append(LocalFeatures.from_blob(bytes(view[at : at + size])))
            times.append(float(t))
            at += size
        if at != len(view):
            raise InvalidFeatures("keyframes blob has trailing bytes")
        return cls(tuple(times), tuple(feats))


class KeyframeSampler:
    """Takes keyframes from a stream of (time, RGB frame) as it passes through.

    The reference fingerprint consumes the same stream (vpdq.fingerprint_samples),
    so a bank entry is decoded once for both.
    """

    def __init__(self, interval_s: float = KEYFRAME_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._times: list[float] = []
        self._features: list[LocalFeatures] = []

    def tap(
        self, samples: Iterable[tuple[float, np.ndarray]]
    ) -> Iterator[tuple[float, np.ndarray]]:
        for time_s, rgb in samples:
            due = not self._times or time_s >= self._times[-1] + self.interval_s - 1e-6
            if due and len(self._times) < MAX_KEYFRAMES:
                feats = extract_features(rgb, n=KEYFRAME_FEATURES)
                # a flat frame (black, a fade) has no keypoints to match by
                if len(feats):
                    self._times.append(float(time_s))
                    self._features.append(feats)
            yield time_s, rgb

    def result(self) -> Keyframes:
        return Keyframes(tuple(self._times), tuple(self._features))
