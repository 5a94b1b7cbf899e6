"""Analysis processes: a scan's native-code work, where a budget really stops it.

Decoders, the C2PA SDK, OpenCV and FFmpeg run on attacker-controlled bytes.
A thread stuck in one of them cannot be stopped, so they run in processes of
their own, one job at a time each:

- wall clock: the parent waits `wall_s` for the answer, then kills the process
  (SIGKILL) and starts a fresh one;
- CPU: before each job the child lowers its own RLIMIT_CPU to the CPU time it
  has used plus `cpu_s`; the kernel ends it with SIGXCPU past that, even
  inside native code;
- memory: RLIMIT_AS caps the address space at the idle size plus `memory_mb`,
  so a decoder that allocates past it fails (MemoryError, or the process
  dies) instead of taking the worker's memory; a process left holding more
  than `recycle_mb` resident after a job is replaced, so memory stays flat.

Children are forked from a forkserver that imported the heavy libraries once
(fast to replace, the libraries' pages shared). They never see the bank: the
bank index lives in the service worker, which does the lookup
(`Engine.finish`), so memory does not grow with the number of processes.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.settings import adopt_aigc_environ, aigc_environ

log = logging.getLogger(__name__)

# the heavy imports every child needs, done once in the forkserver
PRELOAD = ["service.app.isolation", "labeler", "labeler.video", "cv2", "c2pa", "av"]


@dataclass(frozen=True)
class Budget:
    # seconds a job may take from the moment the process receives it
    wall_s: float = 60.0
    # CPU seconds a job may use (whole seconds: the kernel's granularity)
    cpu_s: float = 60.0
    # address space a process may add to its idle size; 0: no ceiling
    memory_mb: int = 2048
    # a process is replaced after this many jobs (bounds slow leaks in native code)
    max_jobs: int = 500
    # a process left with more resident memory than this after a job is replaced:
    # allocators keep a bomb's or a video's high-water mark, a fresh fork costs ~0.1 s
    recycle_mb: int = 512
    # freed heap a process keeps for its next job, above its size after the last
    # trim; past it the heap is given back (malloc_trim). Giving it back after
    # every job made the next one fault it in again: ~10 ms of system time a 2 MP scan
    trim_slack_mb: int = 32


class IsolationError(Exception):
    """A job did not finish in its analysis process."""


class BudgetExceeded(IsolationError):
    """The job ran past its wall-clock or CPU budget and its process was killed."""


class MemoryExceeded(IsolationError):
    """The job needed more memory than the process's ceiling."""


class ProcessDied(IsolationError):
    """The analysis process ended during the job (a crash in native code)."""


# ---- the child ------------------------------------------------------------

_state: dict[str, Any] = {}


def context_value(name: str) -> Any:
    """A value the parent handed this analysis process at start (e.g. the engine)."""
    return _state[name]


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _trim_heap() -> None:
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to give back this way
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


class _HeapKeeper:
    """Gives freed heap back only when the process holds more than `slack` bytes over its
    size after the last trim: a run of similar uploads reuses the same pages, a big one
    (or a slow creep of fragments) does not ratchet the resident size up."""

    def __init__(self, slack_mb: int) -> None:
        self.slack = slack_mb * 1024 * 1024
        self.baseline = self.trim()

    def trim(self) -> int:
        _trim_heap()
        return rss_bytes(os.getpid())

    def after_job(self) -> None:
        if rss_bytes(os.getpid()) > self.baseline + self.slack:
            self.baseline = self.trim()


def _child_main(
    conn, values: dict[str, Any], env: dict[str, str], path: list[str], budget: Budget
) -> None:
    # the parent's environment and import path as they are now, not as the
    # forkserver saw them when it started
    adopt_aigc_environ(env)
    sys.path[:] = path
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    with contextlib.suppress(ImportError):
        import cv2

        # one job per process and one process per core: OpenCV's own threads
        # would only compete with the other processes
        cv2.setNumThreads(1)
    _state.update(values)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed decoder leaves no core file
    if budget.memory_mb > 0:
        ceiling = _vm_bytes() + budget.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, resource.RLIM_INFINITY))
    heap = _HeapKeeper(budget.trim_slack_mb)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        # the job is ours from here: a death after this word is the job's doing
        conn.send(("started", None))
        limit = int(_cpu_seconds() + budget.cpu_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (limit, resource.RLIM_INFINITY))
        try:
            reply = ("ok", fn(*args))
        except MemoryError:
            reply = ("memory", "the analysis needed more memory than its ceiling")
        except Exception as exc:
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an exception that does not pickle still gets home
            conn.send(("error", IsolationError(f"{type(exc).__name__}: {exc}")))
        # after the answer is home, so off the request's path: glibc keeps freed
        # heap in its arenas, and uploads of varying sizes otherwise ratchet the
        # process's resident size up job after job
        heap.after_job()


# ---- the parent -----------------------------------------------------------

_context_lock = threading.Lock()
_context = None


def _mp_context():
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
        return _context


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


class _GoneBeforeTheJob(Exception):
    """The process died before it took the job (it sends "started" when it does)."""


class AnalysisProcess:
    """One child that runs one job at a time; replaced whenever a job kills it.

    `run` blocks (call it from a thread) and is never called concurrently for
    one instance: the scheduler hands each process to one job at a time.
    """

    def __init__(self, values: dict[str, Any], budget: Budget) -> None:
        self.values = values
        self.budget = budget
        self._process = None
        self._conn = None
        self._jobs = 0
        self.restarts = 0
        # a warm start from a background thread and a job must not both start a child
        self._starting = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        ctx = _mp_context()
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_child_main,
            args=(child, self.values, aigc_environ(), list(sys.path), self.budget),
            name="aigc-analysis",
            daemon=True,
        )
        process.start()
        child.close()
        # the child's first word: it is set up, limits in place (bounded wait)
        try:
            ready = parent.poll(60) and parent.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            process.kill()
            process.join(5)
            raise ProcessDied("the analysis process did not start")
        self._process, self._conn, self._jobs = process, parent, 0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def ensure_started(self) -> None:
        with self._starting:
            if not self.alive:
                if self._process is not None:
                    self.restarts += 1
                self._discard()
                self._start()

    def run(self, fn: Callable, args: tuple) -> Any:
        try:
            return self._attempt(fn, args)
        except _GoneBeforeTheJob:
            # killed between jobs (the OOM killer, an operator): not the upload's
            # doing, so a fresh process takes it rather than the upload failing
            try:
                return self._attempt(fn, args)
            except _GoneBeforeTheJob:
                raise ProcessDied("the analysis process ended before the job") from None

    def _attempt(self, fn: Callable, args: tuple) -> Any:
        self.ensure_started()
        conn = self._conn  # close() from another thread may drop the attribute meanwhile
        started = time.monotonic()
        try:
            conn.send((fn, args))
        except (BrokenPipeError, EOFError, OSError):
            # found dead on sending (its pipe already closed): reaped and
            # counted like one found dead on reading
            self._reap()
            raise _GoneBeforeTheJob from None
        self._wait_within_budget(conn, started)
        try:
            conn.recv()  # ("started", None)
        except (EOFError, OSError):
            self._reap()
            raise _GoneBeforeTheJob from None
        self._wait_within_budget(conn, started)
        try:
            status, value = conn.recv()
        except (EOFError, OSError, pickle.UnpicklingError, TypeError, AttributeError) as exc:
            if not isinstance(exc, EOFError | OSError):
                # the child answered, but with something that does not load here
                self._jobs += 1
                raise IsolationError(f"the analysis answer could not be read: {exc}") from None
            code = self._reap()
            if code == -signal.SIGXCPU:
                raise BudgetExceeded(
                    f"the analysis used more than {self.budget.cpu_s:g} s of CPU"
                ) from None
            if code == -signal.SIGKILL and time.monotonic() - started < self.budget.wall_s:
                # the kernel's OOM killer, or an operator
                raise MemoryExceeded("the analysis process was killed (out of memory)") from None
            raise ProcessDied(f"the analysis process ended during the job ({code})") from None
        self._jobs += 1
        self._recycle_if_worn()
        if status == "ok":
            return value
        if status == "memory":
            raise MemoryExceeded(value)
        if _out_of_memory(value):
            raise MemoryExceeded(f"the analysis needed more memory than its ceiling ({value})")
        raise value

    def _wait_within_budget(self, conn, started: float) -> None:
        """Until the child has a word for us; killed when the job's wall budget runs out first."""
        if not conn.poll(max(0.0, self.budget.wall_s - (time.monotonic() - started))):
            self._kill()
            raise BudgetExceeded(f"the analysis took longer than {self.budget.wall_s:g} s")

    def _recycle_if_worn(self) -> None:
        ceiling = self.budget.recycle_mb * 1024 * 1024
        worn = self._jobs >= self.budget.max_jobs
        if ceiling and self.pid and rss_bytes(self.pid) > ceiling:
            worn = True
        if worn:
            self.close()

    def _reap(self) -> int | None:
        """Collect a process that died or was killed; the next job starts a fresh one."""
        process = self._process
        self._discard()
        if process is None:
            return None
        self.restarts += 1
        process.join(5)
        if process.exitcode is None:
            process.kill()
            process.join(5)
        return process.exitcode

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
        self._reap()

    def _discard(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn = None
        self._process = None

    def close(self) -> None:
        """Stop the child: EOF on its pipe ends its loop; killed if it does not go."""
        process = self._process
        self._discard()
        if process is not None:
            process.join(2)
            if process.exitcode is None:
                process.kill()
                process.join(5)


def _out_of_memory(exc: BaseException) -> bool:
    # OpenCV reports a failed allocation as cv2.error, not MemoryError
    text = str(exc)
    return "Insufficient memory" in text or "Failed to allocate" in text
