"""Retroactive matching: one new bank entry against 10^6 stored scans, on one core.

    .venv/bin/python benchmarks/retro_matching.py [--scans 1000000] [--hits 25] [--db URL]

Stored scans are inserted directly (random PDQs, `--hits` of them within a few
bits of the new entry's PDQ or of a rotation of it), then one entry is banked
the way `aigc bank add` does it (its job row in the same transaction) and the
job runs to the end in this process: read the window in chunks, pack each
chunk's hex PDQs into uint64 words, one vectorised popcount per code of the
entry (PDQ, 8 dihedral variants, unboxed), open a case and a `retroactive.hit`
event per hit. CPU time is the process's (one thread: BLAS is not involved).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _live  # this folder, first on sys.path for a script  # isort: skip

_live.use_packages()  # benchmarks/matching.py must not shadow the matching package

import numpy as np  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from service.bank.store import add_entry  # noqa: E402
from service.db import session_scope  # noqa: E402
from service.db.audit import ScanRecord  # noqa: E402
from service.db.cases import CaseRow  # noqa: E402
from service.db.migrations import ensure_schema  # noqa: E402
from service.db.retro import RetroJobRow  # noqa: E402
from service.review import retro  # noqa: E402

BATCH = 20_000


def _photo() -> bytes:
    import io

    from PIL import Image
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((256, 256)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _near(code: bytes, rng, bits: int) -> str:
    value = bytearray(code)
    for pos in rng.choice(256, size=bits, replace=False):
        value[pos // 8] ^= 1 << (pos % 8)
    return value.hex()


def _fill(url: str, n: int, planted: list[str], rng) -> float:
    """n scans over the last 20 days, `planted` among them at random places; seconds taken."""
    t0 = time.perf_counter()
    start = datetime.now(UTC) - timedelta(days=20)
    where = set(rng.choice(n, size=len(planted), replace=False).tolist())
    plant = iter(planted)
    step = timedelta(days=20) / n
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    with session_scope(url) as session:
        for s in range(0, n, BATCH):
            rows = []
            for i in range(s, min(n, s + BATCH)):
                pdq = next(plant) if i in where else codes[i].tobytes().hex()
                rows.append(
                    dict(
                        id=f"{i:032x}",
                        created_at=start + step * i,
                        endpoint="scan",
                        sha256=f"{i:064x}",
                        perceptual_hash=pdq,
                        mime="image/jpeg",
                        action="none",
                        label=None,
                        policy_version="bench",
                        signals={},
                        decision={"action": "none", "reasons": [], "signals": {}},
                        context={"creator_id": f"c-{i % 5000}"},
                        api_key_id=None,
                        elapsed_ms=1.0,
                    )
                )
            session.execute(insert(ScanRecord), rows)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=1_000_000)
    parser.add_argument("--hits", type=int, default=25)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--db", default=None, help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'retro.db'}"
        os.environ["AIGC_DATABASE_URL"] = url
        ensure_schema(url)
        import matching

        photo = _photo()
        hashes = matching.compute_hashes(_decode(photo))
        rng = np.random.default_rng(7)
        variants = list(hashes.pdq_dihedral)  # index 0 is the PDQ itself
        planted = [
            _near(variants[i % len(variants)], rng, int(rng.integers(0, 12)))
            for i in range(args.hits)
        ]
        fill_s = _fill(url, args.scans, planted, rng)
        entry = add_entry(photo, filename="new.jpg", category="misleading_deepfake", url=url)
        config = retro.RetroConfig(chunk=args.chunk)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        retro.run_pending(url, config)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        with session_scope(url) as session:
            job = session.scalars(select(RetroJobRow)).one()
            cases = len(session.scalars(select(CaseRow.id)).all())
        dialect = url.split(":", 1)[0]
        print(
            f"stored scans inserted in {fill_s:.1f} s ({dialect}); entry {entry.id}, "
            f"{len(set(variants))} codes"
        )
        print()
        print(
            "| stored scans | chunk | codes of the entry | hits planted | cases opened "
            "| CPU s | wall s | scans/s (CPU) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {job.scanned:,} | {args.chunk:,} | {len(set(variants))} "
            f"| {args.hits} | {cases} | {cpu:.2f} | {wall:.2f} | {job.scanned / cpu:,.0f} |"
        )
        print()
        print(f"job {job.id}: state={job.state} scanned={job.scanned}/{job.total} hits={job.hits}")
        print("budget: <= 5 s CPU on one core:", "met" if cpu <= 5 else "NOT met")


def _decode(data: bytes):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


if __name__ == "__main__":
    main()
