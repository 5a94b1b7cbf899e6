"""Memory of one service worker with a 10^6-entry bank and 2 analysis processes.

    .venv/bin/python benchmarks/worker_memory.py [--entries 1000000] [--changes 4]

1. A fresh SQLite database gets `--entries` random PDQ rows by a bulk insert
   into the bank table (and a bank version bump, as service.bank does), then
   `aigc serve --workers 1` starts. Two concurrent JPEG scans make the worker
   load the bank and start both analysis processes. Reported (psutil, RSS and
   from /proc/PID/smaps USS and PSS): the worker before and after the bank
   load, its forkserver, each analysis process; the bank index's own size
   (matching.Bank.nbytes, loaded in this process) next to what holding it in
   every analysis process would cost instead (2 x the index). Then `--changes`
   times one entry is added (a version bump): the scan after it waits for the
   worker's rebuild of the whole index, and the worker's RSS after each shows
   whether the replaced index's memory is given back.
2. Pixel bombs with AIGC_MAX_PIXELS raised (500 MP) so that they reach the
   decoder: a single-colour 7000 x 7000 JPEG, 9000 x 9000 PNG and 20000 x
   20000 PNG. For each: the status, the largest RSS of any analysis process
   during the scan (polled every 50 ms), next to the process's idle size and
   its ceiling (RLIMIT_AS from /proc/PID/limits: the idle address space plus
   AIGC_ANALYSIS_MEMORY_MB).
"""

from __future__ import annotations

import _live  # this folder, first on sys.path for a script  # isort: skip

_live.use_packages()  # benchmarks/matching.py must not shadow the matching package

import argparse  # noqa: E402
import os  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402

MB = 2**20
MEMORY_MB = int(os.environ.get("AIGC_ANALYSIS_MEMORY_MB", "2048"))


def fill_bank(db_path: Path, entries: int) -> float:
    """Random PDQ rows straight into bank_entries (executemany), version bumped; seconds."""
    from service.db.base import get_engine
    from service.db.migrations import ensure_schema

    ensure_schema(f"sqlite:///{db_path}")
    get_engine(f"sqlite:///{db_path}").dispose()  # its pooled connection would hold a lock
    started = time.monotonic()
    rng = np.random.default_rng(2024)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    conn = sqlite3.connect(db_path)
    # one transaction, no fsync per row: the load is the point, not durability
    conn.execute("PRAGMA synchronous=OFF")
    # the schema's own indexes, dropped for the load and made again after it in one
    # pass each (the same DDL, so the database is what the migrations made)
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'bank_entries' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    chunk = 100_000
    for start in range(0, entries, chunk):
        n = min(chunk, entries - start)
        text = rng.integers(0, 256, (n, 32), dtype=np.uint8).tobytes().hex()
        rows = (
            ("known_aigc", "medium", "partner", now, 1, text[i * 64 : (i + 1) * 64])
            for i in range(n)
        )
        conn.executemany(
            "INSERT INTO bank_entries (category, severity, source, added_at, active, pdq) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute(
        "INSERT INTO bank_state (id, version, updated_at) VALUES (1, 1, ?) "
        "ON CONFLICT(id) DO UPDATE SET version = version + 1, updated_at = excluded.updated_at",
        (now,),
    )
    conn.commit()
    conn.close()
    return time.monotonic() - started


def full(proc) -> dict[str, int]:
    import psutil

    try:
        info = proc.memory_full_info()
        return {"rss": info.rss, "uss": info.uss, "pss": info.pss, "vms": info.vms}
    except psutil.Error:
        return {"rss": 0, "uss": 0, "pss": 0, "vms": 0}


def address_limit(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max address space"):
                soft = line.split()[3]
                return None if soft == "unlimited" else int(soft)
    except OSError:
        pass
    return None


def scan(base: str, key: str, name: str, data: bytes, mime: str) -> tuple[int, str, float]:
    """(status, error code and message, seconds) of one /v1/scan."""
    started = time.monotonic()
    try:
        r = httpx.post(
            base + "/v1/scan",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": (name, data, mime)},
            timeout=180,
        )
    except httpx.HTTPError as exc:
        return 0, type(exc).__name__, time.monotonic() - started
    if r.status_code == 200:
        return 200, "", time.monotonic() - started
    error = r.json().get("error", {})
    code = f"{error.get('code', '?')}: {error.get('message', '')}"
    return r.status_code, code, time.monotonic() - started


def peak_during(pid: int, fn) -> tuple[object, int, int]:
    """Run fn() while polling the analysis processes' RSS; (result, peak, processes seen)."""
    stop = threading.Event()
    peak = [0]
    seen: set[int] = set()

    def poll():
        pids: list[int] = []
        refreshed = 0.0
        while not stop.is_set():
            if time.monotonic() - refreshed > 0.5:
                pids = [p.pid for p in _live.roles(pid)["analysis"]]
                seen.update(pids)
                refreshed = time.monotonic()
            for p in pids:
                peak[0] = max(peak[0], _live.statm_rss(p))
            stop.wait(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        result = fn()
    finally:
        stop.set()
        thread.join(5)
    return result, peak[0], len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=4, help="bank changes after the load")
    args = parser.parse_args()

    import psutil

    from service.db.bank_source import load_bank
    from service.db.keys import create_key

    started = time.monotonic()
    photo = _live.jpeg(_live.resized(_live.photos()["coffee"][..., :3], 1152, 864), 90)
    photo2 = _live.jpeg(_live.resized(_live.photos()["rocket"][..., :3], 1152, 864), 90)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "bank.db"
        url = f"sqlite:///{db}"
        fill_s = fill_bank(db, args.entries)
        print(
            f"filled {args.entries:,} bank rows in {fill_s:.1f} s ({db.stat().st_size / MB:.0f} MB)"
        )

        me = psutil.Process()
        rss0 = me.memory_info().rss
        t = time.monotonic()
        bank, version = load_bank(url)
        load_s = time.monotonic() - t
        in_process = me.memory_info().rss - rss0
        index_bytes = bank.nbytes
        entries = len(bank)
        del bank

        _, key = create_key("pipeline", note="worker_memory", url=url)
        env = {
            "AIGC_DATABASE_URL": url,
            "AIGC_SCAN_CONCURRENCY": "2",
            "AIGC_MAX_PIXELS": "500000000",
        }
        server = _live.start_server(folder, env, workers=1)
        try:
            groups = _live.roles(server.pid)
            worker = groups["worker"][0] if groups["worker"] else groups["master"][0]
            before = full(worker)
            # two at once: both analysis slots start a process; the worker loads the bank
            with ThreadPoolExecutor(2) as pool:
                first = list(
                    pool.map(
                        lambda a: scan(server.base, key, *a),
                        [("a.jpg", photo, "image/jpeg"), ("b.jpg", photo2, "image/jpeg")],
                    )
                )
            time.sleep(1)
            groups = _live.roles(server.pid)
            after = full(worker)
            rows = [("master (uvicorn, 1 worker: the app runs here)", full(groups["master"][0]))]
            if groups["worker"]:
                rows = [("master", full(groups["master"][0])), ("worker", after)]
            rows += [("forkserver", full(p)) for p in groups["forkserver"]]
            analysis = groups["analysis"]
            rows += [(f"analysis process {n + 1}", full(p)) for n, p in enumerate(analysis)]

            print()
            print(
                f"one worker, {entries:,}-entry bank (version {version}), "
                f"{len(analysis)} analysis processes; first scans "
                + ", ".join(f"{s} in {e:.1f} s" for s, _, e in first)
                + " (the bank loads on the first)"
            )
            print()
            print("| process | RSS MB | USS MB | PSS MB |")
            print("|---|--:|--:|--:|")
            print(
                "| worker before the first scan (no bank, no analysis process) | "
                + " | ".join(f"{before[k] / MB:.0f}" for k in ("rss", "uss", "pss"))
                + " |"
            )
            for name, m in rows:
                print(
                    f"| {name} | {m['rss'] / MB:.0f} | {m['uss'] / MB:.0f} | {m['pss'] / MB:.0f} |"
                )
            total_pss = sum(m["pss"] for _, m in rows)
            print(f"| whole tree (PSS sum) | | | {total_pss / MB:.0f} |")
            print()
            per_process_uss = [full(p)["uss"] for p in analysis]
            print("| where the bank index lives | bank memory MB | analysis processes' USS MB |")
            print("|---|--:|--:|")
            print(
                f"| ours: one index in the worker (Bank.nbytes {index_bytes / MB:.0f} MB; "
                f"worker USS grew {(after['uss'] - before['uss']) / MB:.0f} MB with the bank "
                f"and the first scans) | {index_bytes / MB:.0f} "
                f"| {' + '.join(f'{u / MB:.0f}' for u in per_process_uss)} |"
            )
            print(
                f"| each analysis process its own copy (2 x index) | {2 * index_bytes / MB:.0f} "
                f"| {' + '.join(f'{(u + index_bytes) / MB:.0f}' for u in per_process_uss)} |"
            )
            print()
            print(
                f"bank load in this process: {load_s:.1f} s, RSS +{in_process / MB:.0f} MB "
                f"(index arrays and the entry ids, categories, severities as Python objects)"
            )
            # one entry more bumps the version: the worker rebuilds the index on its next
            # scan; a few in a row show whether the old indexes' memory comes back
            from service import bank as bank_store

            print()
            print("| bank change | next scan | s | the scan after | s | worker RSS MB | USS MB |")
            print("|---|---|--:|---|--:|--:|--:|")
            for n in range(args.changes):
                bank_store.add_entry(
                    pdq_hex=os.urandom(32).hex(), category="known_aigc", note="change", url=url
                )
                time.sleep(1.5)  # past the index cache's version check interval
                status, _, again = scan(server.base, key, f"c{n}.jpg", photo, "image/jpeg")
                status2, _, steady = scan(server.base, key, f"d{n}.jpg", photo2, "image/jpeg")
                m = full(worker)
                print(
                    f"| +1 entry ({n + 1}) | {status} | {again:.1f} | {status2} | {steady:.1f} "
                    f"| {m['rss'] / MB:.0f} | {m['uss'] / MB:.0f} |"
                )

            # --- pixel bombs ---
            bombs = [
                ("flat 7000 x 7000 JPEG", "bomb-7000.jpg", _live.flat_jpeg(7000), "image/jpeg"),
                ("flat 9000 x 9000 PNG", "bomb-9000.png", _live.flat_png(9000), "image/png"),
                ("flat 20000 x 20000 PNG", "bomb-20000.png", _live.flat_png(20000), "image/png"),
            ]
            print()
            print(
                f"pixel bombs, AIGC_MAX_PIXELS=500000000, AIGC_ANALYSIS_MEMORY_MB={MEMORY_MB} "
                "(a ceiling on address space: idle address space + that)"
            )
            print()
            print(
                "| upload | bytes | status | analysis idle RSS MB | idle VMS MB "
                "| ceiling (RLIMIT_AS) MB | max analysis RSS MB | seconds | processes seen |"
            )
            print("|---|--:|---|--:|--:|--:|--:|--:|--:|")
            for label, name, data, mime in bombs:
                groups = _live.roles(server.pid)
                idle = [full(p) for p in groups["analysis"]]
                limits = [address_limit(p.pid) for p in groups["analysis"]]
                (status, code, elapsed), peak, seen = peak_during(
                    server.pid, lambda n=name, d=data, m=mime: scan(server.base, key, n, d, m)
                )
                ceiling = ", ".join("none" if v is None else f"{v / MB:.0f}" for v in limits)
                idle_rss = ", ".join(f"{m['rss'] / MB:.0f}" for m in idle)
                idle_vms = ", ".join(f"{m['vms'] / MB:.0f}" for m in idle)
                print(
                    f"| {label} | {len(data):,} | {status} {code} | {idle_rss} | {idle_vms} "
                    f"| {ceiling} | {peak / MB:.0f} | {elapsed:.1f} | {seen} |"
                )
            groups = _live.roles(server.pid)
            print()
            print(
                "after the bombs: analysis RSS "
                + ", ".join(f"{full(p)['rss'] / MB:.0f} MB" for p in groups["analysis"])
                + f"; worker RSS {full(worker)['rss'] / MB:.0f} MB"
            )
        finally:
            server.stop()
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
