"""The label-check rate limiter: a sliding window of `limit` hits per `window_s` per bucket.

A request names several buckets (its key or client address, its creator id);
it is counted in all of them or, when any is full, in none, and the answer is
the seconds until the fullest frees a slot. Two implementations share that
contract: `MemoryRateLimiter` (one worker) and `RedisRateLimiter`
(`service/app/ratelimit_redis.py`, every worker together).

Everything a caller controls is bounded here: bucket names are hashed past a
short length, empty or stale buckets are dropped as time moves on, and the
number of buckets has a hard cap (the least recently hit go first).
"""

from __future__ import annotations

import hashlib
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from typing import Protocol

# bucket names longer than this are replaced by their SHA-256 (64 hex digits + a tag)
MAX_BUCKET_NAME = 80


class RateLimiter(Protocol):
    limit: int
    window_s: float

    def hit(self, buckets: list[str]) -> float | None:
        """Count one request in every bucket; the seconds to wait if any bucket is full."""


def bucket_name(bucket: str) -> str:
    if len(bucket) <= MAX_BUCKET_NAME:
        return bucket
    return "sha256:" + hashlib.sha256(bucket.encode("utf-8", "surrogatepass")).hexdigest()


def creator_bucket(creator_id: str) -> str:
    # hashed always: uniform length, and creator ids never sit in a shared store in clear
    return "creator:" + hashlib.sha256(creator_id.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryRateLimiter:
    """In this worker's memory: with N workers and no Redis, up to N times the limit."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        max_buckets: int = 100_000,
        clock=time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_buckets < 1:
            raise ValueError("limit, window and bucket cap must be positive")
        self.limit = limit
        self.window_s = window_s
        self.max_buckets = max_buckets
        self._clock = clock
        # bucket -> its hit times, oldest first (a list: a deque costs ~600 bytes more
        # per bucket). Buckets are ordered by their newest hit, oldest first: expiry
        # and eviction both take from the front, so a sweep costs only what it drops.
        self._hits: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, buckets: list[str], now: float | None = None) -> float | None:
        now = self._clock() if now is None else now
        names = list(dict.fromkeys(bucket_name(b) for b in buckets))
        with self._lock:
            self._expire(now)
            wait = None
            for name in names:
                hits = self._hits.get(name)
                if hits is None:
                    continue
                del hits[: bisect_right(hits, now - self.window_s)]
                if len(hits) >= self.limit:
                    retry = self.window_s - (now - hits[0])
                    wait = max(wait or 0.0, retry)
            if wait is not None:
                return wait
            for name in names:
                hits = self._hits.get(name)
                if hits is None:
                    hits = self._hits[name] = []
                hits.append(now)
                self._hits.move_to_end(name)
            while len(self._hits) > self.max_buckets:
                self._hits.popitem(last=False)
            return None

    def _expire(self, now: float) -> None:
        while self._hits:
            hits = next(iter(self._hits.values()))
            if hits and now - hits[-1] < self.window_s:
                return
            self._hits.popitem(last=False)
