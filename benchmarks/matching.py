"""Index speed: our MIH index against brute-force scans, side by side, one core.

    .venv/bin/python benchmarks/matching.py                    # 10^5 and 10^6
    .venv/bin/python benchmarks/matching.py --sizes 1e5,1e6,1e7 # the full run (~1.5 GB peak)
    .venv/bin/python benchmarks/matching.py --sizes "" --load 1e5,1e6  # start-up load only
    .venv/bin/python benchmarks/matching.py --sizes "" --orb 100,1000,5000  # ORB stage only

Banks of N random 256-bit codes plus planted near-duplicates of every query
(at distances 0..31 inside the radius and 32..40 outside). For each method:
build time, memory, per-query latency p50/p99 at radius 31 (one query = one
256-bit hash; a full image lookup sends 8 dihedral variants, shown as its
own row), and recall = planted neighbours found / planted neighbours within
the radius. Every MIH answer is compared with the brute-force answer
(`exact` column). Peers:

- numpy brute force: XOR + np.bitwise_count over all N codes per query
- faiss IndexBinaryFlat: exact scan in C++ (optional peer, `pip install .[bench]`)
- imagehash-style linear: a Python loop of `ImageHash - ImageHash` per entry,
  which is what calling imagehash's comparison per bank entry costs. It is
  measured at 10^5 only (a few queries) and extrapolated linearly to larger N
  (marked "extrapolated"): it is linear in N by construction.

With `--orb SIZES` (e.g. 100,1000,5000): the local-feature (ORB) stage,
which runs on every upload that no hash matches, against N media entries
(views cut from skimage photos; see `_orb_entries`): lookup latency and
whether crops are still found, with candidates picked by substring votes
(`matching/votes.py`, now) and by FLANN LSH (before; slow, so it runs up to
`--orb-peer-max` entries and on every 9th query above 100).

With `--load SIZES`: the start-up cost of a worker, i.e. building the
in-memory Bank from a SQLite bank of N imported PDQ hashes (hex rows, as
`aigc bank import` writes them), side by side: `service.db.bank_source.
load_bank` (one query, hex columns decoded in bulk, entries kept as
columns) against the previous path (one `Bank.add` per row, kept here as
the peer). Both banks are checked to give the same answers.

Single core: OMP/BLAS threads are pinned to 1 before numpy loads.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching.index import HammingIndex, brute_force  # noqa: E402

RADIUS = 31


def make_bank(n: int, queries: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    qs = rng.integers(0, 256, (queries, 32), dtype=np.uint8)
    planted = []  # (query, row, distance)
    rows = rng.choice(n, size=queries * 6, replace=False)
    k = 0
    for qi, q in enumerate(qs):
        bits = np.unpackbits(q)
        for d in (0, int(rng.integers(1, 16)), int(rng.integers(16, 31)), 31, 32, 40):
            flipped = bits.copy()
            flipped[rng.choice(256, d, replace=False)] ^= 1
            codes[rows[k]] = np.packbits(flipped)
            planted.append((qi, int(rows[k]), d))
            k += 1
    return codes, [bytes(q) for q in qs], planted


def percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def recall(found: list[set[int]], planted) -> float:
    inside = [(q, r) for q, r, d in planted if d <= RADIUS and q < len(found)]
    return sum(1 for q, r in inside if r in found[q]) / len(inside)


def time_queries(fn, queries) -> tuple[list[float], list[set[int]]]:
    times, found = [], []
    fn(queries[0])  # warm caches and lazy allocations
    for q in queries:
        t = time.perf_counter()
        rows = fn(q)
        times.append(time.perf_counter() - t)
        found.append(set(int(r) for r in rows))
    return times, found


def bench_size(n: int, nq: int, with_faiss: bool, imagehash_ms: float | None, tables):
    codes, queries, planted = make_bank(n, nq)
    out = []

    t = time.perf_counter()
    index = HammingIndex(codes, tables=tables)
    build = time.perf_counter() - t
    times, found = time_queries(lambda q: index.search(q, RADIUS)[0][0], queries)
    truth = [set(brute_force(index.words, q, RADIUS)[0][0].tolist()) for q in queries]
    exact = all(a == b for a, b in zip(found, truth, strict=True))
    p50, p99 = percentiles(times)
    layout = f"MIH {len(index.layout)} tables"
    out.append((layout, build, index.nbytes, p50, p99, recall(found, planted), exact))

    # a whole image lookup: 8 dihedral variants in one call
    batches = [queries[i : i + 8] for i in range(0, len(queries) - 7, 8)]
    btimes = []
    for b in batches:
        t = time.perf_counter()
        index.search(b, RADIUS)
        btimes.append(time.perf_counter() - t)
    p50b, p99b = percentiles(btimes)
    out.append((layout + ", 8 variants/call", 0.0, index.nbytes, p50b, p99b, None, None))

    words = index.words
    bq = queries[: max(10, nq // 5)]
    times, found = time_queries(lambda q: brute_force(words, q, RADIUS)[0][0], bq)
    p50, p99 = percentiles(times)
    out.append(("numpy brute force", 0.0, words.nbytes, p50, p99, recall(found, planted), True))

    if with_faiss:
        import faiss

        faiss.omp_set_num_threads(1)
        t = time.perf_counter()
        fx = faiss.IndexBinaryFlat(256)
        fx.add(codes)
        fbuild = time.perf_counter() - t

        def fsearch(q):
            # faiss returns distances strictly below the radius it is given
            _, _, ids = fx.range_search(np.frombuffer(q, np.uint8)[None, :], RADIUS + 1)
            return ids

        times, found = time_queries(fsearch, bq)
        p50, p99 = percentiles(times)
        out.append(
            ("faiss IndexBinaryFlat", fbuild, codes.nbytes, p50, p99, recall(found, planted), True)
        )

    if imagehash_ms is not None:
        ms = imagehash_ms * n / 100_000
        note = "imagehash linear" + ("" if n == 100_000 else " (extrapolated)")
        out.append((note, 0.0, None, ms, ms, 1.0, True))
    return out


def measure_imagehash(n: int = 100_000, nq: int = 3) -> float:
    """ms per query of a Python loop comparing ImageHash objects (256-bit)."""
    import imagehash

    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, (n, 16, 16)).astype(bool)
    bank = [imagehash.ImageHash(b) for b in bits]
    times = []
    for qi in range(nq):
        q = bank[qi * 7]
        t = time.perf_counter()
        hits = [i for i, h in enumerate(bank) if q - h <= RADIUS]
        times.append(time.perf_counter() - t)
        assert qi * 7 in hits
    return float(np.median(times) * 1000)


def _sqlite_bank(path: Path, n: int, seed: int = 5) -> tuple[str, np.ndarray]:
    """A SQLite file holding n imported PDQ hashes in the service's schema."""
    import sqlite3
    from datetime import UTC, datetime

    from service.db.migrations import ensure_schema

    url = f"sqlite:///{path}"
    ensure_schema(url)
    codes = np.random.default_rng(seed).integers(0, 256, (n, 32), dtype=np.uint8)
    cats = ("misleading_deepfake", "known_aigc", "manipulated_media")
    now = datetime.now(UTC).isoformat(sep=" ")
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO bank_entries (category, severity, added_at, active, pdq, phash)"
        " VALUES (?, ?, ?, 1, ?, NULL)",
        ((cats[i % 3], "high", now, bytes(c).hex()) for i, c in enumerate(codes)),
    )
    con.execute("INSERT INTO bank_state (id, version, updated_at) VALUES (1, 1, ?)", (now,))
    con.commit()
    con.close()
    return url, codes


def load_per_entry(url: str):
    """The previous load path: one Bank.add per row (the peer)."""
    from sqlalchemy import select

    import matching
    from service.db.bank_source import ENTRIES
    from service.db.base import get_engine

    bank = matching.Bank()
    c = ENTRIES.c
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            select(c.id, c.pdq, c.pdq_unboxed, c.phash, c.features, c.category, c.severity)
            .where(c.active.is_(True))
            .order_by(c.id)
        )
        for eid, pdq, unboxed, phash, blob, category, severity in rows:
            features = matching.LocalFeatures.from_blob(blob) if blob else None
            bank.add(
                str(eid),
                pdq=pdq,
                pdq_unboxed=unboxed or None,
                phash=phash or None,
                features=features,
                category=category,
                severity=severity,
                compact=False,
            )
    bank.compact()
    return bank


def bench_load(sizes: list[int], with_peer: bool) -> None:
    import gc
    import tempfile

    from service.db.bank_source import load_bank

    print("\nstart-up load of the bank from SQLite (imported PDQ hashes), one core")
    # CPU seconds are the load-robust figure on a shared machine; wall includes waiting
    print("| N | method | wall s | CPU s | same answers |")
    print("|---|---|---|---|---|")
    waits = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url, codes = _sqlite_bank(Path(tmp) / "bank.db", n)
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            bulk, _ = load_bank(url)
            bulk_s = (time.perf_counter() - t, time.process_time() - c)
            assert len(bulk) == n
            rows = [("load_bank, bulk columns (this pass)", bulk_s, "-")]
            if with_peer:
                gc.collect()
                t, c = time.perf_counter(), time.process_time()
                ref = load_per_entry(url)
                ref_s = (time.perf_counter() - t, time.process_time() - c)
                rng = np.random.default_rng(9)
                same = True
                for i in rng.choice(n, 50, replace=False):
                    q = bytearray(codes[i].tobytes())
                    for bit in rng.choice(256, int(rng.integers(0, 32)), replace=False):
                        q[bit // 8] ^= 0x80 >> (bit % 8)
                    same &= bulk.lookup_pdq(bytes(q)) == ref.lookup_pdq(bytes(q))
                rows[0] = (rows[0][0], bulk_s, "yes" if same else "NO")
                rows.append(("Bank.add per row (previous path)", ref_s, "-"))
                del ref
            del bulk
            for name, secs, same in rows:
                print(f"| {n:.0e} | {name} | {secs[0]:.2f} | {secs[1]:.2f} | {same} |", flush=True)
            waits.append((n, bulk_s[0], _lookups_during_rebuild(url, Path(tmp) / "bank.db", codes)))
    print(
        "\nlookups while another worker's bank change is rebuilt on a thread (back to back, "
        "version checked every 1 s as in a worker); before, the lookup that found the new "
        "version waited for the whole rebuild"
    )
    print("| N | rebuild wall s | new bank served after s | lookups meanwhile | p50 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for n, load_s, (served_s, count, p50, worst) in waits:
        print(f"| {n:.0e} | {load_s:.2f} | {served_s:.2f} | {count:,} | {p50:.2f} | {worst:.1f} |")


def _lookups_during_rebuild(url: str, path: Path, codes: np.ndarray) -> tuple:
    """Bump the version as another writer would, then time lookups until the new bank is in."""
    import sqlite3

    from service.db.bank_source import BankIndexCache

    cache = BankIndexCache(url)
    old = cache.current()
    cache.check_interval = 0.0  # the next lookup is the one that finds the new version
    con = sqlite3.connect(path)
    con.execute("UPDATE bank_state SET version = version + 1 WHERE id = 1")
    con.commit()
    con.close()
    times = []
    start = time.monotonic()
    while time.monotonic() < start + 120:
        t = time.perf_counter()
        bank = cache.current()
        cache.check_interval = 1.0
        bank.lookup_pdq(codes[len(times) % len(codes)].tobytes())
        times.append((time.perf_counter() - t) * 1000)
        if bank is not old:
            break
    served = time.monotonic() - start
    del old, bank
    return served, len(times), float(np.median(times)), max(times)


# --- the local-feature (ORB) stage with thousands of media entries -------
ORB_BASES = (
    "astronaut", "brick", "camera", "cell", "chelsea", "coins", "grass", "gravel",
    "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina",
    "rocket", "hubble_deep_field", "motorcycle_left",
)  # fmt: skip


def _skimage_rgb(name: str) -> np.ndarray:
    from skimage import data as skdata

    img = skdata.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skdata, name)()
    if img.dtype != np.uint8:
        img = (255 * (img - img.min()) / max(1e-9, float(np.ptp(img)))).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def _orb_entries(n: int, seed: int = 11):
    """N media entries cut from skimage photos: random crop (30-75% a side),
    dihedral turn, size and brightness, i.e. many overlapping views of 17
    pictures (harder for the vote than N unrelated photos: similar content
    spreads the votes)."""
    import cv2

    rng = np.random.default_rng(seed)
    bases = [_skimage_rgb(b) for b in ORB_BASES]
    out = []
    for _ in range(n):
        b = int(rng.integers(len(bases)))
        img = bases[b]
        h, w = img.shape[:2]
        kh, kw = (int(max(64, d * rng.uniform(0.3, 0.75))) for d in (h, w))
        y, x = int(rng.integers(0, h - kh + 1)), int(rng.integers(0, w - kw + 1))
        img = np.rot90(img[y : y + kh, x : x + kw], int(rng.integers(4)))
        if rng.random() < 0.5:
            img = img[:, ::-1]
        side = int(rng.integers(240, 720))
        f = side / max(img.shape[:2])
        img = cv2.resize(np.ascontiguousarray(img), None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        img = np.clip(img.astype(np.int16) + int(rng.integers(-30, 31)), 0, 255).astype(np.uint8)
        out.append((b, (y, x, kh, kw), np.ascontiguousarray(img)))
    return out


def _orb_queries(entries, n_true: int, n_other: int, seed: int = 12):
    """Crops keeping 60% of an entry (must match it, or an overlapping view of
    the same picture) and photos that are in no entry (LFW faces enlarged to
    200 px, coffee, text: must match nothing)."""
    import cv2
    from skimage import data as skdata

    rng = np.random.default_rng(seed)
    true = []
    for i in rng.choice(len(entries), n_true, replace=False):
        img = entries[i][2]
        h, w = img.shape[:2]
        ch, cw = int(h * 0.6), int(w * 0.6)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        true.append((int(i), np.ascontiguousarray(img[y : y + ch, x : x + cw])))
    other = [_skimage_rgb("coffee"), _skimage_rgb("text")]
    for face in skdata.lfw_subset()[: max(0, n_other - 2)]:
        g = (face * 255).astype(np.uint8)
        g = cv2.resize(g, (200, 200), interpolation=cv2.INTER_CUBIC)
        other.append(np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2)))
    return true, other[:n_other]


def bench_orb(sizes: list[int], peer_max: int, n_true: int = 30, n_other: int = 60) -> None:
    """Lookup latency of uploads against N media entries, with the ORB stage's
    candidate picking by substring votes (now) and by FLANN LSH (before)."""
    import gc
    from dataclasses import replace

    import matching

    largest = max(sizes)
    t0 = time.perf_counter()
    entries = _orb_entries(largest)
    feats = [matching.extract_features(img) for _, _, img in entries]
    print(
        f"\nORB second stage: {largest} media entries cut from {len(ORB_BASES)} skimage photos, "
        f"features in {time.perf_counter() - t0:.0f} s "
        f"({np.mean([len(f) for f in feats]):.0f} keypoints each); queries: {n_true} crops "
        f"keeping 60% of an entry, {n_other} photos in no entry (LFW faces, coffee, text); "
        "hash codes are random, so every lookup runs the ORB stage"
    )
    true, other = _orb_queries(entries[: min(sizes)], n_true, n_other)
    prepared = []
    for kind, img, truth in [("true", img, i) for i, img in true] + [
        ("other", img, None) for img in other
    ]:
        q = matching.compute_hashes(img, features=True, mirrored_features=True, for_query=True)
        prepared.append((kind, q, truth))
    rng = np.random.default_rng(13)
    print(
        "| entries | candidates | index build s | index MiB | lookups | lookup p50 ms | p99 ms "
        "| CPU ms/lookup | crops found | false matches |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        pdq = rng.integers(0, 256, (n, 32), dtype=np.uint8)  # random: no hash stage hit
        for method in ("substrings", "flann"):
            if method == "flann" and n > peer_max:
                continue
            # the peer is slow: above 100 entries it runs every 9th query
            qs = prepared if method == "substrings" or n <= 100 else prepared[::9]
            gc.collect()
            bank = matching.Bank(replace(matching.MatchConfig(), candidates=method))
            bank.add_entries([f"e{i}" for i in range(n)], pdq, features=dict(enumerate(feats[:n])))
            t = time.perf_counter()
            if method == "substrings":
                mib = f"{bank._vote_index().nbytes / 2**20:.0f}"
            else:
                bank._vote_matcher()
                mib = "-"
            build = time.perf_counter() - t
            lat, found, false, n_true_q, n_other_q = [], 0, 0, 0, 0
            c = time.process_time()
            for kind, q, truth in qs:
                t = time.perf_counter()
                res = bank.lookup(q)
                lat.append((time.perf_counter() - t) * 1000)
                ids = {int(m.entry_id[1:]) for m in res.matches}
                if kind == "true":
                    n_true_q += 1
                    # the entry itself, or another view of the same photo (they overlap)
                    found += any(entries[i][0] == entries[truth][0] for i in ids)
                else:
                    n_other_q += 1
                    false += bool(ids)
            cpu = (time.process_time() - c) * 1000 / len(qs)
            p50, p99 = np.percentile(lat, [50, 99])
            print(
                f"| {n:,} | {method} | {build:.2f} | {mib} | {len(qs)} | {p50:.0f} | {p99:.0f} | "
                f"{cpu:.0f} | {found}/{n_true_q} | {false}/{n_other_q} |",
                flush=True,
            )
            del bank


def fmt_mem(nbytes):
    return "-" if nbytes is None else f"{nbytes / 2**20:,.0f} MiB"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="comma-separated bank sizes")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--tables", type=int, default=None, help="MIH tables (default: by size)")
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--no-imagehash", action="store_true")
    ap.add_argument("--load", default="", help="bank sizes for the start-up load table")
    ap.add_argument("--no-load-peer", action="store_true", help="skip the per-row load peer")
    ap.add_argument(
        "--orb", default="", help="media-entry counts for the ORB-stage table, e.g. 100,1000,5000"
    )
    ap.add_argument(
        "--orb-peer-max", type=int, default=1000, help="largest bank for the FLANN (before) rows"
    )
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    if args.orb:
        bench_orb([int(float(s)) for s in args.orb.split(",")], args.orb_peer_max)
    if not sizes:
        if args.load:
            bench_load([int(float(s)) for s in args.load.split(",")], not args.no_load_peer)
        return
    try:
        import faiss  # noqa: F401

        with_faiss = not args.no_faiss
    except ImportError:
        with_faiss = False
        print("faiss-cpu not installed: its rows are skipped (pip install -e .[bench])")
    imagehash_ms = None if args.no_imagehash else measure_imagehash()

    print(f"\nradius {RADIUS}, 256-bit codes, one core, {args.queries} queries per size")
    print("| N | method | build s | memory | p50 ms | p99 ms | recall | exact |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for name, build, mem, p50, p99, rec, exact in bench_size(
            n, args.queries, with_faiss, imagehash_ms, args.tables
        ):
            print(
                f"| {n:.0e} | {name} | {build:.2f} | {fmt_mem(mem)} | {p50:.3f} | {p99:.3f} | "
                f"{'-' if rec is None else f'{rec:.3f}'} | "
                f"{'-' if exact is None else ('yes' if exact else 'NO')} |",
                flush=True,
            )
    if args.load:
        bench_load([int(float(s)) for s in args.load.split(",")], not args.no_load_peer)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the whole run (all methods, largest bank): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
