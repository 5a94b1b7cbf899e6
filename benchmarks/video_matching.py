"""Video match accuracy: re-uploads of banked clips found, distinct clips left alone.

    .venv/bin/python benchmarks/video_matching.py [--trials 4]

Clips are made here from images that ship with scikit-image (slow pans, a
cut every 3 s, 640 x 360 at 15 fps, 9 s, H.264 CRF 20). Five are banked
(`reference_prints`: the 5 fps vPDQ fingerprint and one keyframe a second);
the distinct clips share no image with them: one of held-out photos and four
of mosaics of `lfw_subset` faces. Every row applies its transform to every
banked clip `--trials` times (crop positions, sizes and CRF drawn from a
fixed seed) and to every distinct clip once, re-encoded with PyAV as an
upload would be, then decoded and sampled by the product's path
(labeler.media.decode: 1 fps, at least 16 samples, cuts). The last row
builds a 27 s upload around each banked clip (zoomed into 80% of it) from
face mosaics; its distinct uploads are the distinct clips re-encoded.

Columns, on the same uploads: `vPDQ` is the whole-frame fingerprint alone
(the lookup before keyframes); `full` adds local features on the entries'
keyframes (`VideoIndex.lookup(..., frames=...)`). recall = share of copies
matched to their own entry; false = matches to a wrong entry (copies) or
to any entry (distinct clips). CPU per upload (process time) is the query
side (fingerprint, and for `full` the features of up to 8 frames) plus the
lookup, averaged over the row's uploads.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data as skdata

_HERE = Path(__file__).parent.resolve()
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from labeler.media import decode  # noqa: E402
from labeler.signals.match.video import prepare, reference_prints  # noqa: E402
from matching.video import VideoIndex  # noqa: E402
from service.media_encode import crop_transform, encode_frames, reencode  # noqa: E402

SIZE = (640, 360)
FPS = 15
SCENE_S = 3.0
BANKED = (
    ("astronaut", "coffee", "chelsea"),
    ("rocket", "immunohistochemistry", "retina"),
    ("coins", "camera", "moon"),
    ("brick", "clock", "cell"),
    ("hubble_deep_field", "microaneurysms", "grass"),
)
DISTINCT = (("page", "text", "gravel"),)
FACE_MOSAICS = 4


def _rgb(img: np.ndarray) -> np.ndarray:
    if img.dtype != np.uint8:
        img = (255 * (img - img.min()) / max(1e-9, float(np.ptp(img)))).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def _mosaic(faces: np.ndarray) -> np.ndarray:
    """15 faces of 25 px, each enlarged to 120 px, in a 5 x 3 grid (600 x 360)."""
    tiles = [cv2.resize(_rgb(f), (120, 120), interpolation=cv2.INTER_CUBIC) for f in faces]
    rows = [np.hstack(tiles[r * 5 : r * 5 + 5]) for r in range(3)]
    return np.vstack(rows)


def _pan(img: np.ndarray, frames: int):
    width, height = SIZE
    big = cv2.resize(img, (int(width * 1.2), int(height * 1.2)), interpolation=cv2.INTER_AREA)
    span_y, span_x = big.shape[0] - height, big.shape[1] - width
    for i in range(frames):
        f = i / max(1, frames - 1)
        y, x = int(span_y * f * 0.5), int(span_x * f)
        yield big[y : y + height, x : x + width]


def make_clip(images: list[np.ndarray]) -> bytes:
    per_scene = round(SCENE_S * FPS)
    frames = (frame for img in images for frame in _pan(img, per_scene))
    return encode_frames(frames, FPS, crf=20)


def _photos() -> dict[str, np.ndarray]:
    return {name: _rgb(getattr(skdata, name)()) for s in BANKED + DISTINCT for name in s}


def _mosaics() -> list[np.ndarray]:
    """12 mosaics of 15 different faces each (180 of lfw_subset's 200)."""
    faces = skdata.lfw_subset()
    return [_mosaic(faces[k * 15 : (k + 1) * 15]) for k in range(12)]


def clips() -> tuple[dict[str, bytes], dict[str, bytes]]:
    photo = _photos()
    banked = {"+".join(s): make_clip([photo[n] for n in s]) for s in BANKED}
    distinct = {"+".join(s): make_clip([photo[n] for n in s]) for s in DISTINCT}
    mosaics = _mosaics()
    for m in range(FACE_MOSAICS):
        distinct[f"faces-{m}"] = make_clip(mosaics[3 * m : 3 * m + 3])
    return banked, distinct


def compilation(name: str, rng) -> bytes:
    """27 s: 6 s of other footage, the banked clip zoomed into 80% of it, 12 s more.

    The upload contains the whole known clip (cropped), so most of it is not
    the known clip: the reference side of containment must carry the match.
    """
    photo, mosaics = _photos(), _mosaics()
    per_scene = round(SCENE_S * FPS)
    zoom = crop_transform(0.8, rng.random(), rng.random())
    width, height = SIZE
    known = (
        cv2.resize(zoom(f, 0), (width, height), interpolation=cv2.INTER_LINEAR)
        for n in name.split("+")
        for f in _pan(photo[n], per_scene)
    )
    before = (f for m in mosaics[9:11] for f in _pan(m, per_scene))
    after = (f for m in mosaics[11:12] + mosaics[9:12] for f in _pan(m, per_scene))
    return encode_frames(itertools.chain(before, known, after), FPS, crf=30)


# --- re-uploads ---------------------------------------------------------
def _caption(rgb, _index):
    out = rgb.copy()
    bar = rgb.shape[0] // 5
    out[:bar] = 255
    cv2.putText(out, "BREAKING: watch before it is deleted", (6, int(bar * 0.7)), 0,
                bar / 60, (0, 0, 0), 2)  # fmt: skip
    return out


def _mirror(rgb, _index):
    return np.ascontiguousarray(rgb[:, ::-1])


def _then(a, b):
    return lambda rgb, i: b(a(rgb, i), i)


def _row(rng, kind: str):
    """(transform, reencode keywords) of one upload of a row, drawn from rng."""
    y0, x0 = rng.random(), rng.random()
    share = float(rng.uniform(0.6, 0.9))
    crf = int(rng.integers(28, 33))
    return {
        "re-encode, CRF 28": (None, dict(crf=28)),
        "trimmed to 5 s, CRF 28": (
            None,
            dict(crf=28, start_s=float(rng.uniform(0.5, 3.5)), length=5.0),
        ),  # fmt: skip
        "crop 90%, 288p, CRF 28": (crop_transform(0.9, y0, x0), dict(crf=28, max_height=288)),
        "crop 80%, 240p, CRF 30": (crop_transform(0.8, y0, x0), dict(crf=30, max_height=240)),
        "crop 70%, CRF 32": (crop_transform(0.7, y0, x0), dict(crf=32)),
        "crop 60%, 240p, CRF 32": (crop_transform(0.6, y0, x0), dict(crf=32, max_height=240)),
        "crop 60-90% + trimmed, CRF 28-32": (
            crop_transform(share, y0, x0),
            dict(crf=crf, start_s=float(rng.uniform(0.5, 3.0)), length=5.0),
        ),
        "caption bar (a fifth), CRF 30": (_caption, dict(crf=30)),
        "crop 80% + caption bar, CRF 30": (
            _then(crop_transform(0.8, y0, x0), _caption),
            dict(crf=30),
        ),
        "mirrored + crop 80%, CRF 30": (_then(_mirror, crop_transform(0.8, y0, x0)), dict(crf=30)),
    }[kind]


ROWS = (
    "re-encode, CRF 28",
    "trimmed to 5 s, CRF 28",
    "crop 90%, 288p, CRF 28",
    "crop 80%, 240p, CRF 30",
    "crop 70%, CRF 32",
    "crop 60%, 240p, CRF 32",
    "crop 60-90% + trimmed, CRF 28-32",
    "caption bar (a fifth), CRF 30",
    "crop 80% + caption bar, CRF 30",
    "mirrored + crop 80%, CRF 30",
)
COMPILATION = "zoomed 80% inside a 27 s compilation"


def upload(clip: bytes, rng, kind: str, name: str | None = None) -> bytes:
    if kind == COMPILATION:
        return compilation(name, rng) if name else reencode(clip, crf=30)
    transform, kw = _row(rng, kind)
    length = kw.pop("length", None)
    if length is not None:
        kw["end_s"] = kw["start_s"] + length
    return reencode(clip, transform, **kw)


def _scan(index: VideoIndex, data: bytes, full: bool) -> tuple[str | None, float]:
    """(matched entry or None, CPU seconds of query side + lookup)."""
    media = decode(data, "upload.mp4")
    start = time.process_time()
    fp, frames = prepare(media, features=full)
    found = index.lookup(fp, frames=frames, limit=1)
    cpu = time.process_time() - start
    return (found[0][0] if found and found[0][1].matched else None), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4, help="uploads per banked clip and row")
    args = parser.parse_args()
    started = time.perf_counter()
    banked, distinct = clips()
    index = VideoIndex()
    add_cpu = time.process_time()
    for name, clip in banked.items():
        index.add(name, *reference_prints(clip))
    add_cpu = (time.process_time() - add_cpu) / len(banked)
    print(f"{len(banked)} banked clips, {len(distinct)} distinct, {SIZE[0]}x{SIZE[1]} {FPS} fps "
          f"{SCENE_S * 3:g} s; bank add {1000 * add_cpu:.0f} ms CPU a clip "
          f"(made in {time.perf_counter() - started:.0f} s)\n")  # fmt: skip
    rng = np.random.default_rng(19)
    head = f"{'row':36} {'n':>4} {'vPDQ':>6} {'full':>6} {'false':>6} {'distinct':>9}"
    print(head + f" {'ms vPDQ':>8} {'ms full':>8}")
    print("-" * (len(head) + 18))
    totals = {"copies": 0, "found": 0, "false": 0, "distinct_false": 0}
    for kind in (*ROWS, COMPILATION):
        hits = {False: 0, True: 0}
        false = distinct_false = 0
        cpu = {False: [], True: []}
        uploads = [(name, upload(clip, rng, kind, name)) for name, clip in banked.items()
                   for _ in range(args.trials)]  # fmt: skip
        others = [upload(clip, rng, kind) for clip in distinct.values()]
        for name, data in uploads:
            for full in (False, True):
                got, t = _scan(index, data, full)
                cpu[full].append(t)
                hits[full] += got == name
                false += full and got not in (None, name)
        for data in others:
            for full in (False, True):
                got, t = _scan(index, data, full)
                cpu[full].append(t)
                distinct_false += got is not None
        n = len(uploads)
        print(f"{kind:36} {n:4d} {hits[False] / n:6.2f} {hits[True] / n:6.2f} {false:6d} "
              f"{distinct_false:6d}/{len(others):<2d} {1000 * np.mean(cpu[False]):8.1f} "
              f"{1000 * np.mean(cpu[True]):8.1f}")  # fmt: skip
        totals["copies"] += n
        totals["found"] += hits[True]
        totals["false"] += false
        totals["distinct_false"] += distinct_false
    print(f"\nall rows: {totals['found']}/{totals['copies']} copies found, "
          f"{totals['false']} matched to a wrong entry, {totals['distinct_false']} distinct "
          f"uploads matched; {time.perf_counter() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
