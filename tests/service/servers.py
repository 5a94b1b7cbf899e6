"""Real `aigc serve` processes on 127.0.0.1 for tests where the process boundary matters."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

AIGC = str(Path(sys.executable).parent / "aigc")


def metric_sample(text: str, name: str, **labels) -> float | None:
    """The value of the first sample of `name` in Prometheus text that has these labels."""
    for line in text.splitlines():
        if not line.startswith((name + "{", name + " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def small_png() -> bytes:
    """A tiny image: label checks on it are quick, so tests measure the limiter."""
    rgb = np.random.default_rng(3).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


@contextmanager
def serve(folder: Path, **env: str):
    """`aigc serve` with the given AIGC_* settings; yields its base URL."""
    with serve_process(folder, **env) as (base, _proc):
        yield base


@contextmanager
def serve_process(folder: Path, **env: str):
    """`aigc serve` as `serve` starts it; yields (base URL, the server's Popen).

    The log is `folder / "server.log"`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    full = dict(os.environ)
    full.update({"AIGC_DATABASE_URL": f"sqlite:///{folder / 'aigc.db'}", **env})
    port = free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 (closed below, after the process)
    proc = subprocess.Popen(
        [AIGC, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=full,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"aigc serve did not come up:\n{(folder / 'server.log').read_text()}")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
