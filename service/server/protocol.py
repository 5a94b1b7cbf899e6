"""uvicorn, hardened against slow and malformed clients: the protocol and the config.

uvicorn's h11 protocol has a keep-alive idle timeout but nothing bounds how
long a client may take to send its request headers or body, nor how many
connections a worker holds: a few hundred slowloris sockets stay open forever
and at the fd limit accept() fails in a tight, logged loop. `GuardedH11Protocol`
adds, per connection:

- a header deadline: no complete request headers `header_timeout_s` after the
  connection opened (or after the first byte of a keep-alive request): a JSON
  408 if anything was sent, then close;
- a body deadline: no body bytes for `body_timeout_s`, or the body not complete
  `body_total_timeout_s` after its headers: a JSON 408 (if the app has not
  answered yet), the app's `receive()` sees a disconnect, and the connection closes;
- a cap of `max_connections` per worker, checked when a connection is accepted:
  at the cap the oldest connection with no request in flight (idle keep-alive or
  still sending headers, for at least `EVICT_GRACE_S`) is closed to make room, so
  health checks still get in; failing that, an upload slower than `MIN_BODY_RATE`
  for longer than the body stall timeout (a 408); when every connection is
  mid-request and moving, the new one gets a JSON 503 and is closed;
- uvicorn's plain-text 400 for unparsable requests (bad request line, negative,
  doubled or non-numeric Content-Length) answered in the project's JSON shape.

uvicorn's own `limit_concurrency` is not used: it counts connections plus
tasks but is only consulted once a complete request has arrived, so sockets
that never finish their headers are never refused, and it answers plain text.

The deadlines are one timer per connection, re-armed only when it fires: a
body that keeps trickling costs one timer callback per `body_timeout_s`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.settings import Settings

from . import answers

log = logging.getLogger("uvicorn.error")

# a connection must have been idle this long before it may be closed to make room: a
# client that has just connected may not have sent its request yet (it normally arrives
# with the handshake's last packet, so this is generous), and attackers' connections
# opened together all become fair game together
EVICT_GRACE_S = 0.25
# header deadlines fall in [1 - HEADER_JITTER, 1] x AIGC_HEADER_TIMEOUT_S (see `_header_delay`)
HEADER_JITTER = 0.2
# refused connections that wait for the client's request bytes (so that the 503
# is not lost to a reset); past this many, refused connections are closed at once
MAX_LINGERING = 64
LINGER_S = 0.5

# at the cap, an upload slower than this (bytes/s) may be cut for a newcomer, once it has
# been going for the body stall timeout; only the oldest few are looked at, to stay O(1)
MIN_BODY_RATE = 1024
SLOW_BODY_CANDIDATES = 8

_IDLE, _HEADERS, _BODY = "idle", "headers", "body"


class ServiceConfig(uvicorn.Config):
    """uvicorn's Config carrying the guard; pickled as-is to `--workers` processes.

    The guard is the service's Settings (its header/body timeouts and
    max_connections), with the connection cap as lowered for the fd limit.
    """

    def __init__(self, *args, guard: Settings | None = None, **kwargs) -> None:
        self.guard = guard or Settings.from_env()
        super().__init__(*args, **kwargs)


def json_response(
    status: int, reason: str, code: str, message: str, extra: tuple[str, ...] = ()
) -> bytes:
    """A complete HTTP/1.1 response with the JSON error body; the connection closes after it.

    Built only to be sent, so it is counted here (`answers`, read by /metrics).
    """
    # the shape of service.app.errors.error_body, not imported: worker processes load this
    # module while unpickling their config, before they answer the supervisor's health ping
    answers.answered(status, code)
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class _WorkerState:
    """What the guard keeps per worker, next to uvicorn's ServerState."""

    def __init__(self) -> None:
        # connections with no request in flight -> since when (insertion order: oldest first)
        self.idle: dict[GuardedH11Protocol, float] = {}
        # connections receiving a request body -> since when (oldest first)
        self.body: dict[GuardedH11Protocol, float] = {}
        self.lingering = 0


def _worker_state(server_state) -> _WorkerState:
    state = getattr(server_state, "aigc_guard", None)
    if state is None:
        state = server_state.aigc_guard = _WorkerState()
    return state


class GuardedH11Protocol(H11Protocol):
    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.guard: Settings = getattr(config, "guard", None) or Settings.from_env()
        self.worker = _worker_state(server_state)
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        self._phase_started = 0.0
        self._last_byte = 0.0
        self._body_bytes = 0
        self._refused = False

    # --- connection life -------------------------------------------------------
    def connection_made(self, transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.guard.max_connections and not self._make_room():
            self._refuse(transport)
            return
        super().connection_made(transport)
        self._enter_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._refused:
            self.worker.lingering -= 1
            return
        self.worker.idle.pop(self, None)
        self.worker.body.pop(self, None)
        self._phase = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            # the request was read, so closing now sends our 503 and a FIN, not a reset
            self.transport.close()
            return
        now = self.loop.time()
        if self._phase == _IDLE:
            # the header deadline runs from the first byte of the request
            self._phase = _HEADERS
            self._phase_started = now
            self._arm(self._header_delay(), self._headers_expired)
        elif self._phase == _BODY:
            self._last_byte = now
            self._body_bytes += len(data)
        super().data_received(data)
        self._sync_phase()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._sync_phase()

    def send_400_response(self, msg: str) -> None:
        self._leave_phase()
        self.transport.write(
            json_response(
                400,
                "Bad Request",
                "bad_request",
                "the request is not valid HTTP/1.1 (request line, headers or Content-Length)",
            )
        )
        self.transport.close()

    def shutdown(self) -> None:
        if self._refused:
            self.transport.close()
            return
        super().shutdown()

    # --- the connection cap ----------------------------------------------------
    def _make_room(self) -> bool:
        """Close the longest-idle connection or a crawling upload, if there is one."""
        now = self.loop.time()
        oldest = next(iter(self.worker.idle.items()), None)
        if oldest is not None:
            victim, since = oldest
            if now - since >= min(EVICT_GRACE_S, self.guard.header_timeout_s):
                log.info("connection cap reached: closed the longest idle connection for room")
                victim._close_now()
                return True
        for victim, since in list(self.worker.body.items())[:SLOW_BODY_CANDIDATES]:
            age = now - since
            if age >= self.guard.body_timeout_s and victim._body_bytes < MIN_BODY_RATE * age:
                victim._body_expired(
                    "crawling", f"under {MIN_BODY_RATE} bytes/s at the connection cap"
                )
                return True
        return False

    def _close_now(self) -> None:
        self.worker.idle.pop(self, None)
        self.worker.body.pop(self, None)
        self.connections.discard(self)
        self._leave_phase()
        self.transport.close()

    def _refuse(self, transport) -> None:
        self.transport = transport
        self._refused = True
        self.worker.lingering += 1
        log.warning(
            "connection cap of %d reached: refused a connection", self.guard.max_connections
        )
        transport.write(
            json_response(
                503,
                "Service Unavailable",
                "overloaded",
                "too many open connections; retry shortly",
                ("retry-after: 1",),
            )
        )
        if self.worker.lingering > MAX_LINGERING:
            transport.close()
        else:
            self._timer = self.loop.call_later(LINGER_S, transport.close)

    # --- phases and their deadlines --------------------------------------------
    def _enter_idle(self) -> None:
        now = self.loop.time()
        self._phase = _IDLE
        self._phase_started = now
        self.worker.body.pop(self, None)
        self.worker.idle.pop(self, None)
        self.worker.idle[self] = now
        # a backstop: uvicorn arms its keep-alive timer only after a response
        self._arm(self._header_delay(), self._headers_expired)

    def _sync_phase(self) -> None:
        """Follow h11's view of the client after uvicorn has handled some events."""
        if self.transport.is_closing():
            self._leave_phase()
            return
        theirs = self.conn.their_state
        if theirs is h11.IDLE:
            in_flight = self.cycle is not None and not self.cycle.response_complete
            if self._phase in (None, _BODY) and not in_flight:
                self._enter_idle()
        elif theirs is h11.SEND_BODY:
            if self._phase != _BODY:
                self.worker.idle.pop(self, None)
                now = self.loop.time()
                self._phase = _BODY
                self._phase_started = self._last_byte = now
                self._body_bytes = 0
                self.worker.body[self] = now
                self._arm(self.guard.body_timeout_s, self._check_body)
        elif self._phase is not None:
            self._leave_phase()

    def _leave_phase(self) -> None:
        self.worker.idle.pop(self, None)
        self.worker.body.pop(self, None)
        self._phase = None
        self._cancel_timer()

    def _header_delay(self) -> float:
        # up to a fifth early, at random: a flood of connections opened together
        # would otherwise all expire in one tick, and the loop would spend that
        # tick writing a thousand 408s while real requests wait behind them
        return self.guard.header_timeout_s * (1.0 - HEADER_JITTER * random.random())

    def _arm(self, delay: float, callback) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(delay, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_expired(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._phase not in (_IDLE, _HEADERS):
            return
        if self._phase == _HEADERS:
            log.info(
                "closed a connection: no complete request headers within %g s",
                self.guard.header_timeout_s,
            )
            self.transport.write(
                json_response(
                    408,
                    "Request Timeout",
                    "request_timeout",
                    f"the request headers were not complete within "
                    f"{self.guard.header_timeout_s:g} s",
                )
            )
        self._close_now()

    def _check_body(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._phase != _BODY:
            return
        now = self.loop.time()
        if self.flow.read_paused:
            # our own back-pressure (the app is not reading yet), not the client's slowness
            self._last_byte = now
        stalled = now - self._last_byte >= self.guard.body_timeout_s
        late = now - self._phase_started >= self.guard.body_total_timeout_s
        if stalled:
            self._body_expired("stalled", f"no body bytes for {self.guard.body_timeout_s:g} s")
            return
        if late:
            total = self.guard.body_total_timeout_s
            self._body_expired("too slow", f"not complete within {total:g} s")
            return
        due = min(
            self._last_byte + self.guard.body_timeout_s,
            self._phase_started + self.guard.body_total_timeout_s,
        )
        self._arm(max(0.0, due - now), self._check_body)

    def _body_expired(self, kind: str, detail: str) -> None:
        why = f"{kind}: {detail}"
        # the format string alone is the rate limiter's key: one budget per kind
        log.info(f"closed a connection: request body {kind}")
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and not cycle.disconnected:
            self.transport.write(
                json_response(408, "Request Timeout", "request_timeout", f"request body: {why}")
            )
        if cycle is not None:
            # the app's receive() returns http.disconnect and its late send()s are dropped
            cycle.disconnected = True
            cycle.message_event.set()
        self._close_now()
