"""Video decoding: sampling, operator limits and hostile input give typed errors fast."""

from __future__ import annotations

import io
import time

import av
import numpy as np
import pytest

from labeler import MediaDecodeError, MediaTooLarge, UnsupportedMedia
from labeler.config import EngineConfig
from labeler.limits import video_limits
from labeler.media import Limits, decode
from labeler.video import VideoLimits, decode_video, probe_video
from service.media_encode import encode_frames


def test_fixture_video_is_sampled_once_per_second(fixtures_dir):
    media = decode((fixtures_dir / "video1.mp4").read_bytes(), "video1.mp4")
    assert media.kind == "video" and media.mime == "video/mp4"
    assert (media.width, media.height) == (720, 1280)
    # 2 s at 30 fps: short, so sampled up to min_samples (16) rather than at 1 fps;
    # portrait, scaled to 1024 on the long side
    assert len(media.frames) == 16 and len(media.times) == 16
    assert media.times[0] == 0.0 and media.times[-1] > 1.8
    assert all(f.shape == (1024, 576, 3) and f.dtype == np.uint8 for f in media.frames)
    assert media.frames[0].std() > 5  # real picture, not a blank buffer


def test_nested_moov_bomb_is_a_typed_error_and_fast(fixtures_dir):
    data = (fixtures_dir / "nested_moov_1000.mp4").read_bytes()
    started = time.monotonic()
    with pytest.raises(MediaDecodeError, match="container"):
        decode(data, "nested_moov_1000.mp4")
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_video_is_a_typed_error(make_clip, cut):
    data = make_clip()
    with pytest.raises(MediaDecodeError):
        decode(data[: int(len(data) * cut)])


def test_garbage_after_an_mp4_header_is_a_typed_error():
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40
    with pytest.raises(MediaDecodeError):
        decode(data)


def _on_clock(timestamps, expected, slack=0.25):
    # a sample is the first decoded frame at or after its time; frames nothing
    # refers to are skipped, so it may come a frame or two late
    return len(timestamps) == len(expected) and all(
        0 <= t - e < slack for t, e in zip(timestamps, expected, strict=True)
    )


def test_sampling_rate_and_timestamps(make_clip):
    data = make_clip()  # 4 scenes x 2 s at 10 fps
    one = decode_video(data, VideoLimits(sample_fps=1, min_samples=1))
    assert _on_clock(one.timestamps, range(8))
    assert one.duration_s == pytest.approx(8.0, abs=0.25)
    # B-frames are never needed at 1 fps: fewer than all 80 frames were decoded
    assert 8 <= one.frames_decoded < 80
    two = decode_video(data, VideoLimits(sample_fps=2, min_samples=1))
    assert _on_clock(two.timestamps, [k / 2 for k in range(16)])


def test_sample_budget_spreads_samples_over_the_whole_video(make_clip):
    video = decode_video(make_clip(), VideoLimits(max_samples=4))
    assert len(video.frames) <= 4
    # sparser, not cut short: the last sample lies in the last third
    assert video.timestamps[-1] >= 5.0
    assert not video.truncated


def test_scene_cut_between_samples_adds_a_sample(make_clip):
    data = make_clip(seconds_per_scene=1.5)  # cuts at 1.5 s, 3.0 s, 4.5 s
    video = decode_video(data, VideoLimits(sample_fps=1, min_samples=1))
    cut_times = [video.timestamps[i] for i in video.scene_cuts]
    assert any(1.5 <= t < 1.75 for t in cut_times)
    # the regular samples are still there
    clock = [t for i, t in enumerate(video.timestamps) if i not in video.scene_cuts]
    assert _on_clock(clock, range(6))
    # a smooth pan adds no cuts: one scene, regular samples only
    calm = decode_video(
        make_clip(scenes=("astronaut",), seconds_per_scene=4.0), VideoLimits(min_samples=1)
    )
    assert calm.scene_cuts == () and _on_clock(calm.timestamps, range(4))


def test_short_clips_are_sampled_faster_up_to_min_samples(make_clip):
    short = make_clip(scenes=("astronaut",), seconds_per_scene=4.0)
    fast = decode_video(short, VideoLimits(min_samples=8))  # 4 s: every 0.5 s, not 1 s
    assert _on_clock(fast.timestamps, [k / 2 for k in range(8)])
    # as many as min_samples when there are enough decodable frames, spread to the end
    assert len(decode_video(short).frames) >= 12
    assert decode_video(short).timestamps[-1] >= 3.5


def test_keyframes_are_reported_and_preferred(make_clip):
    # x264 starts a group of pictures at each of the 4 scene cuts (0, 2, 4, 6 s)
    video = decode_video(make_clip(), VideoLimits(min_samples=1))
    key_times = [video.timestamps[i] for i in video.key_frames]
    assert key_times[0] == 0.0 and {2.0, 4.0, 6.0}.issubset(key_times)
    # a sparse budget still spreads to the end while keyframes stand in for ticks
    sparse = decode_video(make_clip(), VideoLimits(max_samples=4, min_samples=1))
    assert sparse.timestamps[-1] >= 5.0 and sparse.key_frames[0] == 0


def test_frames_are_scaled_down_to_the_long_side_limit(make_clip):
    video = decode_video(make_clip(), VideoLimits(max_side=160))
    assert {f.shape for f in video.frames} == {(120, 160, 3)}
    assert (video.width, video.height) == (320, 240)  # the source's size is reported


def test_duration_limit_refuses_long_videos(make_clip, monkeypatch):
    data = make_clip()
    with pytest.raises(MediaTooLarge, match="8.0 s"):
        decode_video(data, VideoLimits(max_duration_s=3))
    monkeypatch.setenv("AIGC_VIDEO_MAX_SECONDS", "3")
    with pytest.raises(MediaTooLarge):
        decode(data)


def test_pixel_limit_is_checked_before_decoding(make_clip):
    with pytest.raises(MediaTooLarge, match="320 x 240"):
        decode(make_clip(), limits=Limits(max_pixels=320 * 240 - 1))


def test_decode_deadline_stops_work(make_clip):
    with pytest.raises(MediaTooLarge, match="longer than the limit"):
        decode_video(make_clip(), VideoLimits(max_decode_s=1e-9))


def test_absurd_frame_rate_is_refused():
    frames = [np.full((32, 32, 3), i, np.uint8) for i in range(4)]
    data = encode_frames(frames, fps=1000)
    with pytest.raises(MediaTooLarge, match="frames per second"):
        decode_video(data)


def test_codec_outside_the_allow_list_is_unsupported():
    out = io.BytesIO()
    with av.open(out, "w", format="mov") as container:
        stream = container.add_stream("png", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    with pytest.raises(UnsupportedMedia, match="png"):
        decode(out.getvalue())


def test_display_rotation_is_applied():
    # landscape pixels, left half white, stored with a 90 degree display matrix
    pixels = np.zeros((32, 64, 3), np.uint8)
    pixels[:, :32] = 255
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(90)
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    video = decode_video(out.getvalue())
    assert video.probe.rotation == 90 and (video.width, video.height) == (32, 64)
    rgb = video.frames[0]
    assert rgb.shape == (64, 32, 3)
    # turned counter-clockwise: the left half ends up at the bottom
    assert rgb[-8:].mean() > 200 and rgb[:8].mean() < 50


def test_probe_reads_the_header_only(make_clip):
    probe = probe_video(make_clip())
    assert (probe.codec, probe.width, probe.height) == ("h264", 320, 240)
    assert probe.duration_s == pytest.approx(8.0) and probe.fps == pytest.approx(10.0)


def test_limits_from_environment():
    config = EngineConfig.from_env({"AIGC_VIDEO_SAMPLE_FPS": "2", "AIGC_VIDEO_MAX_FRAMES": "30"})
    limits = video_limits(config)
    assert (limits.sample_fps, limits.max_samples) == (2.0, 30)
    with pytest.raises(ValueError, match="AIGC_VIDEO_MAX_SECONDS"):
        EngineConfig.from_env({"AIGC_VIDEO_MAX_SECONDS": "ten"})
    with pytest.raises(ValueError, match="positive"):
        VideoLimits(sample_fps=0)


def test_mutated_fixture_videos_decode_or_fail_typed_and_fast(fixtures_dir):
    """Seeded corruption of a real MP4 (box headers, sample data, truncation)."""
    import random

    from labeler import LabelerError

    base = (fixtures_dir / "video1.mp4").read_bytes()
    rng = random.Random(8)
    outcomes = set()
    for n in range(12):
        data = bytearray(base)
        if n % 3 == 0:  # the header and moov region
            for _ in range(20):
                data[rng.randrange(120_000)] = rng.randrange(256)
        elif n % 3 == 1:  # box sizes of the sample tables scrambled
            for box in (b"trak", b"stbl", b"stsz", b"stco", b"avcC"):
                at = data.find(box)
                data[at - 4 : at] = rng.randbytes(4)
        else:
            data = data[: rng.randrange(100, len(data))]
        started = time.monotonic()
        try:
            media = decode(bytes(data))
            outcomes.add("decoded")
            assert media.frames and all(f.dtype == np.uint8 for f in media.frames)
        except LabelerError as exc:
            outcomes.add(type(exc).__name__)
        assert time.monotonic() - started < 5.0
    assert "MediaDecodeError" in outcomes  # the corruption did reach the decoder


def test_hevc_in_quicktime_decodes():
    from skimage import data as skdata

    frame = np.ascontiguousarray(skdata.astronaut()[::4, ::4])  # 128 x 128
    mov = encode_frames([frame] * 6, fps=6, codec="libx265", container_format="mov")
    media = decode(mov, "clip.mov")
    assert media.mime == "video/quicktime" and media.kind == "video"
    assert probe_video(mov).codec == "hevc"
    assert media.frames[0].shape == (128, 128, 3)
    # the picture survives: close to the source, not a grey or garbled frame
    assert np.abs(media.frames[0].astype(int) - frame).mean() < 12
