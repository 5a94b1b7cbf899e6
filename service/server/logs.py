"""Logging that a flood of identical errors cannot turn into a full disk.

Under attack the same line repeats thousands of times a second (accept()
failing with "Too many open files", "Invalid HTTP request received.", a slow
client closed). `RepeatLimiter` lets the first `limit` copies of a message
through per `window_s` and counts the rest; once the window has passed one line
"... suppressed K similar messages" accounts for them.

Messages are "identical" when logger, level, format string (before its
arguments are merged) and exception type agree, so a flood whose lines differ
only by client address still counts as one message.

`log_config()` is uvicorn's own logging config with the error handler (and
the root and asyncio loggers, where accept() errors go) rate-limited; the
access log is left alone, it is one line per served request.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# distinct messages tracked at once; beyond it the oldest quiet ones are forgotten
MAX_KEYS = 4096


@dataclass
class _Window:
    started: float
    passed: int = 0
    suppressed: int = 0
    sample: str = ""


class RepeatLimiter:
    """Which records to write, and the summaries owed for the ones that were not."""

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._windows: dict[tuple, _Window] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(record: logging.LogRecord) -> tuple:
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
        return (record.name, record.levelno, str(record.msg), exc)

    def check(self, record: logging.LogRecord) -> tuple[bool, list[logging.LogRecord]]:
        """(write this record?, summary records to write before it)."""
        now = self.clock()
        key = self.key(record)
        with self._lock:
            summaries = self._expired(now)
            window = self._windows.get(key)
            if window is None:
                if len(self._windows) >= MAX_KEYS:
                    self._forget_oldest()
                window = self._windows[key] = _Window(now, sample=_sample(record))
            if window.passed < self.limit:
                window.passed += 1
                return True, summaries
            window.suppressed += 1
            return False, summaries

    def flush(self) -> list[logging.LogRecord]:
        """Summaries for everything still counted (at shutdown)."""
        with self._lock:
            return self._expired(self.clock(), force=True)

    def due(self) -> list[logging.LogRecord]:
        """Summaries whose window has passed, without a new record to carry them."""
        with self._lock:
            return self._expired(self.clock())

    def next_due(self) -> float | None:
        """Seconds until the earliest window with suppressed messages ends, if any."""
        with self._lock:
            ends = [w.started + self.window_s for w in self._windows.values() if w.suppressed]
        return max(0.0, min(ends) - self.clock()) if ends else None

    def _expired(self, now: float, force: bool = False) -> list[logging.LogRecord]:
        out = []
        for key in [
            k for k, w in self._windows.items() if force or now - w.started >= self.window_s
        ]:
            window = self._windows.pop(key)
            if window.suppressed:
                out.append(_summary(key, window, now - window.started))
        return out

    def _forget_oldest(self) -> None:
        oldest = min(self._windows, key=lambda k: self._windows[k].started)
        del self._windows[oldest]


def _sample(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a bad format string must not break logging itself
        text = str(record.msg)
    first = text.splitlines()[0] if text else ""
    return first[:200]


def _summary(key: tuple, window: _Window, seconds: float) -> logging.LogRecord:
    name, level, _msg, _exc = key
    return logging.LogRecord(
        name,
        max(level, logging.WARNING),
        __file__,
        0,
        "%s ... suppressed %d similar messages in %.0f s",
        (window.sample, window.suppressed, seconds),
        None,
    )


class RateLimitedStreamHandler(logging.StreamHandler):
    """A StreamHandler that writes at most `limit` identical messages per `window_s`.

    A summary is written when the next record arrives after the window, or by a
    timer when none does, so a flood that stops is still accounted for.
    """

    def __init__(self, stream=None, limit: int = 5, window_s: float = 60.0) -> None:
        super().__init__(stream)
        self.limiter = RepeatLimiter(limit, window_s)
        self._timer: threading.Timer | None = None
        self._timer_lock = threading.Lock()

    def handle(self, record: logging.LogRecord) -> bool:
        # filters first: a filtered-out record must not use up the budget
        if not self.filter(record):
            return False
        write, summaries = self.limiter.check(record)
        for summary in summaries:
            super().handle(summary)
        if write:
            super().handle(record)
        else:
            self._schedule()
        return write

    def _schedule(self) -> None:
        with self._timer_lock:
            if self._timer is not None:
                return
            delay = self.limiter.next_due()
            if delay is None:
                return
            self._timer = threading.Timer(delay + 0.05, self._write_due)
            self._timer.daemon = True
            self._timer.start()

    def _write_due(self) -> None:
        with self._timer_lock:
            self._timer = None
        for summary in self.limiter.due():
            super().handle(summary)
        self._schedule()

    def close(self) -> None:
        with self._timer_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        try:
            for summary in self.limiter.flush():
                super().handle(summary)
        finally:
            super().close()


def log_config(limit: int, window_s: float) -> dict:
    """uvicorn's logging config with rate-limited error, root and asyncio handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    limited = {
        "()": "service.server.logs.RateLimitedStreamHandler",
        "stream": "ext://sys.stderr",
        "limit": limit,
        "window_s": window_s,
    }
    config["formatters"]["named"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(name)s: %(message)s",
        "use_colors": None,
    }
    config["handlers"]["default"] = {**limited, "formatter": "default"}
    config["handlers"]["named"] = {**limited, "formatter": "named"}
    # accept() "out of system resource" is logged by the event loop on "asyncio"
    config["loggers"]["asyncio"] = {"handlers": ["named"], "level": "WARNING", "propagate": False}
    config["root"] = {"handlers": ["named"], "level": "WARNING"}
    return config
