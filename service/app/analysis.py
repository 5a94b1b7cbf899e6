"""Run the labeler on one upload: probe, wait for a fair slot, observe in a process, decide.

The steps of one scan, and where each runs:

1. probe (this worker, a thread): the type from the bytes and, for images, the
   cost from the header (`labeler.probe`), which refuses what is over the
   budget and sorts the rest into the cheap or the heavy lane
   (`scheduler.py`) before any pixel is decoded;
2. observe (an analysis process, `isolation.py`): `Engine.observe_upload`,
   decoding, C2PA, watermark and hashing, the native-code work on the
   uploader's bytes, under a wall-clock, CPU and memory budget;
3. finish (this worker, a thread): `Engine.finish`, the bank lookup where the
   bank index lives, once per worker, then the policy.

The order of the steps is the engine's (labeler/engine.py); this module only
puts a process boundary and a fair queue between them.

The event loop itself only waits, so health checks and small requests stay
fast while scans run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import anyio
import numpy as np

from labeler import Decision, Engine, UploadContext
from labeler.engine import Observation
from labeler.media import VIDEO_MIMES, probe_image_size, sniff_mime

from . import isolation
from .header import LongHeaders, header_size
from .isolation import Budget
from .scheduler import FairScheduler, QueueFull

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Analysis:
    decision: Decision
    media: dict[str, Any]
    # PDQ of the (first) frame as 64 hex digits, None when there are no pixels
    perceptual_hash: str | None
    elapsed_ms: float
    # seconds per pipeline stage (labeler.engine.Analysis.timings)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    """What an analysis process sends back: no pixels, only what the decision needs."""

    observation: Observation
    perceptual_hash: str | None

    @property
    def media(self) -> dict[str, Any]:
        return self.observation.media


@dataclass(frozen=True)
class Pending:
    """An upload observed in an analysis process, not decided yet (`Runner.finish`)."""

    observed: Observed
    # perf_counter when the analysis began: `Analysis.elapsed_ms` counts from here
    started: float


def perceptual_hash(rgb: np.ndarray) -> str | None:
    """The plain PDQ of one frame: what the audit row and the bank's `pdq` column hold."""
    from matching import compute_hashes

    try:
        # letterbox search and pHash would triple the cost for nothing here
        return compute_hashes(rgb, strip_bars=False, phash=False).pdq_hex
    except Exception:  # the audit row is still worth writing without it
        log.exception("perceptual hash failed")
        return None


def observe_upload(data: bytes, filename: str | None, shapes: dict[str, Any]) -> Observed:
    """Step 2, in an analysis process: decode once and observe every signal."""
    engine: Engine = isolation.context_value("engine")
    media, seen = engine.observe_upload(data, filename, shapes)
    # the match query already holds the first frame's plain PDQ when the bank
    # is not empty (same reduction): reuse it instead of hashing twice
    phash = getattr(seen.values.get("match"), "pdq_hex", None)
    if phash is None and media.frames:
        phash = perceptual_hash(media.frames[0])
    return Observed(seen, phash)


def lane_of(data: bytes, filename: str | None, limits) -> tuple[str, bool]:
    """(kind, heavy) of an upload before any decoding; typed labeler errors refuse it at once.

    Images are probed here from their size, read by `header.py`'s bounded
    parser (Pillow walks every segment before the picture in Python, and an
    uploader can put a million empty ones there): what the pixels will cost,
    over the budget refused before a slot is taken. A video's index is
    read by FFmpeg, native code on the uploader's bytes, so it is probed in
    the analysis process (decode checks the same budget first thing); here it
    is heavy by its type alone.
    """
    mime = sniff_mime(data)
    if mime in VIDEO_MIMES:
        return "video", True
    if mime is None:
        return "image", False  # refused by the decoder at once: cheap
    try:
        size = header_size(data, mime)
    except LongHeaders:
        return "image", True  # the decoder walks them too, in Python: that costs its budget
    except (struct.error, IndexError):  # headers cut short fail fast in the decoder too
        return "image", False
    if size is None:
        return "image", False
    return "image", probe_image_size(mime, *size, limits).heavy


class AnalysisTimeout(Exception):
    """The analysis ran past its wall-clock or CPU budget (its process was killed)."""


class AnalysisMemory(Exception):
    """The analysis needed more memory than an analysis process may use."""


class AnalysisFailed(Exception):
    """The analysis process died on the upload (a crash in a native library)."""


class Overloaded(Exception):
    """No analysis slot within the deadline, or no room to wait for one."""


@dataclass(frozen=True)
class RunnerConfig:
    processes: int = 2
    # slots heavy jobs may hold (at most processes - 1 when there are several)
    heavy_slots: int = 1
    max_waiting: int = 32
    # 0: a key alone may use every slot (shares are enforced when others wait)
    per_key: int = 0
    # seconds to wait for a slot before 503
    queue_timeout_s: float = 60.0
    budget: Budget = Budget()
    # start processes with the worker and right after one is replaced
    warm: bool = False

    @classmethod
    def from_settings(cls, settings) -> RunnerConfig:
        budget = Budget(
            wall_s=settings.scan_timeout_s,
            cpu_s=settings.scan_cpu_s,
            memory_mb=settings.analysis_memory_mb,
            max_jobs=settings.analysis_max_jobs,
            recycle_mb=settings.analysis_recycle_mb,
        )
        return cls(
            processes=settings.scan_concurrency,
            heavy_slots=settings.scan_heavy_slots,
            max_waiting=settings.scan_queue,
            per_key=settings.scan_slots_per_key,
            queue_timeout_s=settings.scan_timeout_s,
            budget=budget,
            warm=settings.analysis_warm_start,
        )


class Runner:
    """The analysis processes of one service worker and the fair queue in front of them."""

    def __init__(self, engine: Engine, config: RunnerConfig) -> None:
        self.engine = engine
        self.config = config
        self.scheduler = FairScheduler(
            config.processes, config.heavy_slots, config.max_waiting, config.per_key
        )
        # the bank stays here: analysis processes get the rest of the engine
        values = {"engine": engine.for_analysis()}
        self.processes = [
            isolation.AnalysisProcess(values, config.budget) for _ in range(config.processes)
        ]
        # one waiting thread per process (a job's thread blocks on its pipe), and
        # one for starting processes ahead of their jobs
        self._threads = ThreadPoolExecutor(config.processes + 1, thread_name_prefix="aigc-analysis")
        self._closed = False

    def warm(self, process: isolation.AnalysisProcess | None = None) -> None:
        """Start `process` (default: every one) in the background, off any request's path.

        A start is a fork of the preloaded forkserver plus the child's set-up;
        done here, neither the first uploads nor the one after a process was
        replaced wait for it, and the worker's memory is all there from the start.
        """
        for one in [process] if process is not None else self.processes:
            if self._closed or one.alive:
                continue
            with contextlib.suppress(RuntimeError):  # the pool shut down meanwhile
                self._threads.submit(self._start_quietly, one)

    @staticmethod
    def _start_quietly(process: isolation.AnalysisProcess) -> None:
        try:
            process.ensure_started()
        except isolation.IsolationError:
            # the next job starts it again and reports the failure to its caller
            log.warning("an analysis process did not start ahead of its job", exc_info=True)

    async def analyze(
        self, data: bytes, filename: str | None, context: UploadContext, key: str = "-"
    ) -> Analysis:
        observed = await self.observe(data, filename, key)
        return await anyio.to_thread.run_sync(self.finish, observed, context)

    async def observe(self, data: bytes, filename: str | None, key: str = "-") -> Pending:
        """Steps 1 and 2; `finish` (blocking: a thread) is step 3. A caller with more
        blocking work after the decision (the audit row) does both in one thread."""
        start = time.perf_counter()
        heavy, shapes = await anyio.to_thread.run_sync(self._prepare, data, filename)
        observed = await self.call(observe_upload, data, filename, shapes, key=key, heavy=heavy)
        return Pending(observed, start)

    def finish(self, pending: Pending, context: UploadContext) -> Analysis:
        observed = pending.observed
        done = self.engine.finish(observed.observation, context)
        elapsed = (time.perf_counter() - pending.started) * 1000
        return Analysis(
            done.decision, observed.media, observed.perceptual_hash, elapsed, done.timings
        )

    def _prepare(self, data: bytes, filename: str | None):
        kind, heavy = lane_of(data, filename, self.engine.limits)
        return heavy, self.engine.shapes(kind)

    async def call(self, fn, *args, key: str = "-", heavy: bool = False):
        """Run the picklable `fn(*args)` in an analysis process under the budget."""
        try:
            ticket = await self.scheduler.acquire(key, heavy, self.config.queue_timeout_s)
        except QueueFull as exc:
            raise Overloaded(f"the server is busy: {exc}") from None
        except TimeoutError:
            raise Overloaded(
                "the server is busy: the analysis did not start within "
                f"{self.config.queue_timeout_s:g} s"
            ) from None
        process = self.processes[ticket.slot]
        job = asyncio.get_running_loop().run_in_executor(self._threads, process.run, fn, args)
        # the slot is free when the process is, not when the request is: a client
        # that goes away must not hand a busy process to the next job
        job.add_done_callback(lambda _job: self.scheduler.release(ticket))
        if self.config.warm:
            # a process replaced after its job (worn, killed) is started again at once
            job.add_done_callback(lambda _job: self.warm(process))
        try:
            return await asyncio.shield(job)
        except isolation.BudgetExceeded as exc:
            raise AnalysisTimeout(str(exc)) from None
        except isolation.MemoryExceeded as exc:
            raise AnalysisMemory(str(exc)) from None
        except isolation.IsolationError as exc:
            raise AnalysisFailed(str(exc)) from None

    def close(self) -> None:
        self._closed = True
        self._threads.shutdown(wait=False, cancel_futures=True)
        for process in self.processes:
            process.close()
