"""Which frames of a video to decode, worked out from its sample index alone.

An MP4/MOV lists every frame's decode time, size and keyframe flag in its
sample tables, and the demuxer reads them into an index when the file is
opened, before any frame is decoded. From that index alone this module plans
the sampling (see labeler/video/__init__.py for the contract) as a list of visits: seek
to a keyframe, decode it, and walk forward from it only where a clock tick has
no keyframe close by. The plan's frame count is known before any work is done,
so a caller can refuse an upload whose plan is too expensive (labeler.media.probe)
instead of finding out after a minute of decoding.

A long video costs about as much as a short one because most of its ticks land
on keyframes: a tick may take any keyframe within a third of the sampling
interval, and encoders write a keyframe every 1-10 s (and at scene cuts). A
file with very sparse keyframes needs long walks; its plan says so (`frames`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# keyframes decoded to look for scene cuts, per sample of the budget: enough
# to see every keyframe of ordinary files (900 s with 2 s groups is 450), few
# enough that an all-intra file cannot make every frame a keyframe to decode
KEYFRAMES_PER_SAMPLE = 4
# a tick may be served by a keyframe this far from it (fraction of the interval)
KEY_TOLERANCE = 1 / 3
# frames a walk may run past its target entry before it must have met the
# tick: the decoder returns frames in presentation order, a few frames late
WALK_SLACK = 8


@dataclass(frozen=True)
class Rate:
    """The sampling clock: one tick every `interval` seconds, `ticks` of them."""

    interval: float
    ticks: int
    # samples that scene cuts and stray keyframes may add on top of the ticks
    cut_budget: int


def sampling_rate(duration: float | None, limits) -> Rate:
    rate = limits.sample_fps
    if duration:
        rate = max(rate, min(limits.min_samples, limits.max_samples) / max(duration, 1e-3))
        # a quarter of the budget stays free for scene cuts
        rate = min(rate, 0.75 * limits.max_samples / max(duration, 1e-3))
    # cuts may only use what the regular samples leave over, so that a
    # flickering video cannot spend the budget before its end
    planned = math.floor(duration * rate) + 1 if duration else limits.max_samples
    return Rate(1.0 / rate, planned, max(0, limits.max_samples - planned))


@dataclass(frozen=True)
class Visit:
    """Seek to one keyframe, decode it, and walk on to the ticks after it."""

    entry: int  # index entry of the keyframe
    dts: int  # its decode timestamp (stream time base)
    seek_to: int  # a presentation time at or after the keyframe, before the next one
    time_s: float  # its time on the planning clock
    # the keyframe itself stands in for a clock tick
    on_clock: bool
    # ticks (seconds) reached by decoding forward from the keyframe
    walk: tuple[float, ...]
    # index entries this visit may decode (its cost)
    frames: int


@dataclass(frozen=True)
class Plan:
    visits: tuple[Visit, ...]
    rate: Rate
    duration_s: float  # from the index: the last frame's time plus one frame
    frames: int  # total frames the visits may decode
    entries: int  # frames in the index
    keyframes: int  # keyframes visited


@dataclass(frozen=True)
class _Clock:
    """Index timestamps <-> seconds from the first frame."""

    d0: int
    time_base: float

    def ts(self, t: float) -> int:
        return self.d0 + int(round(t / self.time_base))

    def t_of(self, dts: int) -> float:
        return (dts - self.d0) * self.time_base


def plan_from_index(entries, time_base: float, fps: float | None, limits) -> Plan | None:
    """The visits for a stream's index, or None when the index cannot be planned on.

    None (no index, as in fragmented MP4 before its fragments are read, or a
    stream that does not start on a keyframe) means: decode in sequence.
    """
    n = len(entries)
    if n == 0 or time_base <= 0:
        return None
    first = entries[0]
    if not first.is_keyframe:
        return None
    clock = _Clock(first.timestamp, time_base)
    frame_s = 1.0 / (fps or 30.0)
    duration = (entries[n - 1].timestamp - clock.d0) * time_base + frame_s
    rate = sampling_rate(duration, limits)
    keys = _cut_keys(entries, clock, duration, limits)
    on_clock, walks, reach = _serve_ticks(entries, clock, rate, keys)
    visits = _visits(entries, clock, keys, on_clock, walks, reach)
    return Plan(
        visits=visits,
        rate=rate,
        duration_s=round(duration, 4),
        frames=sum(v.frames for v in visits),
        entries=n,
        keyframes=len(visits),
    )


def _cut_keys(entries, clock: _Clock, duration: float, limits) -> dict[int, int]:
    """The keyframes looked at for cuts (entry -> dts): the last one at or before
    each point of a grid, so the count is bounded whatever the file's keyframe density."""
    most = KEYFRAMES_PER_SAMPLE * limits.max_samples
    step = max(limits.min_scene_gap_s, duration / most)
    keys: dict[int, int] = {}
    for j in range(min(most, math.ceil(duration / step))):
        i = entries.search_timestamp(clock.ts(j * step), backward=True)
        if i >= 0 and i not in keys:
            keys[i] = entries[i].timestamp
    return keys


def _serve_ticks(entries, clock: _Clock, rate: Rate, keys: dict[int, int]):
    """Each clock tick served by a keyframe close to it, else by a walk from the
    keyframe before it (added to `keys`): (on-clock keyframes, walks, walk ends)."""
    n = len(entries)
    key_list = sorted(keys)
    key_times = [clock.t_of(keys[i]) for i in key_list]
    on_clock: set[int] = set()
    walks: dict[int, list[float]] = {}
    reach: dict[int, int] = {}
    interval = rate.interval
    tolerance = interval * KEY_TOLERANCE
    at = 0
    for k in range(rate.ticks):
        tick = k * interval
        while at + 1 < len(key_times) and key_times[at + 1] <= tick:
            at += 1
        near = [
            key_list[c]
            for c in (at, at + 1)
            if c < len(key_list)
            and abs(key_times[c] - tick) <= tolerance
            and key_list[c] not in on_clock
        ]
        if near:
            on_clock.add(min(near, key=lambda i: abs(clock.t_of(keys[i]) - tick)))
            continue
        start = entries.search_timestamp(clock.ts(tick), backward=True)
        if start < 0:
            start = 0
        end = entries.search_timestamp(clock.ts(tick), backward=False, any_frame=True)
        end = n - 1 if end < 0 else end
        walks.setdefault(start, []).append(tick)
        reach[start] = max(reach.get(start, 0), end)
        keys.setdefault(start, entries[start].timestamp)
    return on_clock, walks, reach


def _visits(entries, clock: _Clock, keys, on_clock, walks, reach) -> tuple[Visit, ...]:
    n = len(entries)
    visits = []
    for i in sorted(keys):
        dts = keys[i]
        following = entries.search_timestamp(dts + 1, backward=False)
        next_dts = entries[following].timestamp if following > i else None
        # a presentation time inside this keyframe's group: mov seeks by
        # presentation time, and a keyframe is shown a few frames after it
        # is decoded, so its own decode time would land on the one before
        seek_to = (
            dts + (next_dts - dts) // 2 if next_dts is not None else dts + clock.ts(1.0) - clock.d0
        )
        walk = tuple(walks.get(i, ()))
        frames = min(n - i, reach[i] - i + 1 + WALK_SLACK) if walk else 1
        visits.append(Visit(i, dts, seek_to, clock.t_of(dts), i in on_clock, walk, frames))
    return tuple(visits)
