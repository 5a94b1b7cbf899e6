"""The fair scheduler: lanes, shares between keys, bounded waiting."""

from __future__ import annotations

import asyncio

import pytest

from service.app.scheduler import FairScheduler, QueueFull


def _run(coro):
    return asyncio.run(coro)


async def _grant_order(sched: FairScheduler, jobs: list[tuple[str, bool]], hold: int = 0):
    """Queue `jobs` (key, heavy) at once; record who gets a slot, in order."""
    order: list[tuple[str, bool]] = []

    async def one(key: str, heavy: bool):
        ticket = await sched.acquire(key, heavy, timeout=5)
        order.append((key, heavy))
        await asyncio.sleep(0.01 * hold)
        sched.release(ticket)

    await asyncio.gather(*(one(k, h) for k, h in jobs))
    return order


def test_a_key_that_queued_first_does_not_take_every_turn():
    sched = FairScheduler(slots=1, heavy_slots=1, max_waiting=64)
    jobs = [("a", False)] * 6 + [("b", False)] * 3
    order = _run(_grant_order(sched, jobs, hold=1))
    keys = "".join(k for k, _ in order)
    # a's burst came first, yet b gets every other slot once it waits
    assert keys.startswith("a") and "bbb" not in keys and keys[:6].count("b") >= 2


def test_heavy_jobs_never_hold_the_last_slot():
    async def scenario():
        sched = FairScheduler(slots=2, heavy_slots=5)
        assert sched.heavy_slots == 1
        first = await sched.acquire("v", True, timeout=1)
        with pytest.raises(TimeoutError):
            await sched.acquire("v", True, timeout=0.1)  # the other slot is for images
        light = await sched.acquire("p", False, timeout=1)
        assert sched.running() == 2 and sched.heavy_running == 1
        sched.release(first)
        sched.release(light)
        assert sched.running() == 0 and sched.waiting == 0

    _run(scenario())


def test_per_key_cap_holds_even_with_free_slots():
    async def scenario():
        sched = FairScheduler(slots=3, heavy_slots=2, per_key=1)
        held = await sched.acquire("a", False, timeout=1)
        with pytest.raises(TimeoutError):
            await sched.acquire("a", False, timeout=0.1)
        other = await sched.acquire("b", False, timeout=1)
        sched.release(held)
        sched.release(other)

    _run(scenario())


def test_waiting_is_bounded_in_all_and_per_key():
    async def scenario():
        sched = FairScheduler(slots=1, heavy_slots=1, max_waiting=4)
        held = await sched.acquire("a", False, timeout=1)
        waiters = [asyncio.ensure_future(sched.acquire("a", False, timeout=5)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(QueueFull, match="this key"):
            await sched.acquire("a", False, timeout=5)
        more = [asyncio.ensure_future(sched.acquire("b", False, timeout=5)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(QueueFull, match="too many"):
            await sched.acquire("c", False, timeout=5)
        sched.release(held)

        async def take(waiter):
            sched.release(await waiter)

        await asyncio.gather(*(take(w) for w in [*waiters, *more]))
        assert sched.running() == 0 and sched.waiting == 0

    _run(scenario())


def test_a_waiter_that_times_out_leaves_no_trace():
    async def scenario():
        sched = FairScheduler(slots=1, heavy_slots=1)
        held = await sched.acquire("a", False, timeout=1)
        with pytest.raises(TimeoutError):
            await sched.acquire("b", False, timeout=0.05)
        assert sched.waiting == 0
        sched.release(held)
        again = await sched.acquire("b", False, timeout=1)
        assert again.slot == held.slot
        sched.release(again)

    _run(scenario())
