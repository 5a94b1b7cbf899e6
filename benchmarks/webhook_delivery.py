"""Webhook delivery through restarts: nothing lost, nothing acknowledged twice.

    .venv/bin/python benchmarks/webhook_delivery.py [--cases 30] [--verdicts 10] [--removals 10]

1. A real `aigc serve` (SQLite) with delivery off makes the events: escalated
   scans (case.opened), verdicts (case.verdict) and re-uploads of the confirmed
   media (upload.removed). They wait in the outbox.
2. A second server with delivery on posts them to a receiver on 127.0.0.1 that
   refuses the first 3 requests (503) and holds the 10th without answering;
   while it is held the server's whole process tree is killed (SIGKILL).
3. A third server starts: the dead one's leases run out, everything is sent.

The receiver checks every HMAC signature and counts acknowledgements by
idempotency key; a duplicate is a key it acknowledged twice.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import io
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import _live  # this folder, first on sys.path for a script  # isort: skip

_live.use_packages()  # benchmarks/matching.py must not shadow the matching package

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

SECRET = "benchmark-webhook-secret-0123456789"
CAPTION = "Ballot boxes burned before the election"


class Receiver:
    """Refuses the first `refuse` requests, holds request number `hold`, acknowledges the rest."""

    def __init__(self, refuse: int = 3, hold: int = 10) -> None:
        self.refuse, self.hold = refuse, hold
        self.requests = 0
        self.refused = 0
        self.bad_signatures = 0
        self.acked: Counter[str] = Counter()
        self.held = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.answer(self.headers, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender was killed while we held its request

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def answer(self, headers, body: bytes) -> int:
        stamp = headers.get("X-AIGC-Timestamp", "")
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest(
            headers.get("X-AIGC-Signature", ""), "sha256=" + mac.hexdigest()
        ):
            with self.lock:
                self.bad_signatures += 1
            return 401
        with self.lock:
            self.requests += 1
            n = self.requests
        if n <= self.refuse:
            with self.lock:
                self.refused += 1
            return 503
        if n == self.hold:
            self.held.set()
            time.sleep(30)  # the sender dies meanwhile; this answer reaches nobody
            return 200
        with self.lock:
            self.acked[headers["Idempotency-Key"]] += 1
        return 200


def _crop(data: bytes, cut: float) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    box = (int(w * cut), int(h * cut), int(w * (1 - cut / 2)), int(h * (1 - cut / 2)))
    out = io.BytesIO()
    img.crop(box).save(out, "JPEG", quality=85)
    return out.getvalue()


def make_events(base: str, keys: dict[str, str], cases: int, verdicts: int, removals: int) -> None:
    original = (_live.ROOT / "samples" / "ai_generated_credentials.jpg").read_bytes()
    scan_auth = {"Authorization": f"Bearer {keys['pipeline']}"}
    review_auth = {"Authorization": f"Bearer {keys['reviewer']}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        opened = []
        for _ in range(cases):
            response = client.post(
                "/v1/scan", headers=scan_auth, files={"file": ("a.jpg", original)},
                data={"caption": CAPTION, "creator_id": "c-1"},
            )  # fmt: skip
            opened.append(response.raise_for_status().json()["case_id"])
        for i, case_id in enumerate(opened[:verdicts]):
            verdict = "confirmed_misleading" if i == 0 else "unverified"
            client.post(
                f"/v1/cases/{case_id}/verdict", headers=review_auth, json={"verdict": verdict}
            ).raise_for_status()
        for i in range(removals):
            data = _crop(original, 0.02 + 0.01 * i)
            response = client.post("/v1/scan", headers=scan_auth, files={"file": ("b.jpg", data)})
            assert response.raise_for_status().json()["decision"]["action"] == "remove"


def kill_tree(server: _live.Server) -> None:
    for proc in reversed(_live.tree(server.pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    server.proc.wait(10)


def outbox_states(url: str) -> Counter[str]:
    from sqlalchemy import select

    from service.db import session_scope
    from service.db.outbox import OutboxRow

    with session_scope(url) as session:
        return Counter(session.scalars(select(OutboxRow.state)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--verdicts", type=int, default=10)
    parser.add_argument("--removals", type=int, default=10)
    args = parser.parse_args()
    from service.db.keys import create_key
    from service.db.migrations import ensure_schema

    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="aigc-webhooks-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'hooks.db'}"
        ensure_schema(url)
        keys = {
            "pipeline": create_key("pipeline", url=url)[1],
            "reviewer": create_key("reviewer", url=url)[1],
        }
        env = {
            "AIGC_DATABASE_URL": url, "AIGC_WEBHOOK_URL": receiver.url,
            "AIGC_WEBHOOK_SECRET": SECRET, "AIGC_WEBHOOK_BACKOFF_S": "0.2",
            "AIGC_WEBHOOK_TIMEOUT_S": "2", "AIGC_WEBHOOK_LEASE_S": "4",
        }  # fmt: skip
        started = time.perf_counter()
        quiet = _live.start_server(folder / "a", {**env, "AIGC_WEBHOOK_DELIVER": "false"})
        try:
            make_events(quiet.base, keys, args.cases, args.verdicts, args.removals)
        finally:
            quiet.stop()
        events = sum(outbox_states(url).values())
        doomed = _live.start_server(folder / "b", env)
        held = receiver.held.wait(120)
        kill_tree(doomed)
        killed_at = outbox_states(url)
        survivor = _live.start_server(folder / "c", env)
        try:
            deadline = time.monotonic() + 180
            while outbox_states(url)["pending"] and time.monotonic() < deadline:
                time.sleep(0.25)
        finally:
            survivor.stop()
        states = outbox_states(url)
        elapsed = time.perf_counter() - started
    duplicates = sum(n - 1 for n in receiver.acked.values() if n > 1)
    rows = [
        ("events in the outbox", events),
        ("receiver: requests (refused first, one held)", receiver.requests),
        ("receiver: refused with 503", receiver.refused),
        ("server killed while a request was held", "yes" if held else "NO"),
        ("outbox when killed: pending", killed_at["pending"]),
        ("outbox when killed: delivered", killed_at["delivered"]),
        ("delivered (outbox state)", states["delivered"]),
        ("acknowledged, distinct idempotency keys", len(receiver.acked)),
        ("duplicates by idempotency key", duplicates),
        ("dead letters", states["dead"]),
        ("still pending", states["pending"]),
        ("bad signatures", receiver.bad_signatures),
        ("seconds, all three phases", f"{elapsed:.1f}"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(
        "\nWebhook delivery (real servers, SQLite; receiver refuses 3, server killed mid-delivery)"
    )
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    receiver.server.shutdown()


if __name__ == "__main__":
    main()
