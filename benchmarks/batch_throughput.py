"""Batch scan throughput: `aigc batch`'s engine with 1 and 2 workers beside the naive pipeline.

The corpus: N mixed ~1-megapixel JPEG and PNG files made from the pictures
that ship with scikit-image (crops, flips, brightness and quality changes),
some signed with C2PA credentials by `provenance.sign` (a throwaway dev CA,
trusted for the run), some marked by `watermark.embed` (a benchmark-only
key), some near-copies of bank entries. The bank holds `--bank` entries.

Ours: `service.batch.run_job` end to end, as `aigc batch` runs it (process
pool start-up, decode, credentials with trust, watermark detection with the
key, PDQ lookup in the bank index, policy, a thumbnail and one committed
database row per file).

Naive: what a user could glue together from public parts, in one process
(one core): Pillow decode, c2pa-python Reader, invisible-watermark
dwtDctSvd decode, imagehash pHash compared linearly against a bank of the
same size.

    .venv/bin/python benchmarks/batch_throughput.py [--files 500] [--bank 1000]

Needs the `bench` extra (scikit-image, invisible-watermark; the latter's
top-level import wants torch, so its dwtDctSvd module is loaded on its own).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

# a script's folder comes first on sys.path, and benchmarks/matching.py (another
# benchmark) would shadow the `matching` package: the project's packages win
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

SCENES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "camera",
    "coins",
    "moon",
    "page",
    "text",
    "brick",
    "grass",
    "gravel",
    "retina",
    "cell",
)
BANK_SCENES = 4
SIDE = (1152, 864)  # ~1.0 megapixel
# a benchmark-only watermark key (never a real one)
BENCH_TEST_WATERMARK_KEY = "62656e63682d6f6e6c792d746573742d6b65792d3031"


def _scene(name: str) -> Image.Image:
    from skimage import data as skdata

    img = getattr(skdata, name)()
    if img.dtype != np.uint8:
        img = (255 * (img - img.min()) / max(1e-9, float(img.max() - img.min()))).astype(np.uint8)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(img[..., :3]))


def _variant(base: Image.Image, rng: random.Random) -> Image.Image:
    w, h = base.size
    c = rng.uniform(0.7, 1.0)
    cw, ch = int(w * c), int(h * c)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = base.crop((x, y, x + cw, y + ch)).resize(SIDE, Image.BICUBIC)
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
    return ImageEnhance.Color(img).enhance(rng.uniform(0.7, 1.3))


def _encode(img: Image.Image, fmt: str, rng: random.Random) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.save(out, "JPEG", quality=rng.randint(80, 95))
    else:
        img.save(out, "PNG", compress_level=3)
    return out.getvalue()


def make_corpus(
    work: Path, n: int, bank_size: int, seed: int = 7, bank_features: bool = False
) -> dict:
    """Write the media, the dev CA, the key registry and the bank; return the environment."""
    import matching
    import provenance
    import watermark
    from service.bank import add_entry, import_entries
    from service.db.migrations import ensure_schema

    rng = random.Random(seed)
    media = work / "media"
    media.mkdir(parents=True)
    ca = provenance.create_dev_ca(work / "ca", name="aigc batch benchmark (test only)")
    signer = provenance.SignerCredentials.from_dev_ca(ca)
    key = bytes.fromhex(BENCH_TEST_WATERMARK_KEY)
    (work / "keys.yaml").write_text(
        "keys:\n  - id: bench-test\n    owner: benchmark\n    meaning: ai_generated\n"
        "    key_env: AIGC_BENCH_TEST_WATERMARK_KEY\n"
    )
    env = {
        "AIGC_DATABASE_URL": f"sqlite:///{work / 'aigc.db'}",
        "AIGC_TRUST_ANCHORS": str(ca.root_cert),
        "AIGC_WATERMARK_KEYS": str(work / "keys.yaml"),
        "AIGC_BENCH_TEST_WATERMARK_KEY": BENCH_TEST_WATERMARK_KEY,
    }
    os.environ.update(env)
    ensure_schema(env["AIGC_DATABASE_URL"])

    bases = [_scene(s) for s in SCENES]
    # the known fakes come from scenes of their own: a crop of a scene in the
    # bank is a true match for the local-feature stage, not a false one
    banked, bases = bases[-BANK_SCENES:], bases[:-BANK_SCENES]
    known = [_variant(banked[i % len(banked)], rng) for i in range(20)]
    kinds = {"plain": 0, "signed": 0, "marked": 0, "bank_copy": 0}
    for i in range(n):
        fmt = "JPEG" if i % 5 < 3 else "PNG"
        roll = i % 10
        if roll == 7 and known:
            # a near-copy of a known fake: recompressed, slightly brightened
            img = ImageEnhance.Brightness(known[i % len(known)]).enhance(1.05)
            kind = "bank_copy"
        else:
            img = _variant(bases[rng.randrange(len(bases))], rng)
            kind = "plain"
        if roll == 3:
            img = Image.fromarray(watermark.embed(np.asarray(img.convert("RGB")), b"bench-01", key))
            kind = "marked"
        data = _encode(img, fmt, rng)
        if roll == 5:
            mime = "image/jpeg" if fmt == "JPEG" else "image/png"
            data = provenance.sign(
                data, mime, signer, digital_source_type="trainedAlgorithmicMedia", title=f"{i}"
            )
            kind = "signed"
        kinds[kind] += 1
        (media / f"{i:04d}.{'jpg' if fmt == 'JPEG' else 'png'}").write_bytes(data)

    # the bank: the known fakes from media, the rest as hash records
    bank_phashes = []
    import imagehash

    for j, img in enumerate(known):
        if bank_features:
            # as `aigc bank add FILE` does: hashes plus ORB features for crops
            add_entry(
                _encode(img, "PNG", rng), filename=f"known{j}.png", category="misleading_deepfake"
            )
        else:
            # as a shared hash list arrives: the PDQ hash alone
            pdq = matching.compute_hashes(np.asarray(img.convert("RGB"))).pdq_hex
            add_entry(pdq_hex=pdq, category="misleading_deepfake")
        bank_phashes.append(imagehash.phash(img))
    filler = max(0, bank_size - len(known))
    records = "\n".join(rng.getrandbits(256).to_bytes(32, "big").hex() for _ in range(filler))
    import_entries(records, "txt", category="misleading_deepfake")
    for _ in range(filler):
        bits = np.array([rng.random() < 0.5 for _ in range(64)]).reshape(8, 8)
        bank_phashes.append(imagehash.ImageHash(bits))
    return {"env": env, "kinds": kinds, "bank_phashes": bank_phashes, "media": media}


def run_ours(media: Path, workers: int) -> tuple[float, dict]:
    from service.batch import BatchOptions, JobStore, create_job, run_job

    store = JobStore()
    options = BatchOptions(workers=workers)
    job_id = create_job(media, options, store=store, owner="benchmark")
    started = time.perf_counter()
    first: list[float] = []

    def progress(event, payload):
        if event == "file" and not first:
            first.append(time.perf_counter())

    view = run_job(job_id, options, store=store, progress=progress)
    seconds = time.perf_counter() - started
    busy = sum(r["seconds"] or 0 for r in store.results(job_id))
    return seconds, {
        "actions": view.actions,
        "failed": view.failed,
        # pool start-up, worker engines built, first file done
        "first_result_s": round(first[0] - started, 2) if first else None,
        "worker_s_per_file": round(busy / max(1, view.done), 3),
    }


def _load_dwtdctsvd():
    # `import imwatermark` imports its torch-based rivaGan; load the one module we need.
    # Not _live.invisible_watermark: the batch pool's workers re-run this script with
    # the benchmarks folder off sys.path, where `import _live` would fail
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("invisible-watermark is not installed: pip install -e .[bench]")
    path = Path(list(spec.submodule_search_locations)[0]) / "dwtDctSvd.py"
    module_spec = importlib.util.spec_from_file_location("imwatermark_dwtDctSvd", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.EmbedDwtDctSvd


class Naive:
    """The glued pipeline, one file at a time."""

    def __init__(self, bank_phashes: list):
        import cv2

        cv2.setNumThreads(1)  # one core, as each of our workers has
        self.embed_cls = _load_dwtdctsvd()
        self.bank = bank_phashes
        self.counts = {"manifest": 0, "bank_match": 0, "errors": 0}

    def __call__(self, path: Path) -> None:
        import c2pa
        import cv2
        import imagehash

        data = path.read_bytes()
        try:
            img = Image.open(io.BytesIO(data)).convert("RGB")
            mime = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"
            reader = c2pa.Reader.try_create(mime, io.BytesIO(data))
            if reader is not None:
                with reader:
                    json.loads(reader.json())
                self.counts["manifest"] += 1
            bgr = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
            self.embed_cls(watermarks=[], wmLen=32, scales=[0, 36, 0], block=4).decode(bgr)
            h = imagehash.phash(img)
            if min(h - b for b in self.bank) <= 10:
                self.counts["bank_match"] += 1
        except Exception:
            self.counts["errors"] += 1


def run_naive(paths: list[Path], bank_phashes: list) -> tuple[float, dict]:
    naive = Naive(bank_phashes)
    started = time.perf_counter()
    for path in paths:
        naive(path)
    return time.perf_counter() - started, naive.counts


def cpu_per_file(paths: list[Path], bank_phashes: list) -> tuple[float, float]:
    """CPU seconds per file of each pipeline, alternating file by file in this process.

    Other work on the machine slows wall time but barely CPU time, and
    alternating puts both pipelines under the same conditions.
    """
    from service.batch.worker import process_file

    naive = Naive(bank_phashes)
    process_file("warm-up", str(paths[0]))
    naive(paths[0])
    ours_cpu = naive_cpu = 0.0
    for path in paths:
        t = time.process_time()
        naive(path)
        naive_cpu += time.process_time() - t
        t = time.process_time()
        process_file(path.name, str(path))
        ours_cpu += time.process_time() - t
    return naive_cpu / len(paths), ours_cpu / len(paths)


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--bank", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--cpu-sample", type=int, default=100, help="files in the CPU comparison")
    parser.add_argument(
        "--bank-features",
        action="store_true",
        help="add the known fakes as media (ORB features: the crop-robust second stage runs "
        "on every file that no hash matched) instead of as PDQ hashes",
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="aigc-bench-batch-"))
    t0 = time.perf_counter()
    corpus = make_corpus(work, args.files, args.bank, bank_features=args.bank_features)
    paths = sorted(corpus["media"].iterdir())
    made = time.perf_counter() - t0
    print(
        f"corpus: {len(paths)} files ({corpus['kinds']}), "
        f"{sum(p.stat().st_size for p in paths) / 1e6:.0f} MB, bank {args.bank} entries "
        f"({'with' if args.bank_features else 'without'} ORB features), "
        f"made in {made:.0f} s; cores {os.cpu_count()}; load before {_load()}",
        flush=True,
    )
    rows = []
    naive_s, naive_info = run_naive(paths, corpus["bank_phashes"])
    rows.append(("naive (c2pa Reader + dwtDctSvd + pHash linear)", 1, naive_s, naive_info))
    print(f"naive done, load {_load()}", flush=True)
    for workers in (1, 2):
        seconds, info = run_ours(corpus["media"], workers)
        rows.append(("aigc batch (local pool)", workers, seconds, info))
        print(f"ours x{workers} done, load {_load()}", flush=True)

    naive_rate = len(paths) / naive_s
    one = len(paths) / rows[1][2]
    print()
    print(f"{'pipeline':<50} {'workers':>7} {'seconds':>8} {'files/s':>8} {'vs naive':>9}")
    for name, workers, seconds, _info in rows:
        rate = len(paths) / seconds
        print(f"{name:<50} {workers:>7} {seconds:>8.1f} {rate:>8.1f} {rate / naive_rate:>8.1f}x")
    print()
    print(f"per core vs naive (1 worker): {one / naive_rate:.2f}x   (target >= 3x)")
    print(f"scaling 1 -> 2 workers:       {len(paths) / rows[2][2] / one:.2f}x   (target >= 1.8x)")
    for name, workers, _s, info in rows:
        print(f"  {name} x{workers}: {info}")
    sample = paths[:: max(1, len(paths) // args.cpu_sample)][: args.cpu_sample]
    naive_cpu, ours_cpu = cpu_per_file(sample, corpus["bank_phashes"])
    print(
        f"CPU per file, alternating on {len(sample)} files in one process: naive "
        f"{naive_cpu * 1000:.0f} ms, ours {ours_cpu * 1000:.0f} ms -> "
        f"{naive_cpu / ours_cpu:.2f}x per core"
    )
    print(f"load after {_load()}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work folder: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
