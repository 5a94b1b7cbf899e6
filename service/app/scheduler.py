"""Who gets the next analysis slot: cheap images before the queue of videos, keys in turn.

Two rules, both applied whenever a slot frees or a job arrives:

- lanes: heavy jobs (videos, very large images, as estimated from the header)
  hold at most `heavy_slots` of the slots, so at least one slot is always
  left to cheap images; an image never waits behind a queue of videos;
- keys: among the jobs that may start, the next slot goes to the key that
  holds the fewest slots, then to the one served longest ago (keys take
  turns), then to the oldest job. A key alone may use every slot (nothing is
  kept idle), but as soon as another key waits, each freed slot goes to
  whoever holds less, so no key keeps more than its share while others
  wait. `per_key` optionally caps it outright.

Waiting is bounded too: past `max_waiting` jobs in all (each holds its upload
in memory), or half of that for one key, a new job is refused at once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field


class QueueFull(Exception):
    """No room to wait: the caller should answer 503 with Retry-After."""


class WaitTimeout(Exception):
    """The job waited past its deadline without getting a slot."""


@dataclass
class _Waiter:
    key: str
    heavy: bool
    seq: int
    future: asyncio.Future = field(repr=False)


@dataclass(frozen=True)
class Ticket:
    slot: int
    key: str
    heavy: bool


class FairScheduler:
    def __init__(
        self, slots: int, heavy_slots: int, max_waiting: int = 32, per_key: int = 0
    ) -> None:
        if slots < 1:
            raise ValueError("at least one analysis slot is needed")
        self.slots = slots
        # with one slot there is nothing to keep free: heavy jobs may take it
        self.heavy_slots = max(1, min(heavy_slots, slots - 1 if slots > 1 else 1))
        self.max_waiting = max(1, max_waiting)
        self.per_key = per_key
        self._free = list(range(slots - 1, -1, -1))
        self._waiting: list[_Waiter] = []
        self._running: Counter[str] = Counter()
        # grant number of each active key's last slot (keys with nothing running
        # or waiting are forgotten, so this stays as small as the queue)
        self._served: dict[str, int] = {}
        self._grants = itertools.count()
        self._heavy_running = 0
        self._seq = itertools.count()

    # -- introspection (metrics, tests) --
    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def running(self, key: str | None = None) -> int:
        if key is None:
            return sum(self._running.values())
        return self._running[key]

    @property
    def heavy_running(self) -> int:
        return self._heavy_running

    async def acquire(self, key: str, heavy: bool, timeout: float) -> Ticket:
        """Wait for a slot for this key's job; QueueFull or WaitTimeout if there is none."""
        if len(self._waiting) >= self.max_waiting:
            raise QueueFull("too many analyses are waiting")
        mine = sum(1 for w in self._waiting if w.key == key)
        if mine >= max(1, self.max_waiting // 2):
            raise QueueFull("this key has too many analyses waiting")
        loop = asyncio.get_running_loop()
        waiter = _Waiter(key, heavy, next(self._seq), loop.create_future())
        self._waiting.append(waiter)
        self._dispatch()
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except (TimeoutError, asyncio.CancelledError):
            if waiter.future.done() and not waiter.future.cancelled():
                # the slot came at the last moment: give it back to the next job
                self.release(waiter.future.result())
            else:
                waiter.future.cancel()
                self._waiting.remove(waiter)
                self._forget_if_idle(key)
            raise
        finally:
            if not waiter.future.done():
                waiter.future.cancel()

    def release(self, ticket: Ticket) -> None:
        self._running[ticket.key] -= 1
        if ticket.heavy:
            self._heavy_running -= 1
        self._free.append(ticket.slot)
        self._forget_if_idle(ticket.key)
        self._dispatch()

    def _forget_if_idle(self, key: str) -> None:
        if not self._running[key] and not any(w.key == key for w in self._waiting):
            self._running.pop(key, None)
            self._served.pop(key, None)

    def _eligible(self, w: _Waiter) -> bool:
        if w.heavy and self._heavy_running >= self.heavy_slots:
            return False
        return not (self.per_key and self._running[w.key] >= self.per_key)

    def _dispatch(self) -> None:
        while self._free:
            candidates = [w for w in self._waiting if self._eligible(w)]
            if not candidates:
                return
            w = min(
                candidates,
                key=lambda c: (self._running[c.key], self._served.get(c.key, -1), c.seq),
            )
            self._waiting.remove(w)
            slot = self._free.pop()
            self._running[w.key] += 1
            self._served[w.key] = next(self._grants)
            if w.heavy:
                self._heavy_running += 1
            w.future.set_result(Ticket(slot, w.key, w.heavy))
