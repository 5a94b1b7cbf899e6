"""Run the labeler on one upload: probe, wait for a fair slot, observe in a process, decide.

The steps of one scan, and where each runs:

1. probe (this worker, a thread): the type from the bytes and, for images, the
   pixel count from the header, which sorts the job into the cheap or the
   heavy lane (`scheduler.py`) before any pixel is decoded;
2. observe (an analysis process, `isolation.py`): decoding, C2PA, watermark
   and hashing, the native-code work on the uploader's bytes, under a
   wall-clock, CPU and memory budget;
3. complete and decide (this worker, a thread): the bank lookup where the
   bank index lives, once per worker, then the policy.

The event loop itself only waits, so health checks and small requests stay
fast while scans run.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import anyio
import numpy as np
from PIL import Image

from labeler import Decision, Engine, UploadContext
from labeler.engine import Observation
from labeler.media import VIDEO_MIMES, decode, sniff_mime

from . import isolation
from .isolation import Budget
from .scheduler import FairScheduler, QueueFull

log = logging.getLogger(__name__)

# images above this many pixels go to the heavy lane with the videos
HEAVY_PIXELS = 16_000_000


@dataclass(frozen=True)
class Analysis:
    decision: Decision
    media: dict[str, Any]
    # PDQ of the (first) frame as 64 hex digits, None when there are no pixels
    perceptual_hash: str | None
    elapsed_ms: float


@dataclass(frozen=True)
class Observed:
    """What an analysis process sends back: no pixels, only what the decision needs."""

    media: dict[str, Any]
    observation: Observation
    perceptual_hash: str | None


def perceptual_hash(rgb: np.ndarray) -> str | None:
    """The plain PDQ of one frame: what the audit row and the bank's `pdq` column hold."""
    from matching import compute_hashes

    try:
        # letterbox search and pHash would triple the cost for nothing here
        return compute_hashes(rgb, strip_bars=False, phash=False).pdq_hex
    except Exception:  # the audit row is still worth writing without it
        log.exception("perceptual hash failed")
        return None


def observe_upload(data: bytes, filename: str | None, shape) -> Observed:
    """Step 2, in an analysis process: decode once and observe every signal."""
    engine: Engine = isolation.context_value("engine")
    media = decode(data, filename, engine.limits)
    seen = engine.observe(media, shape)
    # the match query already holds the first frame's plain PDQ when the bank
    # is not empty (same reduction): reuse it instead of hashing twice
    query = seen.match_query
    phash = query.hashes.pdq_hex if query is not None and query.hashes is not None else None
    if phash is None and media.frames:
        phash = perceptual_hash(media.frames[0])
    return Observed(media.summary(), seen, phash)


def is_heavy(data: bytes) -> bool:
    """Whether the upload belongs in the heavy lane, from its sniffed type and header only.

    This runs in the worker before the upload has a slot or a budget, so it
    reads a few fixed fields instead of parsing the headers: Pillow walks every
    segment or chunk before the picture in Python, and an uploader can put a
    million empty ones there (seconds of the worker's CPU, unbudgeted).
    """
    mime = sniff_mime(data)
    if mime is None:
        return False  # refused at once by the decoder: cheap
    if mime in VIDEO_MIMES:
        return True
    try:
        size = header_size(data, mime)
    except LongHeaders:
        return True  # the decoder walks them too, in Python: that costs its budget
    except (struct.error, IndexError):  # headers cut short fail fast in the decoder too
        return False
    if size is None:
        return False
    width, height = size
    return width * height > HEAVY_PIXELS


class LongHeaders(Exception):
    """More header structure before the picture than any honest file has."""


# no camera or editor writes more segments than this before the frame header
_MAX_JPEG_SEGMENTS = 4096
# JPEG start-of-frame markers (C4 is DHT, C8 reserved, CC is DAC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_FILL = re.compile(rb"\xff+")


def header_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) as the image's header declares it; None if it declares none.

    Bounded work whatever the file: fixed offsets for PNG and GIF, at most
    `_MAX_JPEG_SEGMENTS` segment headers for JPEG (LongHeaders past them), one
    IFD for TIFF, and libwebp's own parser (C) for WebP.
    """
    if mime == "image/png":
        return struct.unpack(">II", data[16:24]) if data[12:16] == b"IHDR" else None
    if mime == "image/gif":
        return struct.unpack("<HH", data[6:10])
    if mime == "image/jpeg":
        return _jpeg_size(data)
    if mime == "image/tiff":
        return _tiff_size(data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Image.DecompressionBombError:
        raise LongHeaders("a canvas Pillow will not even open") from None
    except Exception:
        return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        fill = _FILL.match(data, pos)  # a marker, after any number of 0xFF fill bytes
        if fill is None:
            raise LongHeaders("bytes between segments (Pillow skips them one at a time)")
        pos = fill.end()
        if pos >= len(data):
            return None
        marker = data[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # standalone markers carry no length
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            return None  # not a header segment: no frame header before the picture
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            return width, height
        pos += length
    raise LongHeaders(f"more than {_MAX_JPEG_SEGMENTS} segments before the frame header")


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    entries = data[offset + 2 : offset + 2 + 12 * count]
    entries = entries[: len(entries) // 12 * 12]
    found = {}
    # one IFD: at most 65535 entries, unpacked in C
    for tag, kind, _count, value in struct.iter_unpack(order + "HHI4s", entries):
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG, left-justified
            found[tag] = struct.unpack_from(order + ("H" if kind == 3 else "I"), value)[0]
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]


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


class Runner:
    """The analysis processes of one service worker and the fair queue in front of them."""

    def __init__(self, engine: Engine, config: RunnerConfig) -> None:
        self.engine = engine
        self.config = config
        self.scheduler = FairScheduler(
            config.processes, config.heavy_slots, config.max_waiting, config.per_key
        )
        # the bank stays here: analysis processes get the rest of the engine
        values = {"engine": replace(engine, bank=None)}
        self.processes = [
            isolation.AnalysisProcess(values, config.budget) for _ in range(config.processes)
        ]
        # one waiting thread per process: a job's thread blocks on its pipe
        self._threads = ThreadPoolExecutor(config.processes, thread_name_prefix="aigc-analysis")

    async def analyze(
        self, data: bytes, filename: str | None, context: UploadContext, key: str = "-"
    ) -> Analysis:
        start = time.perf_counter()
        heavy, shape = await anyio.to_thread.run_sync(self._prepare, data)
        observed = await self.call(observe_upload, data, filename, shape, key=key, heavy=heavy)
        signals = await anyio.to_thread.run_sync(self.engine.complete, observed.observation)
        decision = self.engine.policy.decide(signals, context, media=observed.media)
        elapsed = (time.perf_counter() - start) * 1000
        return Analysis(decision, observed.media, observed.perceptual_hash, elapsed)

    def _prepare(self, data: bytes):
        kind = "video" if sniff_mime(data) in VIDEO_MIMES else "image"
        return is_heavy(data), self.engine.bank_shape(kind)

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
        try:
            return await asyncio.shield(job)
        except isolation.BudgetExceeded as exc:
            raise AnalysisTimeout(str(exc)) from None
        except isolation.MemoryExceeded as exc:
            raise AnalysisMemory(str(exc)) from None
        except isolation.IsolationError as exc:
            raise AnalysisFailed(str(exc)) from None

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        for process in self.processes:
            process.close()
