"""What the server answered on its own, before the app saw a request: counted for /metrics.

Bad HTTP (400), header or body deadlines (408) and the connection cap (503)
are written by the protocol (protocol.py), not by a route, so the app's
request metrics never see them. One count per worker process, read by the
app's metrics at scrape time. Standard library only: worker processes load
this while unpickling their config.
"""

from __future__ import annotations

import threading
from collections import Counter

_counts: Counter[tuple[int, str]] = Counter()
_lock = threading.Lock()


def answered(status: int, code: str) -> None:
    with _lock:
        _counts[(status, code)] += 1


def snapshot() -> dict[tuple[int, str], int]:
    with _lock:
        return dict(_counts)
