"""Analysis processes: a stuck or greedy job is stopped within its budget, the others go on."""

from __future__ import annotations

import asyncio
import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler import Engine, UploadContext
from service.app.analysis import (
    AnalysisFailed,
    AnalysisMemory,
    AnalysisTimeout,
    Overloaded,
    Runner,
    RunnerConfig,
)
from service.app.isolation import Budget, rss_bytes

sys.path.insert(0, str(Path(__file__).parent))  # so analysis processes can import the jobs
import isolation_jobs as jobs  # noqa: E402

from .conftest import jpeg_bytes  # noqa: E402


def _runner(**budget) -> Runner:
    config = RunnerConfig(processes=2, heavy_slots=1, queue_timeout_s=30, budget=Budget(**budget))
    return Runner(Engine(), config)


def _run(coro):
    return asyncio.run(coro)


async def _warm(runner: Runner) -> None:
    """Start every process first, so that start-up time does not count."""
    await asyncio.gather(*(runner.call(jobs.sleep, 0.3) for _ in runner.processes))


@pytest.fixture
def photo() -> bytes:
    from skimage import data

    return jpeg_bytes(data.astronaut())


def test_a_job_stuck_in_native_code_is_killed_at_its_deadline_while_scans_go_on(photo):
    runner = _runner(wall_s=2.0, cpu_s=60)

    async def scenario():
        await _warm(runner)
        started = time.monotonic()
        stuck = asyncio.ensure_future(runner.call(jobs.stuck_in_native_code, heavy=True))
        await asyncio.sleep(0.2)
        # the other slot keeps serving scans while the stuck job holds its own
        scans = []
        for _ in range(3):
            result = await runner.analyze(photo, "a.jpg", UploadContext(), key="other")
            scans.append((time.monotonic() - started, result.decision.action))
        with pytest.raises(AnalysisTimeout, match="longer than 2 s"):
            await stuck
        killed_after = time.monotonic() - started
        # the slot is back, with a fresh process in it
        after = [await runner.call(jobs.pid) for _ in range(2)]
        return scans, killed_after, after

    try:
        scans, killed_after, after = _run(scenario())
    finally:
        runner.close()
    assert [action for _, action in scans] == ["none"] * 3
    assert scans[-1][0] < killed_after  # answered while the stuck job was still running
    assert 2.0 <= killed_after < 6.0
    assert sum(p.restarts for p in runner.processes) == 1
    assert len(set(after)) >= 1


def test_the_cpu_budget_stops_a_job_before_the_wall_clock_does():
    runner = _runner(wall_s=30.0, cpu_s=1)

    async def scenario():
        await _warm(runner)
        started = time.monotonic()
        with pytest.raises(AnalysisTimeout, match="CPU"):
            await runner.call(jobs.stuck_in_native_code)
        return time.monotonic() - started

    try:
        elapsed = _run(scenario())
    finally:
        runner.close()
    # at most two CPU seconds of budget (whole seconds), far from the 30 s deadline
    assert elapsed < 10


def test_the_memory_ceiling_refuses_a_greedy_job_and_the_process_serves_on():
    runner = _runner(memory_mb=300)
    try:
        with pytest.raises(AnalysisMemory):
            _run(runner.call(jobs.allocate, 1024))
        # within the ceiling the same process answers
        assert _run(runner.call(jobs.allocate, 50)) == 50 * 1024 * 1024 // 4096
        pid = _run(runner.call(jobs.pid))
        assert rss_bytes(pid) < 600 * 1024 * 1024
    finally:
        runner.close()


def test_a_crash_in_native_code_is_a_typed_error_and_the_process_is_replaced():
    runner = _runner()
    try:
        with pytest.raises(AnalysisFailed):
            _run(runner.call(jobs.crash))
        assert isinstance(_run(runner.call(jobs.pid)), int)
    finally:
        runner.close()


def test_a_decode_past_the_memory_ceiling_is_a_422_not_a_dead_worker(svc_make_client, svc_keys):
    # a 9000 x 9000 PNG of one colour: a few hundred KB that decode to 243 MB
    # of RGB; the ceiling is 150 MB over the idle size, the pixel limit above it
    rgb = np.full((9000, 9000, 3), 90, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    client = svc_make_client(analysis_memory_mb=150, max_pixels=100_000_000)
    headers = {"Authorization": f"Bearer {svc_keys['pipeline']}"}
    res = client.post("/v1/scan", headers=headers, files={"file": ("big.jpg", buf.getvalue())})
    assert res.status_code == 422, res.text
    assert res.json()["error"]["code"] == "analysis_memory"
    small = jpeg_bytes(np.ascontiguousarray(rgb[:512, :512]))
    res = client.post("/v1/scan", headers=headers, files={"file": ("small.jpg", small)})
    assert res.status_code == 200, res.text


def test_a_full_queue_answers_overloaded_at_once():
    config = RunnerConfig(processes=1, max_waiting=2, queue_timeout_s=30, budget=Budget())
    runner = Runner(Engine(), config)

    async def scenario():
        running = [asyncio.ensure_future(runner.call(jobs.sleep, 1.0, key=k)) for k in "abc"]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(Overloaded, match="too many"):
            await runner.call(jobs.pid, key="d")
        refused_in = time.monotonic() - started
        await asyncio.gather(*running)
        return refused_in

    try:
        assert _run(scenario()) < 0.5
    finally:
        runner.close()


def test_images_do_not_wait_behind_videos_and_keys_share_the_slots():
    runner = _runner(wall_s=30)

    async def scenario():
        await _warm(runner)
        t0 = time.monotonic()
        heavy = [
            asyncio.ensure_future(runner.call(jobs.sleep, 1.5, key="video-key", heavy=True))
            for _ in range(3)
        ]
        await asyncio.sleep(0.1)
        light = []
        for _ in range(4):
            await runner.call(jobs.sleep, 0.05, key="photo-key")
            light.append(time.monotonic() - t0)
        await asyncio.gather(*heavy)
        return light, time.monotonic() - t0

    try:
        light, total = _run(scenario())
    finally:
        runner.close()
    # every image finished long before the first video (1.5 s) did
    assert light[-1] < 1.2, light
    # the videos ran one at a time on their one heavy slot
    assert total >= 4.5


def test_an_upload_over_the_cost_budget_is_refused_before_any_process_works(
    svc_make_client, svc_keys, photo, monkeypatch
):
    monkeypatch.setenv("AIGC_MAX_COST", "5")  # below one sample's cost: every image is over
    monkeypatch.setenv("AIGC_ANALYSIS_WARM_START", "0")  # so a started process means work
    client = svc_make_client()
    headers = {"Authorization": f"Bearer {svc_keys['pipeline']}"}
    res = client.post("/v1/scan", headers=headers, files={"file": ("a.jpg", photo)})
    assert res.status_code == 422, res.text
    assert res.json()["error"]["code"] == "media_too_large"
    assert "cost" in res.json()["error"]["message"]
    # refused from the header in the worker: no analysis process was even started
    assert all(p.pid is None for p in client.app.state.runner.processes)


def test_a_process_left_big_after_a_job_is_replaced():
    runner = _runner(recycle_mb=250)

    async def scenario():
        first = await runner.call(jobs.pid)
        # numpy hands big blocks back to the OS, so keep the memory as a real
        # high-water mark would: a module-level list in the child
        await runner.call(jobs.hold, 400)
        return first, await runner.call(jobs.pid)

    try:
        first, second = _run(scenario())
    finally:
        runner.close()
    assert first != second


def test_freed_heap_past_the_slack_is_given_back_after_the_job():
    runner = _runner(trim_slack_mb=32, recycle_mb=0)

    async def scenario():
        pid = await runner.call(jobs.pid)
        idle = rss_bytes(pid)
        await runner.call(jobs.fragment, 400)
        # the heap is given back after the answer: the next job finds it done
        assert await runner.call(jobs.pid) == pid
        return idle, rss_bytes(pid)

    try:
        idle, after = _run(scenario())
    finally:
        runner.close()
    # 400 MB touched, ~6 MB of it kept: the rest is back with the system
    assert after - idle < 64 * 1024 * 1024


def _wait_until(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_warm_processes_start_before_any_job_and_again_after_a_crash():
    config = RunnerConfig(processes=2, heavy_slots=1, queue_timeout_s=30, warm=True)
    runner = Runner(Engine(), config)
    try:
        assert not any(p.alive for p in runner.processes)
        runner.warm()
        assert _wait_until(lambda: all(p.alive for p in runner.processes))
        started = {p.pid for p in runner.processes}
        # the job runs on a process that was already up: no start on its path
        assert _run(runner.call(jobs.pid)) in started
        with pytest.raises(AnalysisFailed):
            _run(runner.call(jobs.crash))
        # the crashed process's replacement is started without waiting for a job
        assert _wait_until(lambda: all(p.alive for p in runner.processes))
        assert len({p.pid for p in runner.processes} - started) == 1
    finally:
        runner.close()


def test_without_warm_start_a_process_starts_with_its_first_job():
    runner = _runner()
    try:
        time.sleep(0.3)
        assert not any(p.alive for p in runner.processes)
        _run(runner.call(jobs.pid))
        assert sum(p.alive for p in runner.processes) == 1
    finally:
        runner.close()
