"""Scan time per second of video, by stage, next to a naive every-frame PDQ scan.

Run: .venv/bin/python benchmarks/video_scan.py [--seconds 10] [--repeat 3]

The clip is made here with PyAV from images that ship with scikit-image
(slow pans, a cut every 2.5 s), 1280 x 720 at 30 fps, H.264 CRF 23. Stages
follow the product's path for one upload: decode + sample (1 fps plus scene
cuts), C2PA credentials (provenance.read_credentials on the MP4 bytes),
watermark detection (pooled, then single frames) on the samples, and the video
fingerprint looked up in a bank of 1,000 reference videos (60 frames each). The peer decodes
every frame with OpenCV and PDQ-hashes every frame, as a scanner without
sampling would. Timings are the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pdqhash
from skimage import data as skdata
from skimage.transform import resize

# benchmarks/matching.py would shadow the `matching` package for a script run
# from this folder (Python puts the script's folder first on sys.path)
_HERE = Path(__file__).parent.resolve()
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from labeler.media import decode  # noqa: E402
from labeler.video import encode_frames, iter_samples  # noqa: E402
from labeler.video_match import REFERENCE_LIMITS  # noqa: E402
from labeler.video_watermark import detect_video  # noqa: E402
from matching.video import FrameHash, VideoFingerprint, VideoIndex, fingerprint  # noqa: E402
from provenance import read_credentials  # noqa: E402

SCENES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")
BENCH_KEY = b"benchmark-test-key-not-secret-00"  # a test key, named as such


def _pan(name: str, frames: int, width: int, height: int):
    img = getattr(skdata, name)()[..., :3]
    big = resize(img, (int(height * 1.2), int(width * 1.2)), preserve_range=True).astype(np.uint8)
    span_y, span_x = big.shape[0] - height, big.shape[1] - width
    for i in range(frames):
        f = i / max(1, frames - 1)
        y, x = int(span_y * f * 0.5), int(span_x * f)
        yield big[y : y + height, x : x + width]


def make_clip(seconds: float, fps: int = 30, width: int = 1280, height: int = 720) -> bytes:
    per_scene = round(2.5 * fps)
    total = round(seconds * fps)

    def frames():
        made = 0
        while made < total:
            for name in SCENES:
                count = min(per_scene, total - made)
                yield from _pan(name, count, width, height)
                made += count
                if made >= total:
                    return

    return encode_frames(frames(), fps, crf=23)


def _time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _random_bank(reference: VideoFingerprint, entries: int, frames: int) -> VideoIndex:
    rng = np.random.default_rng(1)
    index = VideoIndex()
    index.add("known", reference)
    for n in range(entries - 1):
        codes = rng.integers(0, 256, (frames, 32), dtype=np.uint8)
        fp = VideoFingerprint(
            tuple(FrameHash(c.tobytes(), 90, i * 0.2) for i, c in enumerate(codes)),
            frames,
            0,
            0,
            0.2,
        )
        index.add(f"random-{n}", fp)
    return index


def naive_opencv_pdq(data: bytes, path: str) -> int:
    capture = cv2.VideoCapture(path)
    hashed = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        pdqhash.compute(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        hashed += 1
    capture.release()
    return hashed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bank", type=int, default=1000, help="reference videos in the bank")
    args = parser.parse_args()

    import tempfile

    started = time.perf_counter()
    clip = make_clip(args.seconds)
    print(f"clip: 1280x720, 30 fps, {args.seconds:g} s, {len(clip) / 1e6:.1f} MB "
          f"(made in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    tmp = Path(tempfile.mkdtemp()) / "clip.mp4"
    tmp.write_bytes(clip)

    rows: list[tuple[str, float, str]] = []
    t_decode, media = _time(lambda: decode(clip, "clip.mp4"), args.repeat)
    rows.append(("decode + sample (>= 1 fps, cuts, keys)", t_decode, f"{len(media.frames)} frames"))

    t_cred, _ = _time(lambda: read_credentials(clip, "video/mp4"), args.repeat)
    rows.append(("credentials (C2PA, BMFF)", t_cred, "no manifest in clip"))

    # an unmarked upload is the worst case: pooled test, then up to 8 single frames
    t_wm, det = _time(lambda: detect_video(media.frames, BENCH_KEY, media.key_frames), args.repeat)
    rows.append(("watermark (1 key, pooled + single frames)", t_wm, f"detected={det.detected}"))

    reference = fingerprint(*_dense(clip))
    index = _random_bank(reference, args.bank, 60)

    def match():
        return index.lookup(fingerprint(media.frames, media.times))

    t_match, found = _time(match, args.repeat)
    hit = found[0][0] if found and found[0][1].matched else "none"
    rows.append((f"match (vPDQ, bank of {args.bank} videos)", t_match, f"best={hit}"))
    total = sum(r[1] for r in rows if r[1] == r[1])
    rows.append(("total, this project", total, ""))

    t_ref, _ = _time(lambda: fingerprint(*_dense(clip)), 1)
    signed = _signed_fixture()
    if signed is not None:
        t_signed, report = _time(lambda: read_credentials(signed, "video/mp4"), args.repeat)
    t_naive, hashed = _time(lambda: naive_opencv_pdq(clip, str(tmp)), args.repeat)

    secs = args.seconds
    print()
    print(f"{'stage':44} {'ms per s of video':>18} {'x real time':>12}  note")
    print("-" * 96)
    for name, seconds, note in rows:
        print(f"{name:44} {1000 * seconds / secs:18.1f} {secs / seconds:12.1f}  {note}")
    print("-" * 96)
    peer = "peer: OpenCV decode + PDQ every frame"
    print(f"{peer:44} {1000 * t_naive / secs:18.1f} {secs / t_naive:12.1f}  {hashed} frames hashed")
    print(f"{'bank add: reference fingerprint at 5 fps':44} {1000 * t_ref / secs:18.1f} "
          f"{secs / t_ref:12.1f}  {len(reference)} frames kept")  # fmt: skip
    if signed is not None:
        name = "credentials of video1.mp4 (signed, 2 s)"
        print(f"{name:44} {1000 * t_signed / 2.0:18.1f} {2.0 / t_signed:12.1f}  "
              f"state={report.state}")  # fmt: skip
    print(f"\nspeed-up of the sampled scan over the peer: {t_naive / total:.1f}x "
          f"(median of {args.repeat}; 2 shared CPU cores)")  # fmt: skip


def _signed_fixture() -> bytes | None:
    """The C2PA corpus's signed MP4 (BMFF hash over the whole file), where present."""
    import os

    shared = Path(os.environ.get("AIGC_SHARED_DIR", _HERE.parent.parent / "shared"))
    path = shared / "c2pa-fixtures" / "video1.mp4"
    return path.read_bytes() if path.is_file() else None


def _dense(clip: bytes):
    samples = list(iter_samples(clip, REFERENCE_LIMITS))
    return [s.rgb for s in samples], [s.time_s for s in samples]


if __name__ == "__main__":
    main()
