"""Helpers shared by the benchmarks: servers, process trees, media, the peers' modules.

A script in this folder
imports it first, then calls `use_packages()`, which takes the folder off
sys.path so that benchmarks/matching.py does not shadow the `matching` package
(the editable install's finder comes after the path entries).
"""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AIGC = str(Path(sys.executable).parent / "aigc")
# long videos take ~25 s per minute of 720p to encode: made once, kept between runs
CACHE = Path(tempfile.gettempdir()) / "aigc-bench-media"
PG_BASE = os.environ.get("AIGC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AIGC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def use_packages() -> None:
    """Take this folder off sys.path: its matching.py must not hide the package."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def invisible_watermark(module: str):
    """One module of invisible-watermark (e.g. "dwtDctSvd"), or None when it is not installed.

    Loaded on its own: the package's __init__ imports its torch-based rivaGan.
    """
    import importlib.util

    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / f"{module}.py"
    module_spec = importlib.util.spec_from_file_location(f"imwatermark_{module}", path)
    loaded = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(loaded)
    return loaded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ms(value: float) -> str:
    return "-" if value != value else f"{value * 1000:.0f}"


# --- servers ---------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen
    base: str
    log_path: Path
    _log: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()


def start_server(
    folder: Path,
    env: dict[str, str],
    workers: int = 1,
    argv: list[str] | None = None,
    timeout: float = 120,
) -> Server:
    """`aigc serve` on a free loopback port (or `argv` + ["--port", P]); waits for /healthz."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = argv or [AIGC, "serve", "--workers", str(workers), "--log-level", "warning"]
    log_path = folder / f"server-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 (closed by Server.stop)
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=dict(os.environ, **env),
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise SystemExit(f"server exited early:\n{server.log_tail()}")
        try:
            if httpx.get(server.base + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"server did not come up in {timeout:g} s:\n{server.log_tail()}")


def serve_shared(argv: list[str]) -> None:
    """`aigc serve` in this process with the heavy lane's clamp lifted (videos may hold
    every slot): the shared queue the lanes replaced, kept only as a comparison."""
    use_packages()
    from service.app import scheduler
    from service.cli import app

    original = scheduler.FairScheduler.__init__

    def shared_init(self, slots, heavy_slots, *args, **kwargs):
        original(self, slots, heavy_slots, *args, **kwargs)
        self.heavy_slots = slots

    scheduler.FairScheduler.__init__ = shared_init
    # one worker: uvicorn then runs the app in this process, where the patch is
    app(["serve", "--workers", "1", "--log-level", "warning", *argv])


def shared_queue_argv() -> list[str]:
    # `-c`, not this file: the forkserver re-imports a script __main__ in every
    # child, and that would need this folder on the children's sys.path
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import _live; "
    code += "_live.serve_shared(sys.argv[1:])"
    return [sys.executable, "-c", code]


# --- process trees ---------------------------------------------------------
def tree(pid: int) -> list:
    """The process and all its descendants that are alive now."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of the tree, with the reaped children each process waited for."""
    import psutil

    total = 0.0
    for p in tree(pid):
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def roles(pid: int) -> dict[str, list]:
    """The server's processes by role: master, worker, forkserver, analysis, other.

    uvicorn's workers are multiprocessing spawn children of the master; each
    worker starts its own forkserver, whose forked children (the same command
    line) are the analysis processes.
    """
    import psutil

    out: dict[str, list] = {k: [] for k in ("master", "worker", "forkserver", "analysis", "other")}
    procs = tree(pid)
    if not procs:
        return out
    out["master"].append(procs[0])
    forkservers: set[int] = set()
    for p in procs[1:]:
        try:
            cmd = " ".join(p.cmdline())
            parent = p.ppid()
        except psutil.Error:
            continue
        if "multiprocessing.forkserver" in cmd and parent in forkservers:
            out["analysis"].append(p)
        elif "multiprocessing.forkserver" in cmd:
            forkservers.add(p.pid)
            out["forkserver"].append(p)
        elif "multiprocessing.spawn" in cmd and parent == pid:
            out["worker"].append(p)
        else:
            out["other"].append(p)
    return out


def rss_of(processes) -> list[int]:
    import psutil

    sizes = []
    for p in processes:
        with suppress(psutil.Error):
            sizes.append(p.memory_info().rss)
    return sizes


def pss_of(processes) -> list[int]:
    """Proportional set size: a page shared by n processes counts 1/n in each.

    Analysis processes are forks of one forkserver, so their RSS counts the
    preloaded libraries once per process; summed PSS is what the tree costs.
    """
    import psutil

    sizes = []
    for p in processes:
        with suppress(psutil.Error):
            sizes.append(p.memory_full_info().pss)
    return sizes


def statm_rss(pid: int) -> int:
    """RSS from /proc (cheap enough to poll every 100 ms); 0 for a process that is gone."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


# --- PostgreSQL and Redis --------------------------------------------------
@contextmanager
def pg_schema(prefix: str):
    """A fresh schema on the local server for one run (dropped after); yields its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine("postgresql+psycopg://" + PG_BASE.removeprefix("postgresql://"))
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE else "?"
    url = f"{PG_BASE}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        from service.db.base import get_engine

        get_engine(url).dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def drop_redis_prefix(prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


# --- media -----------------------------------------------------------------
def photos() -> dict[str, np.ndarray]:
    """RGB sample photos that ship with scikit-image (nothing downloaded)."""
    from skimage import data as skdata

    return {
        "astronaut": skdata.astronaut(),
        "chelsea": skdata.chelsea(),
        "coffee": skdata.coffee(),
        "rocket": skdata.rocket(),
        "hubble": skdata.hubble_deep_field(),
        "camera": np.stack([skdata.camera()] * 3, axis=-1),
        "retina": skdata.retina(),
        "immuno": skdata.immunohistochemistry(),
    }


def resized(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC))


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def flat_jpeg(side: int, colour=(90, 140, 200)) -> bytes:
    """A single-colour JPEG `side` x `side`: tiny file, side^2 x 3 bytes when decoded."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(buf, "JPEG", quality=75)
    return buf.getvalue()


def flat_png(side: int, colour=(200, 60, 60)) -> bytes:
    """A single-colour PNG written row by row (never the whole picture in memory here)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + bytes(colour) * side  # filter byte 0, then RGB
    packer = zlib.compressobj(9)
    parts = []
    for _ in range(side):
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def _pan(img: np.ndarray, frames: int, width: int, height: int):
    big = resized(img[..., :3], int(width * 1.25), int(height * 1.25))
    span_y, span_x = big.shape[0] - height, big.shape[1] - width
    for i in range(frames):
        f = i / max(1, frames - 1)
        y, x = int(span_y * f * 0.6), int(span_x * f)
        yield big[y : y + height, x : x + width]


def long_video(seconds: int, fps: int = 30, width: int = 1280, height: int = 720) -> bytes:
    """An H.264 MP4 of slow pans over skimage photos with a cut every 3 s (cached on disk)."""
    from service.media_encode import encode_frames

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"pans-{seconds}s-{width}x{height}-{fps}.mp4"
    if path.exists() and path.stat().st_size > 0:
        return path.read_bytes()
    scenes = list(photos().values())
    per_scene = 3 * fps
    total = seconds * fps

    def frames():
        made, n = 0, 0
        while made < total:
            count = min(per_scene, total - made)
            yield from _pan(scenes[n % len(scenes)], count, width, height)
            made += count
            n += 1

    data = encode_frames(frames(), fps, crf=23)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: max(16, int(len(data) * keep))]


def bit_flipped(data: bytes, flips: int = 40, seed: int = 0) -> bytes:
    """`flips` random bits flipped past the first 64 bytes (the header mostly survives)."""
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for pos in rng.integers(64, len(out), flips):
        out[int(pos)] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)
