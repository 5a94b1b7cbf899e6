"""Request-size limits and the label-check rate limiter.

The body limit is an ASGI middleware rather than a check in the route because
Starlette's multipart parser spools the whole upload before a route runs: a
declared Content-Length over the limit is refused before reading a byte, and a
chunked body is cut off as soon as it passes the limit.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque

from .errors import error_body

# multipart boundaries and the context fields ride on top of the file itself
MULTIPART_OVERHEAD = 64 * 1024


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = max_bytes + MULTIPART_OVERHEAD
        # path prefix -> limit, for endpoints that take bigger bodies on purpose
        self.overrides = {k: v + MULTIPART_OVERHEAD for k, v in (overrides or {}).items()}

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.default

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope.get("path", ""))
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > max_bytes:
            await _send_413(send, max_bytes)
            return

        seen = 0
        exceeded = False
        replaced = False

        async def counting_receive():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message):
            # The body parser may catch our exception and answer 400 on its own;
            # whatever the app says after the limit was passed becomes our 413.
            nonlocal replaced
            if not exceeded:
                await send(message)
            elif not replaced and message["type"] == "http.response.start":
                replaced = True
                await _send_413(send, max_bytes)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                replaced = True
                await _send_413(send, max_bytes)


async def _send_413(send, limit: int) -> None:
    body = json.dumps(
        error_body("payload_too_large", f"the request body is larger than {limit} bytes")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A sliding window per bucket, in this worker's memory.

    Several workers each keep their own window, so the effective limit is
    per-worker; that is the usual trade for not needing a shared store.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, buckets: list[str], now: float | None = None) -> float | None:
        """Count one request in every bucket; the seconds to wait if any bucket is full."""
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = None
            for bucket in buckets:
                hits = self._hits.setdefault(bucket, deque())
                while hits and now - hits[0] >= self.window_s:
                    hits.popleft()
                if len(hits) >= self.limit:
                    retry = self.window_s - (now - hits[0])
                    wait = max(wait or 0.0, retry)
            if wait is not None:
                return wait
            for bucket in buckets:
                self._hits[bucket].append(now)
            if len(self._hits) > 100_000:  # drop idle buckets so memory stays bounded
                for key in [k for k, v in self._hits.items() if not v]:
                    del self._hits[key]
            return None
