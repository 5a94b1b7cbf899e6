"""The same job on a Dask distributed cluster: workers read each file by path.

Workers need the package installed and the media at a path they can reach
(a shared mount; archives are extracted below AIGC_BATCH_EXTRACT_DIR when it
is set, the system's temporary folder otherwise). Dask cannot kill one
running task, so a file past its deadline is reported as a timeout and
forgotten (its worker thread finishes it in the background) and the job
goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from .pool import Failure
from .worker import process_file


def run_on_dask(
    tasks: list[tuple], scheduler: str | None, timeout: float, *, client: Any = None
) -> Iterator[tuple[tuple, Any]]:
    from dask.distributed import Client, wait

    own = client is None
    if own:
        client = Client(scheduler, timeout="30s")
    try:
        threads = max(1, sum(client.nthreads().values()))
        # a bounded window keeps millions of tasks out of the scheduler's memory
        # and makes a deadline mostly a measure of running time, not queueing
        window = threads * 2
        pending = iter(tasks)
        inflight: dict[Any, tuple[tuple, float]] = {}
        while True:
            while len(inflight) < window:
                task = next(pending, None)
                if task is None:
                    break
                future = client.submit(process_file, *task, pure=False)
                inflight[future] = (task, time.monotonic() + timeout * 2)
            if not inflight:
                return
            nearest = min(deadline for _, deadline in inflight.values())
            try:
                finished = wait(
                    list(inflight),
                    timeout=max(0.05, min(nearest - time.monotonic(), 5.0)),
                    return_when="FIRST_COMPLETED",
                ).done
            except TimeoutError:
                finished = set()
            for future in finished:
                task, _ = inflight.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the worker process died or the task raised
                    result = Failure("worker_error", f"{type(exc).__name__}: {exc}")
                yield task, result
            now = time.monotonic()
            for future, (task, deadline) in list(inflight.items()):
                if now >= deadline:
                    inflight.pop(future)
                    future.cancel()
                    yield task, Failure("timeout", f"no result after {timeout * 2:g} s; abandoned")
    finally:
        if own:
            client.close()
