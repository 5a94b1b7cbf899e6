"""Run the labeler on one upload, off the event loop, with bounded concurrency.

Decoding, C2PA reading, watermark detection and hashing are CPU work; they run
on a small pool of threads (numpy, Pillow, OpenCV and the c2pa library release
the GIL for their heavy parts), so the event loop stays free for health checks
and small requests while scans run, and a burst of uploads queues instead of
thrashing the CPU.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler import Decision, Engine, UploadContext
from labeler.media import decode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Analysis:
    decision: Decision
    media: dict[str, Any]
    # PDQ of the (first) frame as 64 hex digits, None when there are no pixels
    perceptual_hash: str | None
    elapsed_ms: float


def perceptual_hash(rgb: np.ndarray) -> str | None:
    """PDQ hex of one frame, by the matching package's own hashing when it is there."""
    try:
        try:
            from matching import compute_hashes
        except ImportError:
            from matching.hashing import compute_hashes
        # the plain PDQ is all the audit row needs (the bank's own `pdq` column,
        # same reduction); letterbox search and pHash would triple the cost
        return compute_hashes(rgb, strip_bars=False, phash=False).pdq_hex
    except ImportError:
        import pdqhash

        bits, _quality = pdqhash.compute(rgb)
        return np.packbits(bits.astype(np.uint8)).tobytes().hex()
    except Exception:  # the audit row is still worth writing without it
        log.exception("perceptual hash failed")
        return None


def analyze_upload(
    engine: Engine, data: bytes, filename: str | None, context: UploadContext
) -> Analysis:
    """The same steps as Engine.analyze, keeping the decoded frames for the audit hash."""
    start = time.perf_counter()
    media = decode(data, filename, engine.limits)
    signals = engine.gather(media)
    decision = engine.policy.decide(signals, context, media=media.summary())
    # the match signal already hashed the first frame when the bank is not
    # empty (same reduction, same plain PDQ): reuse it instead of hashing twice
    phash = signals.match.query_pdq if signals.match is not None else None
    if phash is None and media.frames:
        phash = perceptual_hash(media.frames[0])
    return Analysis(decision, media.summary(), phash, (time.perf_counter() - start) * 1000)


class AnalysisTimeout(Exception):
    """The analysis ran past the deadline (its thread finishes on its own)."""


class Overloaded(Exception):
    """The analysis waited in the queue past the deadline without starting."""


class Runner:
    """Runs analyses on `concurrency` threads of its own, each under a deadline.

    A thread cannot be killed, so an analysis past its deadline is abandoned:
    the request gets its answer at once, while the thread keeps its slot until
    it finishes. CPU use therefore never exceeds `concurrency` threads, even
    when hostile files keep arriving; at worst new scans queue and time out
    with a clear error while /healthz stays fast.
    """

    def __init__(self, engine: Engine, concurrency: int, timeout_s: float = 60.0) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="aigc-scan")

    async def analyze(self, data: bytes, filename: str | None, context: UploadContext) -> Analysis:
        return await self.call(analyze_upload, self.engine, data, filename, context)

    async def call(self, fn, *args):
        """Run `fn(*args)` on a scan thread under the deadline; the caller awaits it."""
        started = threading.Event()

        def task():
            started.set()
            return fn(*args)

        future = self._pool.submit(task)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
        except TimeoutError:
            future.cancel()  # drops it from the queue when it never started
            if started.is_set():
                raise AnalysisTimeout(
                    f"the analysis took longer than {self.timeout_s:g} s"
                ) from None
            raise Overloaded(
                f"the server is busy: the analysis did not start within {self.timeout_s:g} s"
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
