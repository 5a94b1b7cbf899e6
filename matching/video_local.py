"""Cropped and captioned re-uploads of a banked video, found by local features on keyframes.

The upload's side: ORB features of QUERY_FRAMES of its sampled frames, one
per QUERY_SPACING_S of a longer upload (at most MAX_QUERY_FRAMES), spread
over its length (`query_frames`): a cropped excerpt inside a longer upload
still gets a few of them. The bank's side: every entry's
keyframes (keyframes.py) in one descriptor-vote index (candidates.py).

One vote pass gives, per query frame, the keyframes its descriptors vote
for. Votes are summed per video over the query frames, and only the best
`MatchRule.local_videos` videos are verified (RANSAC, features.verify),
frame by frame against the keyframe the frame voted for most: a video whose
first `local_probe` frames all fail is dropped. So an upload that matches
nothing costs at most local_videos x local_probe verifications, however many
frames it has, instead of one per frame and candidate.

A video matches when at least `min_frames` query frames verify against its
keyframes and either direction of containment reaches `min_share`, as for
vPDQ (containment.py): the share of the tried query frames that verified,
or the share of the reference's duration the stretch of the upload between
its first and last verified frames spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .candidates import EntryFeatures
from .config import MatchConfig
from .containment import MatchRule, VideoMatch
from .features import LocalFeatures, extract_query_features, verify
from .keyframes import Keyframes

# the upload's frames given features: ~10 ms of ORB each on a 720p frame
QUERY_FRAMES = 8
QUERY_SPACING_S = 2.0
MAX_QUERY_FRAMES = 48


QueryFrame = tuple[float, LocalFeatures, LocalFeatures]


def query_frames(
    frames: Sequence[np.ndarray], times: Sequence[float], usable: Sequence[float] | None = None
) -> tuple[QueryFrame, ...]:
    """(time, features, mirrored features) of up to `query_count` frames spread
    evenly over the upload.

    `usable` are the times worth trying (the fingerprint's kept frames: not
    flat, not a repeat of the frame before); all frames when None. The
    mirrored side (ORB is not mirror-invariant) reuses the frame's keypoints
    (`features.extract_query_features`): a flipped and cropped copy.
    """
    keep = set(usable) if usable is not None else None
    picks = [i for i, t in enumerate(times) if keep is None or t in keep]
    wanted = query_count(float(times[-1] - times[0]) if len(times) else 0.0)
    if len(picks) > wanted:
        spots = np.linspace(0, len(picks) - 1, wanted).round().astype(int)
        picks = [picks[s] for s in spots]
    out = []
    for i in picks:
        plain, mirrored = extract_query_features(frames[i], coarse=True)
        if len(plain):
            out.append((float(times[i]), plain, mirrored))
    return tuple(out)


def query_count(span_s: float) -> int:
    """How many frames of an upload spanning `span_s` seconds get features."""
    return int(min(MAX_QUERY_FRAMES, max(QUERY_FRAMES, np.ceil(span_s / QUERY_SPACING_S))))


@dataclass(frozen=True)
class _Verified:
    query_time: float
    keyframe: int
    inliers: int


class KeyframeIndex:
    """Every reference video's keyframes, searchable by descriptor votes."""

    def __init__(self, config: MatchConfig | None = None) -> None:
        self.config = config or MatchConfig()
        self._features = EntryFeatures()
        self._owner: list[int] = []
        self._time: list[float] = []
        self._span: dict[int, tuple[np.ndarray, float]] = {}

    def __len__(self) -> int:
        return len(self._owner)

    def add(self, owner: int, keyframes: Keyframes) -> None:
        for t, feats in zip(keyframes.times, keyframes.features, strict=True):
            self._features.by_entry[len(self._owner)] = feats
            self._owner.append(owner)
            self._time.append(t)
        if len(keyframes):
            times = np.asarray(keyframes.times, np.float64)
            gaps = np.diff(times)
            self._span[owner] = (times, float(np.median(gaps)) if len(gaps) else 1.0)
        self._features.drop_caches()

    def lookup(self, frames: Sequence[QueryFrame], rule: MatchRule) -> list[tuple[int, VideoMatch]]:
        """(owner, match) of the videos verified for these query frames, best first.

        The plain side first, then the mirrored one; both sides' votes come
        from one pass.
        """
        frames = [f for f in frames if len(f[1])]
        if not frames or not self._owner:
            return []
        active = bytearray(b"\x01" * len(self._owner))
        queries = [f[1] for f in frames] + [f[2] for f in frames]
        votes = self._features.votes_each(queries, self.config, active, len(active))
        owner_of = np.asarray(self._owner, np.int64)
        out = []
        for side, variant in ((1, "original"), (2, "mirror")):
            seen = [(f[0], f[side]) for f in frames]
            best = _best_keyframes(owner_of, votes[(side - 1) * len(frames) : side * len(frames)])
            found = self._side(seen, best, rule)
            found = [(o, replace(m, transform=variant)) for o, m in found]
            if any(m.matched for _, m in found):
                return found
            out += found
        return out

    def _side(self, frames, best, rule: MatchRule) -> list[tuple[int, VideoMatch]]:
        ranked = sorted(best, key=lambda o: (-sum(v for _, v in best[o].values()), o))
        out = []
        for owner in ranked[: rule.local_videos]:
            verified = self._verify(frames, best[owner], rule)
            if verified:
                out.append((owner, self._match(owner, frames, verified, rule)))
        out.sort(key=lambda r: (not r[1].matched, -r[1].query_contained, r[0]))
        return out

    def _verify(self, frames, per_frame: dict[int, tuple[int, int]], rule) -> list[_Verified]:
        order = sorted(per_frame, key=lambda q: (-per_frame[q][1], q))
        verified = []
        for tried, q in enumerate(order):
            if tried >= rule.local_probe and not verified:
                break
            key = per_frame[q][0]
            v = verify(frames[q][1], self._features.by_entry[key])
            if self.config.accepts(v):
                by_ransac = v.inliers >= self.config.min_inliers
                verified.append(_Verified(frames[q][0], key, v.inliers if by_ransac else v.guided))
        return verified

    def _match(self, owner, frames, verified: list[_Verified], rule: MatchRule) -> VideoMatch:
        ref_times, ref_interval = self._span[owner]
        q_times = np.array([t for t, _ in frames])
        interval = float(np.median(np.diff(q_times))) if len(q_times) > 1 else 1.0
        matched_at = np.array([self._time[v.keyframe] for v in verified])
        verified_at = np.array([v.query_time for v in verified])
        offset = float(np.median(matched_at - verified_at))
        q_share = len(verified) / len(frames)
        # Keyframes of one shot look alike, so which keyframe a frame verified
        # against says little about where in the shot it is; the stretch of
        # the upload between its first and last verified frames (each standing
        # for one query interval) is what it shows of the reference.
        stretch = float(verified_at.max() - verified_at.min()) + interval
        length = float(ref_times[-1] - ref_times[0]) + ref_interval
        r_share = min(1.0, stretch / max(length, 1e-6))
        needed = min(rule.min_frames, len(frames), len(ref_times))
        return VideoMatch(
            matched=bool(len(verified) >= needed and max(q_share, r_share) >= rule.min_share),
            query_frames=len(frames),
            reference_frames=len(ref_times),
            query_matched=len(verified),
            reference_matched=len({v.keyframe for v in verified}),
            query_contained=round(q_share, 4),
            reference_contained=round(float(r_share), 4),
            best_distance=None,
            transform="original",
            offset_s=round(offset, 3),
            stage="local_features",
            inliers=max(v.inliers for v in verified),
        )


def _best_keyframes(owner_of: np.ndarray, votes) -> dict[int, dict[int, tuple[int, int]]]:
    """owner -> query frame -> (its most-voted keyframe of that owner, the votes)."""
    best: dict[int, dict[int, tuple[int, int]]] = {}
    for q, (keys, counts) in enumerate(votes):
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            per = best.setdefault(int(owner_of[key]), {})
            if q not in per or count > per[q][1]:
                per[q] = (key, count)
    return best
