"""The rate-limited log handler: identical messages past the budget are counted, then summed up."""

from __future__ import annotations

import io
import logging
import time

from service.server.logs import RateLimitedStreamHandler, RepeatLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, *args, level: int = logging.WARNING, name: str = "uvicorn.error"):
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def _handler(
    limit: int, window_s: float, clock=None
) -> tuple[RateLimitedStreamHandler, io.StringIO]:
    stream = io.StringIO()
    handler = RateLimitedStreamHandler(stream, limit=limit, window_s=window_s)
    if clock is not None:
        handler.limiter = RepeatLimiter(limit, window_s, clock=clock)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    return handler, stream


def test_identical_messages_past_the_limit_are_counted_not_written():
    clock = Clock()
    handler, stream = _handler(3, 60, clock)
    for i in range(1000):
        # differing arguments (a client port) are still the same message
        handler.handle(_record("Invalid HTTP request from %s", f"127.0.0.1:{40000 + i}"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0] == "WARNING Invalid HTTP request from 127.0.0.1:40000"

    clock.now += 61
    handler.handle(_record("Invalid HTTP request from %s", "127.0.0.1:1"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[3] == (
        "WARNING Invalid HTTP request from 127.0.0.1:40000"
        " ... suppressed 997 similar messages in 61 s"
    )
    assert lines[4] == "WARNING Invalid HTTP request from 127.0.0.1:1"  # a new window
    handler.close()


def test_different_messages_levels_and_loggers_have_their_own_budget():
    clock = Clock()
    limiter = RepeatLimiter(2, 10, clock=clock)
    records = [
        _record("socket.accept() out of system resource", name="asyncio", level=logging.ERROR),
        _record("Invalid HTTP request received."),
        _record("Invalid HTTP request received.", level=logging.ERROR),
        _record("Invalid HTTP request received.", name="other"),
    ]
    for record in records:
        verdicts = [limiter.check(record)[0] for _ in range(5)]
        assert verdicts == [True, True, False, False, False]
    clock.now += 10
    write, summaries = limiter.check(records[0])
    assert write and len(summaries) == 4
    assert {s.getMessage().split(" ... ")[1] for s in summaries} == {
        "suppressed 3 similar messages in 10 s"
    }
    # a summary is never quieter than a warning, so that it survives the usual log levels
    assert all(s.levelno >= logging.WARNING for s in summaries)


def test_the_count_is_written_when_the_flood_stops():
    handler, stream = _handler(2, 0.2)
    try:
        for _ in range(50):
            handler.handle(_record("closed a connection: stalled request body"))
        deadline = time.monotonic() + 5
        while "suppressed" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = stream.getvalue().splitlines()
        assert len(lines) == 3, lines
        assert lines[2].endswith("suppressed 48 similar messages in 0 s")
    finally:
        handler.close()


def test_close_writes_what_is_still_counted():
    clock = Clock()
    handler, stream = _handler(1, 60, clock)
    for _ in range(4):
        handler.handle(_record("boom"))
    clock.now += 5
    handler.close()
    assert stream.getvalue().splitlines() == [
        "WARNING boom",
        "WARNING boom ... suppressed 3 similar messages in 5 s",
    ]


def test_filtered_records_do_not_use_the_budget():
    handler, stream = _handler(1, 60, Clock())
    handler.addFilter(lambda record: "secret" not in record.getMessage())
    for _ in range(3):
        handler.handle(_record("a secret"))
    handler.handle(_record("visible"))
    assert stream.getvalue().splitlines() == ["WARNING visible"]
    handler.close()
