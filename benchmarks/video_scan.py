"""Scan time per second of video, by stage, next to a naive every-frame PDQ scan.

Run: .venv/bin/python benchmarks/video_scan.py [--seconds 10] [--repeat 3]

The clip is made here with PyAV from images that ship with scikit-image
(slow pans, a cut every 2.5 s), 1280 x 720 at 30 fps, H.264 CRF 23. Stages
follow the product's path for one upload: decode + sample (1 fps plus scene
cuts), C2PA credentials (provenance.read_credentials on the MP4 bytes),
watermark detection (pooled, then single frames) on the samples, the video
fingerprint looked up in a bank of 1,000 reference videos (60 frames each),
and, for a bank whose entries keep keyframes, the ORB features of up to 8
samples and their lookup in 100 videos x 10 keyframes (made from photos the
clip does not show, so the upload matches nothing: the common path, and the
dearest, every candidate video tried and dropped). The peer decodes
every frame with OpenCV and PDQ-hashes every frame, as a scanner without
sampling would. Timings are process CPU time (all threads: PyAV decodes on
several), the median of --repeat runs; "x real time" is seconds of video per
CPU second.

`--section cost` (also part of the default `all`) measures what an upload
costs before and after sampling by seeking: static 1280 x 720 60 fps clips of
30 s and 14 minutes (the 14-minute one is the 30 s encode repeated by stream
copy, so it is made in seconds; its 202 keyframes are where x264 would put
them), scanned by the product's path and by the every-frame path it replaced
(all frames but B-frames decoded in sequence), in process CPU time and wall
time; and the peak RSS of decoding and scanning a 7000 x 7000 single-colour
JPEG, each in a child process, at full size (the former decode) and at
reduced scale.
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
from labeler.signals.match.video import REFERENCE_LIMITS, reference_prints  # noqa: E402
from labeler.signals.watermark.video import detect_video  # noqa: E402
from labeler.video import iter_samples  # noqa: E402
from matching.features import extract_features  # noqa: E402
from matching.video import (  # noqa: E402
    FrameHash,
    Keyframes,
    VideoFingerprint,
    VideoIndex,
    fingerprint,
    query_frames,
)
from provenance import read_credentials  # noqa: E402
from service.media_encode import encode_frames  # noqa: E402

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
        start = time.process_time()
        result = fn()
        times.append(time.process_time() - start)
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


KEYFRAME_PHOTOS = ("coins", "camera", "moon", "brick", "clock", "grass", "gravel", "cell")


def _keyframe_bank(entries: int = 100, per_entry: int = 10) -> VideoIndex:
    """Videos with random vPDQ codes and real keyframes: random views of other photos."""
    rng = np.random.default_rng(2)
    photos = []
    for name in KEYFRAME_PHOTOS:
        img = getattr(skdata, name)()
        photos.append(np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3])
    index = VideoIndex()
    for n in range(entries):
        codes = rng.integers(0, 256, (per_entry, 32), dtype=np.uint8)
        frames = tuple(FrameHash(c.tobytes(), 90, float(i)) for i, c in enumerate(codes))
        feats = []
        for _ in range(per_entry):
            img = photos[rng.integers(len(photos))]
            h, w = img.shape[:2]
            side = rng.uniform(0.5, 1.0)
            ch, cw = int(h * side), int(w * side)
            y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            feats.append(extract_features(np.ascontiguousarray(img[y : y + ch, x : x + cw])))
        keyframes = Keyframes(tuple(float(i) for i in range(per_entry)), tuple(feats))
        index.add(f"keyed-{n}", VideoFingerprint(frames, per_entry, 0, 0, 1.0), keyframes)
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
    parser.add_argument("--section", choices=("stages", "cost", "all"), default="all")
    args = parser.parse_args()
    if args.section in ("cost", "all"):
        cost_section()
    if args.section == "cost":
        return

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
    before = sum(r[1] for r in rows)
    rows.append(("total, vPDQ alone (before keyframes)", before, ""))

    query = fingerprint(media.frames, media.times)
    usable = [f.time_s for f in query.frames]
    t_feats, frames = _time(lambda: query_frames(media.frames, media.times, usable), args.repeat)
    rows.append(("local features of the samples (ORB)", t_feats, f"{len(frames)} frames"))
    keyed = _keyframe_bank()
    keyed.lookup(query, frames=frames)  # builds the vote index, as a worker's first lookup does
    t_keyed, found = _time(lambda: keyed.lookup(query, frames=frames), args.repeat)
    hit = found[0][0] if found and found[0][1].matched else "none"
    rows.append(("match by keyframes (100 videos x 10)", t_keyed, f"best={hit}"))
    total = before + t_feats + t_keyed
    rows.append(("total, this project", total, f"{total / before:.2f}x vPDQ alone"))

    t_ref, _ = _time(lambda: fingerprint(*_dense(clip)), 1)
    t_prints, (_, keyframes) = _time(lambda: reference_prints(clip), 1)
    signed = _signed_fixture()
    if signed is not None:
        t_signed, report = _time(lambda: read_credentials(signed, "video/mp4"), args.repeat)
    t_naive, hashed = _time(lambda: naive_opencv_pdq(clip, str(tmp)), args.repeat)

    secs = args.seconds
    print()
    print(f"{'stage':44} {'CPU ms per s':>18} {'x real time':>12}  note")
    print("-" * 96)
    for name, seconds, note in rows:
        print(f"{name:44} {1000 * seconds / secs:18.1f} {secs / seconds:12.1f}  {note}")
    print("-" * 96)
    peer = "peer: OpenCV decode + PDQ every frame"
    print(f"{peer:44} {1000 * t_naive / secs:18.1f} {secs / t_naive:12.1f}  {hashed} frames hashed")
    print(f"{'bank add: reference fingerprint at 5 fps':44} {1000 * t_ref / secs:18.1f} "
          f"{secs / t_ref:12.1f}  {len(reference)} frames kept")  # fmt: skip
    print(f"{'bank add: the same + keyframes, one decode':44} {1000 * t_prints / secs:18.1f} "
          f"{secs / t_prints:12.1f}  {len(keyframes)} keyframes")  # fmt: skip
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


# ---------------------------------------------------------------- cost before work


def static_clip(seconds: int, fps: int = 60, width: int = 1280, height: int = 720) -> bytes:
    still = cv2.resize(skdata.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    return encode_frames((still for _ in range(seconds * fps)), fps, crf=23)


def loop_clip(data: bytes, times: int) -> bytes:
    """The clip `times` over by stream copy (each copy starts on its keyframe)."""
    import io

    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out, "w", format="mp4") as target:
        stream = source.streams.video[0]
        packets = [p for p in source.demux(stream) if p.size]
        copy = target.add_stream_from_template(stream)
        span = max(p.pts for p in packets) - min(p.pts for p in packets) + packets[0].duration
        for n in range(times):
            for p in packets:
                p.pts += span if n else 0
                p.dts += span if n else 0
                p.stream = copy
                target.mux(p)
    return out.getvalue()


def every_frame_sampling(data: bytes):
    """The former path: decode in sequence (B-frames skipped), sample on the way."""
    from labeler.config import EngineConfig
    from labeler.limits import video_limits
    from labeler.video import SampleStats
    from labeler.video.container import open_container, read_header
    from labeler.video.decode import _sample

    limits = video_limits(EngineConfig.from_env())
    stats = SampleStats()
    with open_container(data) as container:
        probe, stream = read_header(container, limits, 50_000_000)
        stream.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONREF"
        deadline = time.monotonic() + 3600  # the measurement, not the limit
        samples = list(_sample(container, stream, probe, limits, 50_000_000, deadline, stats))
    return [s.rgb for s in samples], [s.time_s for s in samples], stats.frames_decoded


def product_sampling(data: bytes):
    from labeler.video import decode_video

    video = decode_video(data)
    return list(video.frames), list(video.timestamps), video.frames_decoded


def _clocks(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def _signals(frames, times) -> None:
    detect_video(frames, BENCH_KEY)
    fingerprint(frames, times)


_PEAK = """
import io, re, sys
import numpy as np
from PIL import Image, ImageOps
import labeler

def peak_mb():
    # this process's own high-water mark: ru_maxrss would start at the
    # parent's (Linux carries it over exec)
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024

data = open(sys.argv[1], "rb").read()
imported = peak_mb()
engine = labeler.Engine(watermark_keys=None)
if sys.argv[2] == "full":  # the former decode: the whole picture at full size
    from labeler.media import Media
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    media = Media(data, "image/jpeg", "image", "-", 7000, 7000, (rgb,))
else:
    media = labeler.media.decode(data)
decoded = peak_mb()
from matching import compute_hashes
import watermark
compute_hashes(media.frames[0], features=True, mirrored_features=True, for_query=True)
watermark.detect(media.frames[0], bytes(32))
engine.gather(media)
print(imported, decoded, peak_mb())
"""


def _peak_rss(path: Path, mode: str) -> tuple[int, int, int]:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path), mode], capture_output=True, text=True, check=True
    )
    imported, decoded, scanned = out.stdout.split()
    return int(imported), int(decoded), int(scanned)


def cost_section() -> None:
    import io
    import tempfile

    from PIL import Image

    from labeler import probe

    started = time.perf_counter()
    short = static_clip(30)
    long = loop_clip(short, 28)
    print(f"static 720p60 clips: 30 s {len(short) / 1e6:.1f} MB, 14 min {len(long) / 1e6:.1f} MB "
          f"(made in {time.perf_counter() - started:.0f} s)")  # fmt: skip
    header = (f"{'clip':8} {'path':22} {'decoded':>8} {'samples':>8} {'sample cpu':>11} "
              f"{'sample wall':>12} {'scan cpu':>9} {'scan wall':>10}")  # fmt: skip
    print()
    print(header)
    print("-" * len(header))
    for name, clip in (("30 s", short), ("14 min", long)):
        for path, fn in (
            ("every frame (before)", every_frame_sampling),
            ("seek + keyframes", product_sampling),
        ):
            cpu, wall, (frames, times, decoded) = _clocks(lambda fn=fn, clip=clip: fn(clip))
            s_cpu, s_wall, _ = _clocks(lambda frames=frames, times=times: _signals(frames, times))
            print(f"{name:8} {path:22} {decoded:8d} {len(frames):8d} {cpu:10.2f}s "
                  f"{wall:11.2f}s {cpu + s_cpu:8.2f}s {wall + s_wall:9.2f}s")  # fmt: skip
        found = probe(clip)
        print(f"{'':8} {'probe (header+index)':22} {found.frames:8d} {found.samples:8d} "
              f"cost {found.cost:,.0f} Mpx, heavy={found.heavy}")  # fmt: skip
    print("(scan = sampling + watermark detect_video with 1 key + vPDQ fingerprint of the samples)")

    buf = io.BytesIO()
    Image.new("RGB", (7000, 7000), (90, 120, 200)).save(buf, "JPEG", quality=90)
    path = Path(tempfile.mkdtemp()) / "flat7000.jpg"
    path.write_bytes(buf.getvalue())
    print(f"\n7000 x 7000 single-colour JPEG ({len(buf.getvalue()) / 1024:.0f} KB), "
          "peak RSS of a child process:")  # fmt: skip
    print(f"{'decode':22} {'imports':>10} {'+ decode':>10} {'+ signals':>10}")
    for label, mode in (("full size (before)", "full"), ("reduced (draft 1/4)", "reduced")):
        imported, decoded, scanned = _peak_rss(path, mode)
        print(f"{label:22} {imported:7d} MB {decoded:7d} MB {scanned:7d} MB")
    print()


if __name__ == "__main__":
    main()
