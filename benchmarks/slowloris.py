"""Scan latency of a real `aigc serve` while 1,000 slowloris connections are held, over loopback.

    .venv/bin/python benchmarks/slowloris.py [--scans 60] [--slow 1000] [--seconds 30]

Starts the server in a subprocess with its default guard settings (header
deadline 10 s, body stall 15 s, 1,000 connections per worker), measures
sequential `/v1/scan` uploads of a small JPEG (a fresh connection each, as a
new client would, paced over `--seconds`) and `/healthz` while the server is quiet, then again while
an attacker process holds `--slow` connections: half send their request
headers one line every few seconds (classic slowloris), half send a scan's
headers and then its body one byte every few seconds. The attacker reopens
every connection the server closes, so the pressure stays on. Prints a
markdown table (quiet, under slowloris, ratio), what happened to the
attacker's connections, the server's RSS and how much it logged.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
AIGC = str(Path(sys.executable).parent / "aigc")
HOST = "127.0.0.1"
# how often a slow connection sends its next header line or body byte: under every deadline
# but the header one (which runs from the first byte, whatever trickles after it)
DRIP_S = 4.0


# --- the attacker (a separate process: its sockets do not share our GIL) -------------
class Attack:
    def __init__(self, port: int, key: str, count: int) -> None:
        self.port = port
        self.key = key
        self.count = count
        self.stop = asyncio.Event()
        self.held = 0
        self.opened = 0
        self.connect_errors = 0
        self.closed = {"408": 0, "503": 0, "other answer": 0, "no answer": 0}

    def stats(self) -> dict:
        return {
            "held": self.held,
            "opened": self.opened,
            "connect_errors": self.connect_errors,
            "closed": dict(self.closed),
        }

    async def run(self, ready: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self.one(i % 2 == 0)) for i in range(self.count)]
        while self.held < self.count * 0.98 and not self.stop.is_set():
            await asyncio.sleep(0.05)
        ready.set()
        await self.stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def one(self, slow_header: bool) -> None:
        body_head = (
            "POST /v1/scan HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {self.key}\r\n"
            "Content-Type: multipart/form-data; boundary=slowloris\r\n"
            "Content-Length: 1000000\r\n\r\n--slowloris\r\n"
        ).encode()
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(HOST, self.port)
            except OSError:
                self.connect_errors += 1
                await asyncio.sleep(0.5)
                continue
            self.opened += 1
            self.held += 1
            answer = b""
            try:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: b" if slow_header else body_head)
                while True:
                    try:
                        chunk = await asyncio.wait_for(reader.read(4096), DRIP_S)
                    except TimeoutError:
                        writer.write(b"\r\nX-Slow: 1" if slow_header else b"x")
                        continue
                    if not chunk:
                        break
                    answer += chunk
            except OSError:
                pass
            finally:
                self.held -= 1
                writer.close()
            status = answer[9:12].decode(errors="replace") if answer else ""
            kind = status if status in ("408", "503") else "other answer" if answer else "no answer"
            self.closed[kind] += 1
            await asyncio.sleep(0.05)


def attack_main(port: int, key: str, count: int) -> None:
    """Holds connections; stdin lines: `stats` prints a JSON line, `stop` ends it."""

    async def main():
        attack = Attack(port, key, count)
        ready = asyncio.Event()
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue[str] = asyncio.Queue()

        def read_stdin():
            for line in sys.stdin:
                loop.call_soon_threadsafe(commands.put_nowait, line.strip())
            loop.call_soon_threadsafe(commands.put_nowait, "stop")

        threading.Thread(target=read_stdin, daemon=True).start()
        runner = asyncio.create_task(attack.run(ready))
        await ready.wait()
        print(json.dumps({"ready": True, **attack.stats()}), flush=True)
        while True:
            command = await commands.get()
            print(json.dumps(attack.stats()), flush=True)
            if command == "stop":
                attack.stop.set()
                break
        await runner

    asyncio.run(main())


# --- the server and the measurement --------------------------------------------------
def small_jpeg() -> bytes:
    from skimage import data as skdata

    rgb = np.asarray(Image.fromarray(skdata.astronaut()).resize((256, 256)))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(folder: Path) -> tuple[subprocess.Popen, str, str, Path]:
    from service.db.keys import create_key
    from service.db.migrations import ensure_schema

    url = f"sqlite:///{folder / 'bench.db'}"
    ensure_schema(url)
    _, key = create_key("pipeline", note="slowloris benchmark", url=url)
    env = dict(os.environ, AIGC_DATABASE_URL=url)
    port = free_port()
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [AIGC, "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base, key, log_path
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not come up")


def rss_mb(pid: int) -> float:
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except Exception:  # psutil missing or the process gone: leave the cell empty
        return float("nan")


def measure(base: str, key: str, jpeg: bytes, scans: int, seconds: float = 0.0) -> dict:
    """Sequential scans on fresh connections, a /healthz probe after each, paced evenly
    over `seconds` (so that under attack they meet every phase of the server's deadlines)."""
    scan_ms: list[float] = []
    health_ms: list[float] = []
    errors = 0
    # one client (its TLS context and pool are built once), but no connection is reused
    client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
    start = time.monotonic()
    with client:
        for i in range(scans):
            errors += _one(client, base, key, jpeg, i, scan_ms, health_ms)
            pause = start + (i + 1) * seconds / scans - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    return {"scan": scan_ms, "health": health_ms, "errors": errors}


def _one(client, base, key, jpeg, i, scan_ms, health_ms) -> int:
    """One scan and one /healthz; the number of them that failed."""
    errors = 0
    started = time.perf_counter()
    try:
        response = client.post(
            base + "/v1/scan",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": (f"{i}.jpg", jpeg, "image/jpeg")},
            data={"creator_disclosed_ai": "false"},
            timeout=60,
        )
        if response.status_code == 200:
            scan_ms.append((time.perf_counter() - started) * 1000)
        else:
            errors += 1
    except httpx.HTTPError:
        errors += 1
    started = time.perf_counter()
    try:
        if client.get(base + "/healthz", timeout=10).status_code == 200:
            health_ms.append((time.perf_counter() - started) * 1000)
        else:
            errors += 1
    except httpx.HTTPError:
        errors += 1
    return errors


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def print_report(args, quiet, loud, before, after, rss, log_bytes, attack_s) -> None:
    held_note = f"under slowloris ({args.slow:,} slow)"
    print()
    print(
        f"`aigc serve` (1 worker, default guard), {args.scans} sequential scans of a 256 px JPEG "
        f"over {args.seconds:.0f} s (fresh connection each) and a /healthz after each; "
        f"{os.cpu_count()} shared CPUs"
    )
    print()
    print(f"| measure | quiet | {held_note} | ratio |")
    print("|---|---:|---:|---:|")
    rows = [
        ("scan p50 ms", pct(quiet["scan"], 0.5), pct(loud["scan"], 0.5)),
        ("scan p99 ms", pct(quiet["scan"], 0.99), pct(loud["scan"], 0.99)),
        ("healthz p50 ms", pct(quiet["health"], 0.5), pct(loud["health"], 0.5)),
        ("healthz p99 ms", pct(quiet["health"], 0.99), pct(loud["health"], 0.99)),
        ("server RSS MB", rss[0], rss[1]),
    ]
    for name, a, b in rows:
        ratio = b / a if a else float("nan")
        print(f"| {name} | {a:.1f} | {b:.1f} | {ratio:.2f}x |")
    print(f"| failed requests | {quiet['errors']} | {loud['errors']} | |")
    print()
    closed = after["closed"]
    print(
        f"attacker, {attack_s:.0f} s: {before['held']:,} connections held when the measurement "
        f"began, {after['held']:,} at its end; {after['opened']:,} opened in all "
        f"(each one the server closed was reopened); closed by the server: "
        + ", ".join(f"{v:,} {k}" for k, v in closed.items())
        + f"; connect errors {after['connect_errors']:,}"
    )
    print(f"server log: {log_bytes:,} bytes in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=60)
    parser.add_argument("--slow", type=int, default=1000, help="slow connections to hold")
    parser.add_argument(
        "--seconds",
        type=float,
        default=30,
        help="each phase spreads its scans over this long (under attack: deadlines fire, "
        "the attacker reopens)",
    )
    parser.add_argument("--attack", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        port, key, count = args.attack
        attack_main(int(port), key, int(count))
        return

    jpeg = small_jpeg()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base, key, log_path = start_server(Path(tmp))
        attacker = None
        try:
            measure(base, key, jpeg, 3)  # warm-up: lazy imports, trust list
            quiet = measure(base, key, jpeg, args.scans, args.seconds)
            rss_quiet = rss_mb(proc.pid)
            print(
                f"quiet: scan p50 {statistics.median(quiet['scan']):.0f} ms; "
                f"starting {args.slow} slow connections"
            )
            attacker = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--attack",
                    str(base.rsplit(":", 1)[1]),
                    key,
                    str(args.slow),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            before = json.loads(attacker.stdout.readline())
            attack_started = time.monotonic()
            loud = measure(base, key, jpeg, args.scans, args.seconds)
            rss_loud = rss_mb(proc.pid)
            attacker.stdin.write("stop\n")
            attacker.stdin.flush()
            after = json.loads(attacker.stdout.readline())
            attacker.wait(timeout=30)
            attack_s = time.monotonic() - attack_started
        finally:
            if attacker is not None and attacker.poll() is None:
                attacker.kill()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log_bytes = log_path.stat().st_size
    print_report(args, quiet, loud, before, after, (rss_quiet, rss_loud), log_bytes, attack_s)


if __name__ == "__main__":
    main()
