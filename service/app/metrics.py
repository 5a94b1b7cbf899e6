"""Prometheus metrics: requests and latencies per endpoint, decisions per action,
per-stage durations, hits by watermark owner, bank category, reason code and
credentials state, batch files, rate-limit rejections, bank size.

Each app owns its registry so that several apps in one process (tests, the
benchmark) never fight over global collector names. Every series that names
an endpoint names it the same way: the route's path template (`/v1/scan`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily

from service.server import answers

# a `_created` series per counter doubles the scrape for a value no dashboard reads
prometheus_client.disable_created_metrics()

# the pipeline's stages (labeler.engine.Analysis.timings) that get a histogram
STAGES = ("decode", "credentials", "watermark", "match", "recovered", "policy")
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


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
            "Decisions made, by endpoint (the route's path, as in aigc_http_requests) and action",
            ["endpoint", "action"],
            registry=self.registry,
        )
        self.stage = Histogram(
            "aigc_stage_duration_seconds",
            "Time per pipeline stage of one upload: decode, credentials, watermark, match "
            "(hashes and bank lookup), recovered, policy",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.watermark_hits = Counter(
            "aigc_watermark_detections",
            "Uploads whose watermark was detected, by the key's owner",
            ["owner"],
            registry=self.registry,
        )
        self.bank_hits = Counter(
            "aigc_bank_matches",
            "Uploads matching a bank entry, by the entry's category",
            ["category"],
            registry=self.registry,
        )
        self.reasons = Counter(
            "aigc_decision_reasons",
            "Reason codes of the decisions made, by endpoint",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self.credentials = Counter(
            "aigc_credentials",
            "Uploads by the state of their Content Credentials (absent when there are none)",
            ["state"],
            registry=self.registry,
        )
        self.batch_files = Counter(
            "aigc_batch_files",
            "Files of API batch jobs processed, by outcome (decided or failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "aigc_rate_limited",
            "Requests refused by a rate limit (429), by endpoint",
            ["endpoint"],
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

    def record(self, endpoint: str, decision: Any, timings: dict[str, float]) -> None:
        """One decision: its action and reasons, its stages' times and what it found."""
        self.decisions.labels(endpoint, decision.action).inc()
        for reason in decision.reasons:
            self.reasons.labels(endpoint, reason.code).inc()
        for stage, seconds in timings.items():
            if stage in STAGES:
                self.stage.labels(stage).observe(seconds)
        signals = decision.signals or {}
        watermark = signals.get("watermark") or {}
        if watermark.get("detected"):
            self.watermark_hits.labels(watermark.get("owner") or "unknown").inc()
        match = signals.get("match") or {}
        if match.get("matched"):
            self.bank_hits.labels(match.get("category") or "unknown").inc()
        credentials = signals.get("credentials") or {}
        present = credentials.get("present")
        self.credentials.labels(
            (credentials.get("state") or "unknown") if present else "absent"
        ).inc()

    def batch_file(self, row: dict[str, Any]) -> None:
        """A file of an API batch job: decided (has an action) or failed."""
        self.batch_files.labels("decided" if row.get("action") else "failed").inc()

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
            endpoint = endpoint_label(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, endpoint, str(status)).inc()
            if status == 429:
                self.metrics.rate_limited.labels(endpoint).inc()
            self.metrics.latency.labels(method, endpoint).observe(time.perf_counter() - start)


def endpoint_label(scope: dict[str, Any]) -> str:
    """The route's path template, the one endpoint label of every series: /v1/scans/{scan_id}
    is one series however many scans there are; unknown paths share "unmatched"."""
    route = scope.get("route")
    endpoint = getattr(route, "path_format", None) or getattr(route, "path", None)
    return endpoint or "unmatched"
