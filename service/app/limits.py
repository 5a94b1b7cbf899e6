"""Request-size limits (the label-check rate limiter is in `ratelimit.py`).

The body limit is an ASGI middleware rather than a check in the route because
Starlette's multipart parser spools the whole upload before a route runs: a
declared Content-Length over the limit is refused before reading a byte, and a
chunked body is cut off as soon as it passes the limit.
"""

from __future__ import annotations

import json

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
