"""Task functions for the pool tests; a top-level module so pool workers can import it."""

from __future__ import annotations

import os
import signal
import time


def work(name: str) -> str:
    if name.startswith("hang"):
        time.sleep(3600)  # a decoder stuck in a loop, as far as the pool can tell
    if name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)  # a segfault or the OOM killer
    if name.startswith("raise"):
        raise RuntimeError("boom")
    return f"{name}:{os.getpid()}"
