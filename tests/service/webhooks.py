"""A real webhook receiver on 127.0.0.1 for the outbox tests: it verifies each
signature, counts what it acknowledged by idempotency key, and can refuse or
stall on purpose."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "test-webhook-secret-0123456789"


class Receiver:
    def __init__(self, refuse_first: int = 0, always_fail: bool = False) -> None:
        self.refuse_first = refuse_first
        self.always_fail = always_fail
        self.requests = 0
        self.acked: Counter[str] = Counter()
        self.bodies: dict[str, dict] = {}
        self.bad_signatures = 0
        # set: the next request is held until `release` is set (a deliverer killed mid-call)
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, headers, body: bytes) -> int:
        stamp = headers.get("X-AIGC-Timestamp", "")
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest(
            headers.get("X-AIGC-Signature", ""), "sha256=" + expected.hexdigest()
        ):
            with self.lock:
                self.bad_signatures += 1
            return 401
        with self.lock:
            self.requests += 1
            refuse = self.always_fail or self.requests <= self.refuse_first
            stall = self.stall.is_set()
            self.stall.clear()
        if stall:
            self.stalled.set()
            self.release.wait(60)
            return 200  # too late: the deliverer that asked is gone
        if refuse:
            return 503
        key = headers["Idempotency-Key"]
        with self.lock:
            self.acked[key] += 1
            self.bodies[key] = json.loads(body)
        return 200

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._answer(self.headers, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the deliverer was killed while we held its request

            def log_message(self, *args):
                pass

        return Handler
