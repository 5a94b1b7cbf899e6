"""Prometheus metrics: requests and latencies per endpoint, decisions per action, bank size.

Each app owns its registry so that several apps in one process (tests, the
benchmark) never fight over global collector names.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily

from service.server import answers


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aigc_http_requests",
            "HTTP requests by endpoint and status",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aigc_http_request_duration_seconds",
            "HTTP request latency by endpoint",
            ["method", "endpoint"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.decisions = Counter(
            "aigc_decisions",
            "Decisions made, by endpoint and action",
            ["endpoint", "action"],
            registry=self.registry,
        )
        self.scans_in_flight = Gauge(
            "aigc_scans_in_flight", "Scans being analysed right now", registry=self.registry
        )
        self.bank_size = Gauge(
            "aigc_bank_entries", "Active entries in the bank of known media", registry=self.registry
        )
        self._bank_size_source: Callable[[], int | None] | None = None
        self._restarts_source: Callable[[], int] | None = None
        self.registry.register(_ReadAtScrape(self))

    def set_restarts_source(self, source: Callable[[], int]) -> None:
        """Analysis processes replaced after dying (a crash, a budget kill, the OOM killer)."""
        self._restarts_source = source

    def set_bank_size_source(self, source: Callable[[], int | None]) -> None:
        self._bank_size_source = source

    def refresh(self) -> None:
        """Values read at scrape time rather than tracked on every change."""
        if self._bank_size_source is not None:
            size = self._bank_size_source()
            if size is not None:
                self.bank_size.set(size)


class _ReadAtScrape:
    """Counts kept elsewhere (the protocol's answers, the runner's processes), read per scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self):
        refused = CounterMetricFamily(
            "aigc_protocol_answers",
            "Answers the server gave before any route: bad HTTP (400), header or body "
            "deadlines (408), the connection cap (503)",
            labels=["status", "code"],
        )
        for (status, code), count in sorted(answers.snapshot().items()):
            refused.add_metric([str(status), code], count)
        yield refused
        source = self.metrics._restarts_source
        restarts = CounterMetricFamily(
            "aigc_analysis_process_restarts",
            "Analysis processes started again after one died or was killed over its budget",
        )
        restarts.add_metric([], source() if source is not None else 0)
        yield restarts


class MetricsMiddleware:
    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            # The route template, not the raw path: /v1/scans/{scan_id} is one
            # series however many scans there are; unknown paths share one too.
            route = scope.get("route")
            endpoint = getattr(route, "path_format", None) or getattr(route, "path", None)
            endpoint = endpoint or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, endpoint, str(status)).inc()
            self.metrics.latency.labels(method, endpoint).observe(time.perf_counter() - start)
