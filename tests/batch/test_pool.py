"""The local pool: a hung or crashing file costs its own row, never the job."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # so pool workers can import slow_tasks

import slow_tasks  # noqa: E402

from service.batch.pool import Failure, LocalPool  # noqa: E402


def test_hung_and_crashing_tasks_fail_alone_and_workers_are_replaced():
    pool = LocalPool(slow_tasks.work, workers=2, timeout=1.5)
    tasks = [("a",), ("hang1",), ("b",), ("crash1",), ("c",), ("raise1",), ("d",), ("e",)]
    started = time.monotonic()
    results = dict(pool.map(tasks))
    elapsed = time.monotonic() - started
    assert set(results) == set(tasks)
    assert results[("hang1",)] == Failure("timeout", "no result after 1.5 s; stopped")
    assert results[("crash1",)].code == "worker_crashed"
    assert results[("raise1",)] == Failure("worker_error", "RuntimeError: boom")
    for name in "abcde":
        assert results[(name,)].startswith(f"{name}:")
    assert pool.replaced == 2
    # the hung file cost its timeout, not the hour it would have slept
    assert elapsed < 15


def test_results_arrive_as_each_finishes_and_workers_are_reused():
    pool = LocalPool(slow_tasks.work, workers=2, timeout=30)
    results = [r for _, r in pool.map([(f"t{i}",) for i in range(10)])]
    assert len(results) == 10
    pids = {r.split(":")[1] for r in results}
    assert len(pids) <= 2
