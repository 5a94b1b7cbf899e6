"""Long videos: the cost is known from the index and grows far slower than the duration."""

from __future__ import annotations

import time

import numpy as np
import pytest

from labeler import MediaOverBudget, probe
from labeler.media import Limits, decode
from labeler.video import VideoLimits, decode_video, plan_video
from service.media_encode import encode_frames

FPS = 10
SIZE = (240, 320)  # rows, columns: small enough to encode ten minutes in seconds


def _scene(level: int) -> np.ndarray:
    frame = np.full((*SIZE, 3), level, np.uint8)
    frame[: SIZE[0] // 2, : SIZE[1] // 3] = 255 - level  # some structure to encode
    return frame


def static_clip(seconds: float, gop: int = 40, insert: tuple[float, float] | None = None) -> bytes:
    """A still picture (keyframes every `gop` frames), optionally with another shot inserted."""
    still, other = _scene(60), _scene(200)

    def frames():
        for i in range(round(seconds * FPS)):
            t = i / FPS
            yield other if insert and insert[0] <= t < insert[1] else still

    return encode_frames(frames(), FPS, gop=gop)


@pytest.fixture(scope="module")
def clips():
    return {
        "short": static_clip(30),
        # a 3 s shot between two clock ticks (the interval is 6.7 s at 10 minutes)
        "long": static_clip(600, insert=(301.5, 304.5)),
        # one keyframe for ten minutes: every tick needs a walk from the start
        "sparse": static_clip(600, gop=100_000),
    }


def test_ten_minutes_cost_about_what_thirty_seconds_do(clips):
    short, long = decode_video(clips["short"]), decode_video(clips["long"])
    # 20 times the duration, not 20 times the decoding
    assert long.frames_decoded < 2 * short.frames_decoded
    assert long.frames_decoded < 6000 / 20
    # still sampled over the whole video, within the budget
    limits = VideoLimits()
    assert long.timestamps[-1] >= 590 and len(long.frames) <= limits.max_samples
    assert len(long.frames) >= 0.75 * limits.max_samples - 2
    assert long.duration_s == pytest.approx(600, abs=0.2)


def test_a_shot_between_ticks_is_found_on_its_keyframe(clips):
    video = decode_video(clips["long"])
    inserted = [
        i for i, t in enumerate(video.timestamps) if 301.5 <= t < 304.5 and i in video.scene_cuts
    ]
    assert inserted, video.timestamps
    assert video.frames[inserted[0]].mean() > 150  # the other shot's picture


def test_probe_reports_the_plan_and_the_sparse_file_costs_more(clips):
    fast = probe(clips["long"])
    slow = probe(clips["sparse"])
    assert (fast.kind, fast.width, fast.height) == ("video", 320, 240)
    assert fast.duration_s == pytest.approx(600, abs=0.2)
    assert fast.frames <= 200 and slow.frames >= 5900  # walks from the only keyframe
    assert slow.cost > fast.cost and fast.heavy
    _, plan = plan_video(clips["long"])
    assert plan.frames == fast.frames and plan.keyframes >= 150


def test_an_over_budget_video_is_refused_before_decoding(clips):
    budget = Limits(max_cost=probe(clips["long"]).cost + 50)
    started = time.process_time()
    with pytest.raises(MediaOverBudget, match="megapixels"):
        decode(clips["sparse"], limits=budget)
    assert time.process_time() - started < 0.5
    assert decode(clips["long"], limits=budget).kind == "video"


def test_the_probe_is_cheap(clips):
    probe(clips["long"])  # PyAV's import and first open
    started = time.process_time()
    for _ in range(5):
        probe(clips["sparse"])
    assert (time.process_time() - started) / 5 < 0.05
