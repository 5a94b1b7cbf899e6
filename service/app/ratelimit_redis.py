"""The label-check limiter shared by every worker through Redis.

Each bucket is a sorted set of hit times. One Lua script prunes, counts and
adds for all of a request's buckets, so concurrent workers can never both take
the last slot, and it reads Redis's own clock so that workers on hosts with
skewed clocks still agree on one window. Keys expire with their window, so
Redis holds at most `limit` entries per bucket active in the last window.

When Redis does not answer, a request is never failed for it: the limiter
logs a warning (at most once a minute), counts the request in this worker's
memory instead, and leaves Redis alone for `retry_s` before trying again, so
an outage costs one short timeout now and then rather than one per request.
`build_limiter` lives here, beside both kinds it chooses between.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .ratelimit import MemoryRateLimiter, RateLimiter, bucket_name

log = logging.getLogger(__name__)

# KEYS: the buckets; ARGV: window (ms), limit, a member unique to this request.
# Returns "-1" when counted, else the milliseconds until the fullest bucket frees a slot
# (a string: Lua numbers come back from Redis truncated to integers).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local wait = -1
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait >= 0 then
  return tostring(wait)
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window))
end
return '-1'
"""

# a label check waits at most this long for Redis before answering from memory
TIMEOUT_S = 0.5
WARN_EVERY_S = 60.0


class RedisRateLimiter:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        fallback: MemoryRateLimiter,
        retry_s: float = 5.0,
    ) -> None:
        self.limit = fallback.limit
        self.window_s = fallback.window_s
        self.prefix = prefix
        self.fallback = fallback
        self.retry_s = retry_s
        self._client = client
        self._script = client.register_script(_SCRIPT)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._warned_at: float | None = None

    @classmethod
    def from_url(cls, url: str, prefix: str, fallback: MemoryRateLimiter) -> RedisRateLimiter:
        client = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            # one quick retry covers a pooled connection Redis closed while idle;
            # the client's default (ten, with backoff) would hold a request for seconds
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        return cls(client, prefix, fallback)

    @property
    def degraded(self) -> bool:
        """Whether requests are being counted in memory because Redis failed recently."""
        return time.monotonic() < self._down_until

    def hit(self, buckets: list[str]) -> float | None:
        if self.degraded:
            return self.fallback.hit(buckets)
        keys = list(dict.fromkeys(self.prefix + bucket_name(b) for b in buckets))
        window_ms = self.window_s * 1000
        try:
            answer = self._script(keys=keys, args=[window_ms, self.limit, uuid.uuid4().hex])
        except (redis.RedisError, OSError) as exc:
            self._failed(exc)
            return self.fallback.hit(buckets)
        wait_ms = float(answer)
        return None if wait_ms < 0 else wait_ms / 1000

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._down_until = now + self.retry_s
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY_S:
                return
            self._warned_at = now
        log.warning(
            "rate limiter: Redis unavailable (%s: %s); counting label checks in this "
            "worker's memory, retrying Redis every %.0f s",
            type(exc).__name__,
            exc,
            self.retry_s,
        )


def build_limiter(settings) -> RateLimiter:
    """The label-check limiter the settings ask for: shared through Redis when configured."""
    memory = MemoryRateLimiter(
        settings.label_check_limit,
        settings.label_check_window_s,
        max_buckets=settings.rate_limit_max_buckets,
    )
    if not settings.redis_url:
        return memory
    return RedisRateLimiter.from_url(settings.redis_url, settings.redis_key_prefix, memory)
