"""Run the labeler on one upload, off the event loop, with bounded concurrency.

Decoding, C2PA reading, watermark detection and hashing are CPU work; they run
in worker threads (numpy, Pillow, OpenCV and the c2pa library release the GIL
for their heavy parts) behind a limiter, so the event loop stays free for
health checks and small requests while scans run, and a burst of uploads
queues instead of thrashing the CPU.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio
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
    phash = perceptual_hash(media.frames[0]) if media.frames else None
    return Analysis(decision, media.summary(), phash, (time.perf_counter() - start) * 1000)


class Runner:
    """Runs analyses in threads, at most `concurrency` at a time."""

    def __init__(self, engine: Engine, concurrency: int) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        # made lazily: a CapacityLimiter belongs to the event loop that first uses it
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        return self._limiter

    async def analyze(self, data: bytes, filename: str | None, context: UploadContext) -> Analysis:
        return await anyio.to_thread.run_sync(
            analyze_upload, self.engine, data, filename, context, limiter=self.limiter
        )

    async def call(self, fn, *args):
        """Any other CPU-heavy call (watermark embedding), under the same limit."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
