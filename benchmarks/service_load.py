"""Load on the real HTTP service: N concurrent scans of 1-megapixel JPEGs over loopback.

    .venv/bin/python benchmarks/service_load.py [--scans 120] [--concurrency 8]
        [--max-seconds 120] [--workers 1 2] [--no-peer]
    .venv/bin/python benchmarks/service_load.py --hook [--scans 200] [--concurrency 8]
        [--keys 4] [--bank-media 300] [--bank-codes 100000] [--workers 2] [--postgres]
    .venv/bin/python benchmarks/service_load.py --videos [N] [--window 40]
        [--video-seconds 60 90] [--jpeg-clients 2] [--jpeg-interval 1]

Each row starts a real server in a subprocess on 127.0.0.1, sends the same
scans (multipart upload + context fields, Bearer key), and reports
throughput, p50/p99 latency, errors, and /healthz latency measured while the
scans run (it should stay near zero: analysis runs off the event loop).

Ours: `aigc serve` (uvicorn, SQLite audit trail): decode once, C2PA credentials
with the trust list, watermark detection (when keys are registered), bank
match (an empty bank here: the cost is the PDQ hash), the policy, the audit
row with the PDQ of the upload, metrics.
Peers, both plain FastAPI under uvicorn (no auth, no audit, no policy):
- a bare c2pa-python `Reader` in a sync endpoint (FastAPI's thread pool): a
  fraction of our work, so it bounds from above what an HTTP wrapper around the
  SDK alone gives on this machine;
- the same read plus a Pillow decode and imagehash pHash done inline in an
  `async def` endpoint, the common naive glue: CPU work on the event loop,
  which shows up in its /healthz latency.

With `--hook` it builds the upload hook's deployment configuration first
(benchmarks/_deployment.py): 2 MP (1920 x 1080) distinct JPEGs, a key
registry file of 4 TEST-ONLY watermark keys (`AIGC_WATERMARK_KEYS`), a bank in
the server's database of banked media (ORB features, so the second stage
runs) and random PDQ codes, filled with the bank's own `add_entry` /
`import_entries`, and `--workers 2`. Every upload is checked for the common
path first (no credentials, no mark, no match, second stage ran) in this
process, and every answer of the server is checked again during the run
(column "off path"). Warm-up: `concurrency` scans of other uploads at once, so
that every worker has loaded the bank and started its analysis processes.

Every row gives the server's CPU per scan: its whole process tree (psutil),
from the end of the warm-up to the end of the load.

With `--videos N` (N defaults to 4) it measures the lanes instead: while N
clients keep sending long 720p videos (made here with PyAV from skimage
photos, cached under the temp dir), other clients with another key send
JPEGs, and the JPEGs' p50/p99 are compared with a quiet server. Rows: ours
with its default lanes (videos hold at most one of the two analysis slots)
and ours without a reserved lane, the old shared queue, where videos may hold
both slots. `AIGC_SCAN_HEAVY_SLOTS=2` cannot give that one: the scheduler
clamps it to slots - 1, so the comparison server is `aigc serve` with that
clamp lifted in its process (`_live.serve_shared`). CPU is the server's whole
process tree (master, worker, forkserver, analysis processes), from psutil.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from fastapi import FastAPI, File, UploadFile
from PIL import Image

import _live  # this folder, first on sys.path for a script  # isort: skip

_live.use_packages()  # benchmarks/matching.py must not shadow the matching package

ROOT = Path(__file__).resolve().parent.parent
AIGC = str(Path(sys.executable).parent / "aigc")


# --- the peer: a plain FastAPI endpoint around a bare c2pa Reader ----------
def make_peer_app():
    import c2pa

    app = FastAPI()

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.post("/v1/scan")
    def scan(file: UploadFile = File(...)):  # a plain def: FastAPI's thread pool
        data = file.file.read()
        try:
            reader = c2pa.Reader.try_create("image/jpeg", io.BytesIO(data))
        except c2pa.C2paError as exc:
            return {"manifest": None, "error": str(exc)}
        if reader is None:
            return {"manifest": None}
        with reader:
            return {"manifest": reader.json()}

    @app.post("/v1/scan-inline")
    async def scan_inline(file: UploadFile = File(...)):
        # the common mistake: CPU work (C2PA read, decode, pHash) inside an async
        # endpoint, on the event loop, so every other request waits behind it
        import imagehash

        data = await file.read()
        try:
            reader = c2pa.Reader.try_create("image/jpeg", io.BytesIO(data))
        except c2pa.C2paError:
            reader = None
        manifest = None
        if reader is not None:
            with reader:
                manifest = reader.json()
        phash = str(imagehash.phash(Image.open(io.BytesIO(data)).convert("RGB")))
        return {"manifest": manifest, "phash": phash}

    return app


# --- media -----------------------------------------------------------------
def one_megapixel_jpegs(count: int) -> list[bytes]:
    """Distinct ~1 MP JPEGs made from skimage's sample photos (nothing downloaded)."""
    from skimage import data as skdata

    bases = [
        skdata.astronaut(),
        skdata.chelsea(),
        skdata.coffee(),
        skdata.rocket(),
        skdata.hubble_deep_field(),
        np.stack([skdata.camera()] * 3, axis=-1),
    ]
    out = []
    for i in range(count):
        rgb = bases[i % len(bases)]
        image = Image.fromarray(rgb).resize((1152, 864), Image.Resampling.BICUBIC)
        # vary brightness a little so that no two uploads are the same bytes
        arr = np.clip(np.asarray(image, np.int16) + (i // len(bases)) % 7 - 3, 0, 255)
        buf = io.BytesIO()
        Image.fromarray(arr.astype(np.uint8)).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


# --- servers ---------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early:\n{proc.stdout.read().decode(errors='replace')}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not come up")


def start_ours(folder: Path, workers: int) -> tuple[subprocess.Popen, str, str]:
    from service.db.keys import create_key
    from service.db.migrations import ensure_schema

    url = f"sqlite:///{folder / f'bench-{workers}.db'}"
    ensure_schema(url)
    _, key = create_key("pipeline", note="service_load benchmark", url=url)
    env = dict(os.environ, AIGC_DATABASE_URL=url)
    port = free_port()
    proc = subprocess.Popen(
        [AIGC, "serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_up(base, proc)
    return proc, base, key


def start_peer(folder: Path) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-peer", str(port)],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_up(base, proc)
    return proc, base, ""


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


# --- load ------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    name: str
    sent: int
    ok: int
    errors: int
    seconds: float
    latencies: tuple[float, ...]
    health: tuple[float, ...]
    cpu_s: float = float("nan")
    # answers that were not the common path, by reason (with --hook)
    off_path: tuple[tuple[str, int], ...] = ()
    checked: bool = False
    # CPU s by process role (master, worker, forkserver, analysis), live processes only
    by_role: tuple[tuple[str, float], ...] = ()


def role_cpu(pid: int) -> dict[str, float]:
    """CPU s (user + system) of the server's live processes by role (_live.roles)."""
    import psutil

    out = {}
    for role, procs in _live.roles(pid).items():
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        out[role] = total
    return out


def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run_load(
    name: str,
    base: str,
    key: str,
    media: list[bytes],
    concurrency: int,
    max_seconds: float,
    path: str = "/v1/scan",
    pid: int | None = None,
    warmup: list[bytes] | None = None,
    check=None,
) -> Result:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    latencies: list[float] = []
    health: list[float] = []
    errors = 0
    sent = 0
    queue = list(range(len(media)))
    deadline = time.monotonic() + max_seconds
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency + 2)
    off_path: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        # warm-up scans: first-use costs (lazy imports, trust list, the bank index of
        # each worker) are not load
        await asyncio.gather(
            *(
                client.post(path, headers=headers, files={"file": ("w.jpg", w, "image/jpeg")})
                for w in (warmup or media[:1])
            )
        )
        cpu_before = _live.tree_cpu_seconds(pid) if pid else float("nan")
        roles_before = role_cpu(pid) if pid else {}

        async def worker():
            nonlocal errors, sent
            while queue and time.monotonic() < deadline:
                i = queue.pop()
                sent += 1
                started = time.perf_counter()
                try:
                    response = await client.post(
                        path,
                        headers=headers,
                        files={"file": (f"{i}.jpg", media[i], "image/jpeg")},
                        data={"creator_id": f"bench-{i % 17}", "creator_disclosed_ai": "false"},
                    )
                    if response.status_code == 200:
                        latencies.append(time.perf_counter() - started)
                        why = check(response.json()) if check else None
                        if why:
                            off_path[why] = off_path.get(why, 0) + 1
                    else:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1

        async def prober():
            while not done.is_set():
                started = time.perf_counter()
                try:
                    await client.get("/healthz")
                    health.append(time.perf_counter() - started)
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)

        probe = asyncio.create_task(prober())
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        cpu = _live.tree_cpu_seconds(pid) - cpu_before if pid else float("nan")
        roles = role_cpu(pid) if pid else {}
        by_role = {k: v - roles_before.get(k, 0.0) for k, v in roles.items()}
        done.set()
        await probe
    return Result(
        name,
        sent,
        len(latencies),
        errors,
        seconds,
        tuple(latencies),
        tuple(health),
        cpu,
        tuple(sorted(off_path.items())),
        check is not None,
        tuple(by_role.items()),
    )


def print_table(results: list[Result], args, media: str = "~1 MP JPEGs") -> None:
    print()
    print(
        f"{args.scans} scans of {media}, {args.concurrency} concurrent clients, loopback, "
        f"{os.cpu_count()} CPUs (shared)"
    )
    header = (
        f"{'server':<44} {'ok':>5} {'err':>4} {'scans/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'healthz p50':>12} {'healthz p99':>12} {'CPU ms/scan':>12}"
    )
    hook = any(r.checked for r in results)
    if hook:
        header += f" {'off path':>9}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<44} {r.ok:>5} {r.errors:>4} {r.ok / r.seconds:>8.1f} "
            f"{pct(r.latencies, 0.5) * 1000:>8.0f} {pct(r.latencies, 0.99) * 1000:>8.0f} "
            f"{pct(r.health, 0.5) * 1000:>10.1f}ms {pct(r.health, 0.99) * 1000:>10.1f}ms "
            f"{r.cpu_s / max(1, r.ok) * 1000:>12.0f}"
            + (f" {sum(n for _, n in r.off_path) if r.checked else '-':>9}" if hook else "")
        )
        for why, n in r.off_path:
            print(f"    off the common path: {why} x{n}")
        if r.checked and r.by_role:
            parts = ", ".join(f"{k} {v / max(1, r.ok) * 1000:.0f}" for k, v in r.by_role if v)
            print(f"    CPU ms/scan by process: {parts}")
    print()


# --- lanes: JPEG latency while other clients send long videos --------------
@dataclass
class Calls:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def err(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class LaneRow:
    server: str
    video_clients: int
    jpeg: Calls
    video: Calls
    cpu_s: float
    wall_s: float


def _error_name(response: httpx.Response) -> str:
    try:
        code = response.json()["error"]["code"]
    except Exception:
        code = "?"
    return f"{response.status_code} {code}"


async def run_lanes(
    server: str,
    base: str,
    pid: int,
    keys: tuple[str, str],
    jpegs: list[bytes],
    videos: list[bytes],
    video_clients: int,
    jpeg_clients: int,
    window_s: float,
    interval_s: float,
) -> LaneRow:
    jpeg_key, video_key = keys
    jpeg, video = Calls(), Calls()
    limits = httpx.Limits(max_connections=video_clients + jpeg_clients + 2)
    # a video may wait for the heavy slot behind the others: the client waits longer
    timeout = httpx.Timeout(240)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:

        async def post(key: str, name: str, data: bytes, mime: str) -> httpx.Response:
            return await client.post(
                "/v1/scan",
                headers={"Authorization": f"Bearer {key}"},
                files={"file": (name, data, mime)},
                data={"creator_id": "bench-lanes", "creator_disclosed_ai": "false"},
            )

        # first-use costs (the analysis process, lazy imports) are not load
        await post(jpeg_key, "warm.jpg", jpegs[0], "image/jpeg")
        cpu_before = _live.tree_cpu_seconds(pid)
        started = time.monotonic()
        deadline = started + window_s

        async def send(calls: Calls, key: str, name: str, data: bytes, mime: str) -> None:
            t0 = time.perf_counter()
            try:
                response = await post(key, name, data, mime)
            except httpx.HTTPError as exc:
                calls.error(type(exc).__name__)
                return
            if response.status_code == 200:
                calls.latencies.append(time.perf_counter() - t0)
            else:
                calls.error(_error_name(response))

        async def jpeg_client(c: int) -> None:
            # photos arrive now and then, not back to back: between two of them
            # the videos may take every slot a lane does not keep free
            i = c
            await asyncio.sleep(interval_s * c / jpeg_clients)
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                await send(jpeg, jpeg_key, f"{i}.jpg", jpegs[i % len(jpegs)], "image/jpeg")
                i += jpeg_clients
                await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - t0)))

        async def video_client(c: int) -> None:
            i = c
            while True:
                await send(video, video_key, f"{i}.mp4", videos[i % len(videos)], "video/mp4")
                i += 1

        # the videos start first: a queue of them is already there when photos come
        video_tasks = [asyncio.create_task(video_client(c)) for c in range(video_clients)]
        await asyncio.sleep(1.0 if video_clients else 0.0)
        await asyncio.gather(*(jpeg_client(c) for c in range(jpeg_clients)))
        wall = time.monotonic() - started
        cpu = _live.tree_cpu_seconds(pid) - cpu_before
        # videos still running count for nothing: the server is stopped after this row
        for task in video_tasks:
            task.cancel()
        await asyncio.gather(*video_tasks, return_exceptions=True)
    return LaneRow(server, video_clients, jpeg, video, cpu, wall)


def _errors_text(calls: Calls) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(calls.errors.items())) or "-"


def print_lanes(rows: list[LaneRow], args, jpeg_kb: float, video_info: str) -> None:
    print()
    print(
        f"JPEG scans (~1 MP, {jpeg_kb:.0f} KB, {args.jpeg_clients} clients, one key, each "
        f"one every {args.jpeg_interval:g} s) while "
        f"video clients (another key) keep sending {video_info}; 1 worker, 2 analysis slots, "
        f"{args.window:g} s per row, loopback, {os.cpu_count()} CPUs (shared)"
    )
    print()
    print(
        "| server | video clients | JPEG ok | JPEG err | JPEG p50 ms | JPEG p99 ms "
        "| video ok | video err | video p50 s | server CPU s | wall s | errors |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        vp50 = _live.pct(r.video.latencies, 0.5)
        errors = "; ".join(
            f"{what}: {_errors_text(c)}"
            for what, c in (("jpeg", r.jpeg), ("video", r.video))
            if c.err
        )
        print(
            f"| {r.server} | {r.video_clients} | {len(r.jpeg.latencies)} | {r.jpeg.err} "
            f"| {_live.ms(_live.pct(r.jpeg.latencies, 0.5))} "
            f"| {_live.ms(_live.pct(r.jpeg.latencies, 0.99))} "
            f"| {len(r.video.latencies) if r.video_clients else '-'} "
            f"| {r.video.err if r.video_clients else '-'} "
            f"| {'-' if vp50 != vp50 else f'{vp50:.1f}'} "
            f"| {r.cpu_s:.0f} | {r.wall_s:.0f} | {errors or '-'} |"
        )
    print()


def main_lanes(args) -> None:
    from service.app.scheduler import FairScheduler
    from service.db.keys import create_key
    from service.db.migrations import ensure_schema

    started = time.monotonic()
    jpegs = one_megapixel_jpegs(48)
    videos = []
    for seconds in args.video_seconds:
        t0 = time.monotonic()
        videos.append(_live.long_video(seconds))
        print(
            f"video {seconds} s 720p: {len(videos[-1]) / 1e6:.1f} MB "
            f"({time.monotonic() - t0:.0f} s to make or load; cache {_live.CACHE})"
        )
    clamped = FairScheduler(2, 2).heavy_slots
    print(f"note: AIGC_SCAN_HEAVY_SLOTS=2 with 2 slots gives heavy_slots={clamped} (clamped)")
    rows: list[LaneRow] = []
    configs = [
        ("ours, lanes (default)", None),
        ("ours, shared queue (no reserved lane)", _live.shared_queue_argv()),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for n, (server, argv) in enumerate(configs):
            folder = Path(tmp) / f"run-{n}"
            folder.mkdir()
            url = f"sqlite:///{folder / 'bench.db'}"
            ensure_schema(url)
            keys = (
                create_key("pipeline", note="lanes: jpeg", url=url)[1],
                create_key("pipeline", note="lanes: video", url=url)[1],
            )
            env = {"AIGC_DATABASE_URL": url, "AIGC_SCAN_CONCURRENCY": "2"}
            live = _live.start_server(folder, env, workers=1, argv=argv)
            try:
                for clients in (0, args.videos):
                    rows.append(
                        asyncio.run(
                            run_lanes(
                                server,
                                live.base,
                                live.pid,
                                keys,
                                jpegs,
                                videos,
                                clients,
                                args.jpeg_clients,
                                args.window,
                                args.jpeg_interval,
                            )
                        )
                    )
                    print(f"  done: {server}, {clients} video clients")
            finally:
                live.stop()
    info = " and ".join(f"{s} s" for s in args.video_seconds) + " 1280x720 H.264 videos"
    print_lanes(rows, args, statistics.mean(len(j) for j in jpegs) / 1024, info)
    print(f"total {time.monotonic() - started:.0f} s")


def main_hook(args) -> None:
    """The deployment configuration: 2 MP uploads, test keys, a bank with banked media."""
    # this folder's modules, imported only here (the default run needs none of them)
    sys.path.insert(0, str(_live.HERE))
    try:
        import _deployment
    finally:
        _live.use_packages()

    started = time.monotonic()
    width, height = 1920, 1080
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        # a fresh schema on the local PostgreSQL server, dropped after the run
        url = stack.enter_context(_live.pg_schema("service_load")) if args.postgres else None
        t0 = time.monotonic()
        media = _deployment.uploads(args.scans, width, height)
        warmup = _deployment.uploads(args.concurrency, width, height, first_seed=10**6)
        mean_kb = statistics.mean(len(m) for m in media) / 1024
        print(
            f"made {len(media)} + {len(warmup)} (warm-up) JPEGs, {width} x {height}, "
            f"{mean_kb:.0f} KB on average ({time.monotonic() - t0:.0f} s)"
        )
        dep = _deployment.build(folder, args.keys, args.bank_media, args.bank_codes, args.seed, url)
        b = dep.build
        print(
            f"bank: {dep.media} media by add_entry {b['media_s']:.1f} s "
            f"({b['media_refused']:.0f} flat views refused: low PDQ quality), {dep.codes:,} codes "
            f"by import_entries {b['codes_s']:.1f} s, aigc retro run {b['retro_s']:.1f} s, "
            f"load_bank {b['load_s']:.1f} s (wall)"
        )
        t0 = time.monotonic()
        paths, cpu = _deployment.check_in_process(dep, media)
        print(
            f"common path in process (no credentials, no mark, no match, second stage ran): "
            f"{paths} ({time.monotonic() - t0:.0f} s)"
        )
        print(
            f"Engine.analyze in this process (same bank and keys), CPU ms over {len(cpu)} "
            f"uploads: p50 {pct(cpu, 0.5) * 1000:.0f}, p99 {pct(cpu, 0.99) * 1000:.0f}"
        )
        results = []
        for name, workers, path in _runs(args):
            check = _deployment.off_common_path if workers else None
            results.append(
                _hook_row(args, folder, dep, (name, workers, path), media, warmup, check)
            )
            print(f"  done: {name}")
    print_table(results, args, f"{width}x{height} JPEGs ({mean_kb:.0f} KB)")
    database = "PostgreSQL (local)" if args.postgres else "SQLite"
    print(f"configuration: {dep.describe()}; image {width}x{height}; ours on {database}")
    print(f"total {time.monotonic() - started:.0f} s")


def _hook_row(args, folder, dep, run, media, warmup, check) -> Result:
    from service.db.keys import create_key

    name, workers, path = run
    if workers:
        _, key = create_key("pipeline", note="service_load --hook", url=dep.url)
        server = _live.start_server(folder / f"ours-{workers}", dep.env(), workers=workers)
        pid, base, halt = server.pid, server.base, server.stop
    else:
        proc, base, key = start_peer(folder)
        pid, halt = proc.pid, lambda: stop(proc)
    try:
        return _load(args, name, base, key, media, path, pid, warmup=warmup, check=check)
    finally:
        halt()


def _runs(args) -> list[tuple[str, int | None, str]]:
    """(row name, workers or None for a peer, scan path) of every server a run loads."""
    runs = [(f"aigc serve --workers {w}", w, "/v1/scan") for w in args.workers]
    if not args.no_peer:
        runs.append(("peer: bare c2pa Reader in plain FastAPI", None, "/v1/scan"))
        runs.append(("peer: c2pa + pHash inline in async def", None, "/v1/scan-inline"))
    return runs


def _load(args, name, base, key, media, path, pid, **kwargs) -> Result:
    """One row: the load of `media` on one server, at the run's concurrency and time limit."""
    return asyncio.run(
        run_load(
            name, base, key, media, args.concurrency, args.max_seconds, path, pid=pid, **kwargs
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, nargs="+", help="default 1 (2 with --hook)")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--serve-peer", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--videos",
        type=int,
        nargs="?",
        const=4,
        help="lanes mode: JPEG latency while this many clients send videos (default 4)",
    )
    parser.add_argument("--video-seconds", type=int, nargs="+", default=[60, 90])
    parser.add_argument("--jpeg-clients", type=int, default=2)
    parser.add_argument("--window", type=float, default=40, help="seconds of load per row")
    parser.add_argument(
        "--jpeg-interval", type=float, default=1.0, help="seconds between one client's JPEGs"
    )
    parser.add_argument(
        "--hook", action="store_true", help="the upload hook's deployment configuration"
    )
    parser.add_argument("--keys", type=int, default=4, help="--hook: TEST-ONLY watermark keys")
    parser.add_argument("--bank-media", type=int, default=300, help="--hook: banked media")
    parser.add_argument("--bank-codes", type=int, default=100_000, help="--hook: PDQ codes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="--hook: the server's database on the local PostgreSQL (AIGC_BENCH_POSTGRES_URL)",
    )
    args = parser.parse_args()
    if args.workers is None:
        args.workers = [2] if args.hook else [1]
    if args.hook:
        main_hook(args)
        return
    if args.videos is not None:
        main_lanes(args)
        return

    if args.serve_peer:
        import uvicorn

        uvicorn.run(make_peer_app(), host="127.0.0.1", port=args.serve_peer, log_level="warning")
        return

    media = one_megapixel_jpegs(args.scans)
    mean_kb = statistics.mean(len(m) for m in media) / 1024
    print(f"made {len(media)} JPEGs, 1152 x 864, {mean_kb:.0f} KB on average")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, workers, path in _runs(args):
            proc, base, key = start_ours(folder, workers) if workers else start_peer(folder)
            try:
                results.append(_load(args, name, base, key, media, path, proc.pid))
            finally:
                stop(proc)
            print(f"  done: {name}")
    print_table(results, args)


if __name__ == "__main__":
    main()
