"""Soak: `aigc serve --workers 2` on PostgreSQL and Redis under mixed traffic for minutes.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--keep-going-on-5xx]

Setup (not timed): a fresh PostgreSQL schema on 127.0.0.1:5432 (dropped after),
AIGC_REDIS_URL on 127.0.0.1:6379 with a key prefix of this run's own (deleted
after), a watermark key registry holding one TEST-ONLY key made at run time,
and a bank: three skimage photos added from media (`service.bank.add_entry`),
`aigc bank import` of 10^4 random PDQ rows and of demo/known-fakes.csv.

Before the load, every distinct non-hostile file gets a single-threaded
reference decision in this process, on the same database and environment, the
way the service builds its engine (`Engine.from_env()`, the bank index from the
database through `service.bank.index_cache`, the service's limits). Every 200
is compared with it: `action`, `label` and the reason codes for scans;
`action`, `label` and the sentences (`why`) for label checks.

Load, about six clients at once, each bounded by the deadline:
- two image clients (their own pipeline keys): JPEGs and PNGs, re-uploads of
  banked photos, watermarked, plain, and the C2PA samples of samples/;
- one video client: a 60 s or 90 s 720p H.264 video, then a 20 s pause, so
  that part of the time no video runs (JPEG p99 is split on that);
- one hostile client: truncated and bit-flipped copies, random bytes, a
  single-colour 7000 x 7000 JPEG and a 9000 x 9000 PNG (pixel bombs);
- two creator clients on /v1/label-check: a steady one under the limit, and
  a burst of 28 checks every 75 s on one creator id, which must get exactly
  AIGC_LABEL_CHECK_LIMIT (20) answers and 429 for the rest across both
  workers (the Redis limiter); those 429s are expected and counted apart.

The server's process tree (master, 2 workers, their forkservers and analysis
processes) is sampled every 5 s for RSS and PSS (psutil; PSS counts a page
shared by the forkserver's children once), analysis processes every 0.25 s
for their peak. CPU is the tree's user + system time.
"""

from __future__ import annotations

import _live  # this folder, first on sys.path for a script  # isort: skip

_live.use_packages()  # benchmarks/matching.py must not shadow the matching package

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402

SAMPLES = _live.ROOT / "samples"
AIGC = _live.AIGC
RSS_EVERY_S = 5.0
WARMUP_S = 60.0
BURST = 28
BURST_EVERY_S = 75.0


@dataclass(frozen=True)
class Item:
    kind: str  # the row of the requests table
    name: str
    data: bytes
    mime: str
    context: dict
    hostile: bool = False
    endpoint: str = "/v1/scan"


@dataclass
class Record:
    kind: str
    name: str
    status: int  # 0: no HTTP answer
    code: str
    started: float
    ended: float
    wrong: str | None = None
    client: str = ""


@dataclass
class Expected:
    action: str
    label: str | None
    reasons: tuple[str, ...]  # reason codes (scans) or sentences (label checks)


# --- media -----------------------------------------------------------------
def make_items(key: bytes) -> tuple[list[Item], list[tuple[str, bytes]], list[Item]]:
    """(scan and label-check items, bank sources (name, bytes), hostile items)."""
    import watermark

    photos = _live.photos()
    ctx = {"creator_id": "soak-uploader", "creator_disclosed_ai": "false"}
    election = dict(ctx, caption="Vote counting tonight", sensitive_topics="elections")
    items: list[Item] = []
    banked: list[tuple[str, bytes]] = []
    # banked photos: the entry from one encoding, re-uploads from others
    for name in ("astronaut", "coffee", "rocket"):
        rgb = _live.resized(photos[name][..., :3], 800, 600)
        banked.append((f"bank-{name}.jpg", _live.jpeg(rgb, 95)))
        smaller = _live.resized(rgb, 720, 540)
        items.append(
            Item("jpeg banked", f"re-{name}.jpg", _live.jpeg(smaller, 80), "image/jpeg", ctx)
        )
        items.append(Item("png banked", f"re-{name}.png", _live.png(rgb), "image/png", election))
    payload = bytes.fromhex("50a4c0ffee000001")
    for name in ("chelsea", "hubble"):
        rgb = _live.resized(photos[name][..., :3], 1024, 768)
        marked = watermark.embed(rgb, payload, key)
        items.append(
            Item("jpeg watermarked", f"wm-{name}.jpg", _live.jpeg(marked, 90), "image/jpeg", ctx)
        )
        items.append(Item("png watermarked", f"wm-{name}.png", _live.png(marked), "image/png", ctx))
    for name in ("camera", "retina", "immuno", "chelsea"):
        rgb = _live.resized(photos[name][..., :3], 1152, 864)
        items.append(
            Item("jpeg plain", f"plain-{name}.jpg", _live.jpeg(rgb, 88), "image/jpeg", ctx)
        )
        items.append(Item("png plain", f"plain-{name}.png", _live.png(rgb), "image/png", election))
    for path in sorted(SAMPLES.iterdir()):
        mime = {".jpg": "image/jpeg", ".png": "image/png"}.get(path.suffix)
        if mime:
            kind = "jpeg c2pa sample" if mime == "image/jpeg" else "png c2pa sample"
            items.append(Item(kind, path.name, path.read_bytes(), mime, ctx))
    for seconds in (60, 90):
        items.append(
            Item("video", f"pans-{seconds}s.mp4", _live.long_video(seconds), "video/mp4", ctx)
        )
    # label checks: small and mid-size images a creator would try before posting
    creator_files = [i for i in items if i.kind in ("jpeg c2pa sample", "jpeg watermarked")]
    creator_files += [i for i in items if i.kind == "jpeg plain"][:2]
    for i in creator_files:
        items.append(Item("label-check", i.name, i.data, i.mime, ctx, endpoint="/v1/label-check"))
    # the bursts use a thumbnail: 28 checks then fit well inside one 60 s window
    small = _live.jpeg(_live.resized(photos["coffee"][..., :3], 256, 192), 85)
    items.append(
        Item("label-check", "burst-thumb.jpg", small, "image/jpeg", ctx, endpoint="/v1/label-check")
    )

    hostile: list[Item] = []
    base_jpeg = next(i for i in items if i.kind == "jpeg plain").data
    base_png = next(i for i in items if i.kind == "png plain").data
    hostile.append(Item("hostile", "truncated.jpg", _live.truncated(base_jpeg), "image/jpeg", ctx))
    hostile.append(Item("hostile", "truncated.png", _live.truncated(base_png), "image/png", ctx))
    for seed in range(3):
        flipped = _live.bit_flipped(base_jpeg, 40, seed)
        hostile.append(Item("hostile", f"flipped-{seed}.jpg", flipped, "image/jpeg", ctx))
    hostile.append(
        Item("hostile", "flipped.png", _live.bit_flipped(base_png, 40, 7), "image/png", ctx)
    )
    noise = np.random.default_rng(5).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    hostile.append(Item("hostile", "noise.jpg", noise, "image/jpeg", ctx))
    hostile.append(Item("pixel bomb", "flat-7000.jpg", _live.flat_jpeg(7000), "image/jpeg", ctx))
    hostile.append(Item("pixel bomb", "flat-9000.png", _live.flat_png(9000), "image/png", ctx))
    return items, banked, hostile


def random_pdq_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (rows, 32), dtype=np.uint8)
    with path.open("w") as f:
        f.write("pdq,category,severity,note,source\n")
        for n, c in enumerate(codes):
            f.write(f"{c.tobytes().hex()},known_aigc,medium,soak random {n},partner\n")


# --- the reference ---------------------------------------------------------
def reference_decisions(items: list[Item], url: str) -> dict[tuple[str, str], Expected]:
    """One decision per distinct file, in this process, built as the service builds it."""
    from labeler import Engine, UploadContext
    from labeler.explain import explain
    from labeler.media import Limits
    from service import bank as bank_store
    from service.settings import Settings

    settings = Settings.from_env()
    engine = Engine.from_env()
    engine.bank = bank_store.index_cache(url)
    engine.limits = Limits(max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)
    out = {}
    for item in items:
        decision = engine.analyze(item.data, item.name, UploadContext.from_dict(item.context))
        if item.endpoint == "/v1/label-check":
            answer = explain(decision)
            out[(item.endpoint, item.name)] = Expected(answer.action, answer.label, answer.why)
        else:
            codes = tuple(r.code for r in decision.reasons)
            out[(item.endpoint, item.name)] = Expected(decision.action, decision.label, codes)
    return out


def compare(item: Item, body: dict, expected: Expected) -> str | None:
    if item.endpoint == "/v1/label-check":
        got = Expected(body.get("action"), body.get("label"), tuple(body.get("why") or ()))
    else:
        d = body.get("decision") or {}
        got = Expected(
            d.get("action"), d.get("label"), tuple(r.get("code") for r in d.get("reasons") or ())
        )
    if got == expected:
        return None
    return f"{item.name}: got {got}, expected {expected}"


# --- sampling --------------------------------------------------------------
@dataclass
class Sample:
    t: float
    by_role: dict[str, list[int]]
    # the tree's summed PSS (shared pages counted once)
    pss: int = 0


@dataclass
class Sampler:
    pid: int
    t0: float
    samples: list[Sample] = field(default_factory=list)
    analysis_peak: int = 0
    analysis_peak_at: str = ""
    analysis_pids: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def sample(self) -> Sample:
        groups = _live.roles(self.pid)
        by_role = {role: _live.rss_of(procs) for role, procs in groups.items()}
        self.analysis_pids |= {p.pid for p in groups["analysis"]}
        pss = sum(sum(_live.pss_of(procs)) for procs in groups.values())
        s = Sample(time.monotonic() - self.t0, by_role, pss)
        self.samples.append(s)
        return s

    def _run(self) -> None:
        next_full = 0.0
        pids: list[int] = []
        refreshed = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_full:
                self.sample()
                next_full = now + RSS_EVERY_S
            if now - refreshed >= 1.0:
                pids = [p.pid for p in _live.roles(self.pid)["analysis"]]
                self.analysis_pids |= set(pids)
                refreshed = now
            for pid in pids:
                rss = _live.statm_rss(pid)
                if rss > self.analysis_peak:
                    self.analysis_peak = rss
                    self.analysis_peak_at = f"{now - self.t0:.0f} s"
            self._stop.wait(0.25)


# --- load ------------------------------------------------------------------
def _code(response: httpx.Response) -> str:
    if response.status_code == 200:
        return ""
    try:
        return response.json()["error"]["code"]
    except Exception:
        return "?"


class Load:
    def __init__(self, base, keys, items, hostile, expected, deadline, t0):
        self.base = base
        self.keys = keys
        self.items = items
        self.hostile = hostile
        self.expected = expected
        self.deadline = deadline
        self.t0 = t0
        self.records: list[Record] = []
        self.bursts: list[tuple[int, int, int]] = []  # (200s, 429s, other)
        self.wrong: list[str] = []

    async def send(self, client, key: str, item: Item, who: str, context=None) -> Record:
        started = time.monotonic()
        try:
            response = await client.post(
                item.endpoint,
                headers={"Authorization": f"Bearer {key}"},
                files={"file": (item.name, item.data, item.mime)},
                data=context or item.context,
            )
        except httpx.HTTPError as exc:
            record = Record(item.kind, item.name, 0, type(exc).__name__, started, time.monotonic())
            record.client = who
            self.records.append(record)
            return record
        record = Record(
            item.kind, item.name, response.status_code, _code(response), started, time.monotonic()
        )
        record.client = who
        if response.status_code == 200 and not item.hostile:
            expected = self.expected.get((item.endpoint, item.name))
            if expected is not None:
                record.wrong = compare(item, response.json(), expected)
                if record.wrong:
                    self.wrong.append(record.wrong)
        self.records.append(record)
        return record

    def open(self) -> bool:
        return time.monotonic() < self.deadline

    async def images(self, client, key: str, seed: int) -> None:
        rng = random.Random(seed)
        pool = [i for i in self.items if i.endpoint == "/v1/scan" and i.kind != "video"]
        while self.open():
            await self.send(client, key, rng.choice(pool), f"images-{seed}")
            await asyncio.sleep(0.2)

    async def videos(self, client, key: str) -> None:
        pool = [i for i in self.items if i.kind == "video"]
        n = 0
        await asyncio.sleep(20)  # a stretch without videos first
        while self.open():
            await self.send(client, key, pool[n % len(pool)], "videos")
            n += 1
            await self._pause(20)

    async def hostiles(self, client, key: str) -> None:
        n = 0
        while self.open():
            await self.send(client, key, self.hostile[n % len(self.hostile)], "hostile")
            n += 1
            await self._pause(1.0)

    async def steady_checks(self, client, key: str) -> None:
        pool = [i for i in self.items if i.kind == "label-check" and i.name != "burst-thumb.jpg"]
        n = 0
        while self.open():
            item = pool[n % len(pool)]
            # distinct creators, 12 a minute on the key: under the limit of 20
            context = dict(item.context, creator_id=f"soak-steady-{n % 50}")
            await self.send(client, key, item, "steady", context)
            n += 1
            await self._pause(5.0)

    async def burst_checks(self, client, key: str) -> None:
        thumb = next(i for i in self.items if i.name == "burst-thumb.jpg")
        await asyncio.sleep(10)
        while self.open():
            started = time.monotonic()
            counts = [0, 0, 0]
            # one creator id and one key, back to back: past the limit on purpose
            for _ in range(BURST):
                context = dict(thumb.context, creator_id="soak-burst")
                r = await self.send(client, key, thumb, "burst", context)
                counts[0 if r.status == 200 else 1 if r.status == 429 else 2] += 1
            self.bursts.append(tuple(counts))
            await self._pause(BURST_EVERY_S - (time.monotonic() - started))

    async def _pause(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, min(seconds, self.deadline - time.monotonic())))

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=self.base, timeout=240, limits=limits) as client:
            await asyncio.gather(
                self.images(client, self.keys["images-a"], 1),
                self.images(client, self.keys["images-b"], 2),
                self.videos(client, self.keys["videos"]),
                self.hostiles(client, self.keys["hostile"]),
                self.steady_checks(client, self.keys["creator-steady"]),
                self.burst_checks(client, self.keys["creator-burst"]),
            )


# --- tables ----------------------------------------------------------------
KIND_ORDER = [
    "jpeg plain",
    "jpeg banked",
    "jpeg watermarked",
    "jpeg c2pa sample",
    "png plain",
    "png banked",
    "png watermarked",
    "png c2pa sample",
    "video",
    "hostile",
    "pixel bomb",
    "label-check",
]


def _ms(values, q):
    return _live.ms(_live.pct(values, q))


def requests_table(records: list[Record]) -> None:
    print(
        "| kind | sent | ok | 4xx by code | 429 (expected: burst) | 5xx | no answer | wrong "
        "| p50 ms | p99 ms |"
    )
    print("|---|--:|--:|---|--:|--:|--:|--:|--:|--:|")
    kinds = [k for k in KIND_ORDER if any(r.kind == k for r in records)]
    for kind in kinds:
        rs = [r for r in records if r.kind == kind]
        ok = [r for r in rs if r.status == 200]
        four: dict[str, int] = {}
        for r in rs:
            if 400 <= r.status < 500 and r.status != 429:
                four[f"{r.status} {r.code}"] = four.get(f"{r.status} {r.code}", 0) + 1
        burst429 = sum(1 for r in rs if r.status == 429 and r.client == "burst")
        other429 = sum(1 for r in rs if r.status == 429 and r.client != "burst")
        if other429:
            four[f"429 {other429} outside the burst"] = other429
        five = [r for r in rs if r.status >= 500]
        five_text = str(len(five))
        if five:
            codes: dict[str, int] = {}
            for r in five:
                codes[f"{r.status} {r.code}"] = codes.get(f"{r.status} {r.code}", 0) + 1
            five_text += " (" + ", ".join(f"{k} x{v}" for k, v in sorted(codes.items())) + ")"
        lat = [r.ended - r.started for r in ok]
        four_text = ", ".join(f"{k} x{v}" for k, v in sorted(four.items())) or "-"
        print(
            f"| {kind} | {len(rs)} | {len(ok)} | {four_text} | {burst429 or '-'} | {five_text} "
            f"| {sum(1 for r in rs if r.status == 0)} | {sum(1 for r in rs if r.wrong)} "
            f"| {_ms(lat, 0.5)} | {_ms(lat, 0.99)} |"
        )


def _mb(values) -> str:
    return f"{sum(values) / 2**20:.0f}"


def rss_table(sampler: Sampler, load_s: float) -> None:
    roles = ("master", "worker", "forkserver", "analysis")
    print("| at | tree RSS MB | master | workers (sum) | forkservers (sum) | analysis (sum, n) |")
    print("|---|--:|--:|--:|--:|--:|")
    minute = 0
    for s in sampler.samples:
        if s.t >= minute * 60 or s is sampler.samples[-1]:
            total = sum(sum(v) for v in s.by_role.values())
            print(
                f"| {s.t:.0f} s | {total / 2**20:.0f} | {_mb(s.by_role['master'])} "
                f"| {_mb(s.by_role['worker'])} | {_mb(s.by_role['forkserver'])} "
                f"| {_mb(s.by_role['analysis'])} ({len(s.by_role['analysis'])}) |"
            )
            while minute * 60 <= s.t:
                minute += 1
    print()

    def window(lo, hi):
        return [s for s in sampler.samples if lo <= s.t < hi]

    warm = window(WARMUP_S, WARMUP_S + 30)
    end = window(load_s - 30, load_s + 1)
    print(
        "| process group | warm-up (median of 60-90 s) MB | end (median of last 30 s) MB | growth |"
    )
    print("|---|--:|--:|--:|")
    for role in ("tree", "tree PSS", *roles):

        def value(s, role=role):
            if role == "tree":
                return sum(sum(v) for v in s.by_role.values())
            if role == "tree PSS":
                return s.pss
            return sum(s.by_role[role])

        if not warm or not end:
            print(f"| {role} | - | - | - |")
            continue
        a = statistics.median(value(s) for s in warm)
        b = statistics.median(value(s) for s in end)
        growth = f"{(b - a) / a * 100:+.1f} %" if a else "-"
        print(f"| {role} | {a / 2**20:.0f} | {b / 2**20:.0f} | {growth} |")
    worker_max = max((max(s.by_role["worker"], default=0) for s in sampler.samples), default=0)
    print()
    print(
        f"max RSS of any analysis process (sampled every 0.25 s): "
        f"{sampler.analysis_peak / 2**20:.0f} MB at {sampler.analysis_peak_at}; "
        f"analysis processes seen: {len(sampler.analysis_pids)}; "
        f"max RSS of a worker (every 5 s): {worker_max / 2**20:.0f} MB"
    )


def overlap_table(records: list[Record]) -> None:
    videos = [(r.started, r.ended) for r in records if r.kind == "video"]

    def during(r: Record) -> bool:
        return any(a < r.ended and r.started < b for a, b in videos)

    jpegs = [r for r in records if r.kind.startswith("jpeg") and r.status == 200]
    print("| JPEG scans (200) | n | p50 ms | p99 ms |")
    print("|---|--:|--:|--:|")
    for name, rs in (
        ("while a video was being scanned", [r for r in jpegs if during(r)]),
        ("while no video was", [r for r in jpegs if not during(r)]),
    ):
        lat = [r.ended - r.started for r in rs]
        print(f"| {name} | {len(rs)} | {_ms(lat, 0.5)} | {_ms(lat, 0.99)} |")


def most_in_window(records: list[Record], client: str, window_s: float) -> int:
    """The most 200s of one client whose requests started within `window_s` of each other.

    Sent times are the client's; the limiter counts on Redis's clock a little
    later, so a pair closer than the window by under a second is not counted.
    """
    times = sorted(r.started for r in records if r.client == client and r.status == 200)
    most, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window_s - 1.0:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


# --- main ------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--random-rows", type=int, default=10_000)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a file
    if not 0 < args.minutes <= 120:
        parser.error("--minutes must be within (0, 120]")

    from service import bank as bank_store
    from service.db.keys import create_key
    from service.db.migrations import ensure_schema

    setup_started = time.monotonic()
    run = uuid.uuid4().hex[:8]
    redis_prefix = f"aigc-bench-soak-{run}:"
    with tempfile.TemporaryDirectory() as tmp, _live.pg_schema("aigc_soak") as url:
        folder = Path(tmp)
        key_hex = secrets.token_hex(32)
        (folder / "TEST-ONLY-soak-partner.key").write_text(key_hex + "\n")
        (folder / "watermark-keys.yaml").write_text(
            "# made by benchmarks/soak.py for one run: a TEST-ONLY key\n"
            "keys:\n"
            "  - id: soak-test-partner\n"
            "    owner: Soak test AI generator (TEST-ONLY)\n"
            "    meaning: ai_generated\n"
            "    key_file: TEST-ONLY-soak-partner.key\n"
        )
        env = {
            "AIGC_DATABASE_URL": url,
            "AIGC_REDIS_URL": _live.REDIS_URL,
            "AIGC_REDIS_KEY_PREFIX": redis_prefix,
            "AIGC_WATERMARK_KEYS": str(folder / "watermark-keys.yaml"),
        }
        # the reference engine in this process reads the same environment
        os.environ.update(env)
        ensure_schema(url)
        items, banked, hostile = make_items(bytes.fromhex(key_hex))
        for name, data in banked:
            bank_store.add_entry(
                data,
                filename=name,
                category="misleading_deepfake",
                severity="high",
                note="soak benchmark",
                url=url,
            )
        random_pdq_csv(folder / "random.csv", args.random_rows)
        for csv in (folder / "random.csv", _live.ROOT / "demo" / "known-fakes.csv"):
            done = subprocess.run(
                [AIGC, "bank", "import", str(csv), "--by", "soak"],
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0:
                raise SystemExit(f"aigc bank import {csv} failed:\n{done.stdout}{done.stderr}")
        keys = {
            name: create_key(role, note=f"soak {name}", url=url)[1]
            for name, role in (
                ("images-a", "pipeline"),
                ("images-b", "pipeline"),
                ("videos", "pipeline"),
                ("hostile", "pipeline"),
                ("creator-steady", "creator"),
                ("creator-burst", "creator"),
            )
        }
        t = time.monotonic()
        expected = reference_decisions(items, url)
        print(
            f"reference: {len(expected)} distinct files decided in-process in "
            f"{time.monotonic() - t:.0f} s; bank {bank_store.index_cache(url).current().__len__()} "
            f"entries; setup {time.monotonic() - setup_started:.0f} s"
        )
        server = _live.start_server(folder, env, workers=2)
        try:
            t0 = time.monotonic()
            sampler = Sampler(server.pid, t0)
            sampler.start()
            cpu_before = _live.tree_cpu_seconds(server.pid)
            load_s = args.minutes * 60
            load = Load(server.base, keys, items, hostile, expected, t0 + load_s, t0)
            asyncio.run(load.run())
            load_wall = time.monotonic() - t0
            cpu = _live.tree_cpu_seconds(server.pid) - cpu_before
            sampler.sample()
            sampler.stop()
            alive = server.proc.poll() is None
        finally:
            server.stop()
            dropped = _live.drop_redis_prefix(redis_prefix)
        print()
        print(
            f"soak: {args.minutes:g} min of load ({load_wall:.0f} s wall), aigc serve --workers 2, "
            f"PostgreSQL + Redis, bank of {args.random_rows + len(banked) + 1} entries, "
            f"{os.cpu_count()} CPUs (shared); server tree CPU {cpu:.0f} s "
            f"({cpu / load_wall:.2f} cores); server alive at the end: {alive}; "
            f"{dropped} Redis keys removed"
        )
        print()
        requests_table(load.records)
        print()
        limit = int(os.environ.get("AIGC_LABEL_CHECK_LIMIT", "20"))
        accepted = [b[0] for b in load.bursts]
        print(
            f"label-check bursts of {BURST} on one creator id (limit {limit} per 60 s, shared by "
            f"both workers through Redis): accepted per burst {accepted}, "
            f"refused (429) {[b[1] for b in load.bursts]}, other {[b[2] for b in load.bursts]}; "
            f"most accepted in any 60 s: {most_in_window(load.records, 'burst', 60.0)}"
        )
        print()
        rss_table(sampler, load_s)
        print()
        overlap_table(load.records)
        print()
        if load.wrong:
            print(f"wrong decisions ({len(load.wrong)}), first 5:")
            for line in load.wrong[:5]:
                print(f"  {line}")
        else:
            print("wrong decisions: none")
        five = [r for r in load.records if r.status >= 500]
        if five:
            print(
                f"5xx ({len(five)}), first 5: "
                + "; ".join(f"{r.kind} {r.name} {r.status} {r.code}" for r in five[:5])
            )
            tail = server.log_tail(30)
            print("server log tail:\n" + tail)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
