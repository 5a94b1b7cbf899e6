"""A local process pool in which one stuck or crashing file cannot hang the job.

concurrent.futures cannot kill one busy worker, so this pool keeps one pipe
per worker process and a deadline per task: a task past its deadline has its
process killed and replaced, and comes back as a `Failure("timeout")`; a
worker that dies (a segfault in a decoder, the OOM killer) comes back as a
`Failure("worker_crashed")`. Either way the job goes on with the next file.

Workers come from the forkserver start method: forking from a clean server
is cheap (a replaced worker starts in milliseconds) and safe even when the
parent has threads (the HTTP service runs jobs on a background thread).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from service.settings import BATCH_FILE_TIMEOUT_S, adopt_aigc_environ, aigc_environ

# imported once in the fork server, so a new worker starts warm (missing ones are ignored)
_PRELOAD = ["service.batch.worker", "provenance", "watermark", "matching", "c2pa", "cv2"]


@dataclass(frozen=True)
class Failure:
    code: str  # timeout | worker_crashed | worker_error
    message: str


def _worker_main(conn: Connection, func: Callable[..., Any], env: dict[str, str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # the job's own AIGC_* settings (keys, bank, trust), not the forkserver's
    adopt_aigc_environ(env)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, args = message
        try:
            result: Any = func(*args)
        except BaseException as exc:  # reported, never silently lost
            result = Failure("worker_error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send((index, result))
        except (OSError, ValueError):
            return


class _Slot:
    def __init__(self, ctx, func, env):
        parent, child = ctx.Pipe(duplex=True)
        self.conn = parent
        self.proc = ctx.Process(target=_worker_main, args=(child, func, env), daemon=True)
        self.proc.start()
        child.close()
        self.index: int | None = None
        self.deadline = 0.0

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)
        self.conn.close()


class LocalPool:
    """Run `func(*args)` for each task on `workers` processes, in completion order."""

    def __init__(
        self,
        func: Callable[..., Any],
        workers: int | None = None,
        timeout: float = BATCH_FILE_TIMEOUT_S,
        start_method: str = "forkserver",
    ):
        self.func = func
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.timeout = timeout
        self.ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            self.ctx.set_forkserver_preload(_PRELOAD)
        self.replaced = 0

    def map(self, tasks: Iterable[tuple]) -> Iterator[tuple[tuple, Any]]:
        """Yield (task, result or Failure) as each task finishes."""
        pending = iter(tasks)
        env = aigc_environ()
        slots = [_Slot(self.ctx, self.func, env) for _ in range(self.workers)]
        inflight: dict[int, tuple] = {}
        ready: deque[tuple[tuple, Any]] = deque()
        counter = 0
        exhausted = False
        try:
            while True:
                for slot in slots:
                    if slot.index is None and not exhausted:
                        task = next(pending, None)
                        if task is None:
                            exhausted = True
                            break
                        counter += 1
                        slot.index = counter
                        slot.deadline = time.monotonic() + self.timeout
                        inflight[counter] = task
                        # a worker that died since its last file shows up on its
                        # sentinel below and its task comes back as worker_crashed
                        with contextlib.suppress(OSError):
                            slot.conn.send((counter, task))
                busy = [s for s in slots if s.index is not None]
                if not busy:
                    return
                wait_for = min(s.deadline for s in busy) - time.monotonic()
                handles = [s.conn for s in busy] + [s.proc.sentinel for s in busy]
                fired = set(wait(handles, timeout=max(0.0, min(wait_for, 1.0))))
                now = time.monotonic()
                for i, slot in enumerate(slots):
                    if slot.index is None:
                        continue
                    task = inflight[slot.index]
                    if slot.conn in fired or (slot.proc.sentinel in fired and slot.conn.poll()):
                        try:
                            index, result = slot.conn.recv()
                        except (EOFError, OSError):
                            result = Failure("worker_crashed", "the worker died mid-file")
                            slots[i] = self._replace(slot, env)
                        else:
                            if index != slot.index:  # cannot happen: one task per worker
                                result = Failure("worker_error", "out-of-order result")
                        inflight.pop(slot.index, None)
                        slot.index = None
                        ready.append((task, result))
                    elif slot.proc.sentinel in fired:
                        code = slot.proc.exitcode
                        inflight.pop(slot.index)
                        ready.append(
                            (task, Failure("worker_crashed", f"the worker died (exit code {code})"))
                        )
                        slots[i] = self._replace(slot, env)
                    elif now >= slot.deadline:
                        inflight.pop(slot.index)
                        ready.append(
                            (
                                task,
                                Failure("timeout", f"no result after {self.timeout:g} s; stopped"),
                            )
                        )
                        slots[i] = self._replace(slot, env)
                while ready:
                    yield ready.popleft()
        finally:
            for slot in slots:
                if slot.index is not None:
                    slot.kill()
                else:
                    slot.stop()

    def _replace(self, slot: _Slot, env: dict[str, str]) -> _Slot:
        slot.kill()
        self.replaced += 1
        return _Slot(self.ctx, self.func, env)
