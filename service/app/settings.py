"""The operator's knobs, read once from the environment when the app is made."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .proxies import Network, parse_networks


def _int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _redis_url(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"{name} must be a redis://, rediss:// or unix:// URL, not {raw!r}")
    return raw or None


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from exc
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number, not {raw!r}")
    return value


def _count(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    # request bodies above this are refused with 413 before they are read in full
    max_upload_bytes: int = 50 * 1024 * 1024
    # archives posted to /v1/batch
    max_batch_upload_bytes: int = 2 * 1024 * 1024 * 1024
    # per frame; larger images are refused with 422 from the header alone
    max_pixels: int = 50_000_000
    # scans that may run at once in this worker; the rest wait their turn
    scan_concurrency: int = 2
    # an analysis running (or queued) longer than this answers 422 (or 503 if never started)
    scan_timeout_s: float = 60.0
    # CPU seconds one analysis may use before its process is stopped (422)
    scan_cpu_s: float = 60.0
    # slots videos and very large images may hold (the rest stay free for images)
    scan_heavy_slots: int = 1
    # analyses that may wait for a slot (each holds its upload in memory); more get 503
    scan_queue: int = 32
    # slots one key may hold even when no other key waits; 0: no cap beyond fair share
    scan_slots_per_key: int = 0
    # MB of address space an analysis process may add to its idle size; 0: unlimited
    analysis_memory_mb: int = 2048
    # jobs after which an analysis process is replaced
    analysis_max_jobs: int = 500
    # MB of RSS after a job past which an analysis process is replaced; 0: never
    analysis_recycle_mb: int = 512
    # label checks allowed per creator (or key, or client address) per window
    label_check_limit: int = 20
    label_check_window_s: int = 60
    # the in-memory limiter's most buckets (least recently hit dropped first)
    rate_limit_max_buckets: int = 100_000
    # one limiter for every worker; unset: each worker counts in its own memory
    redis_url: str | None = None
    redis_key_prefix: str = "aigc:ratelimit:"
    # peers whose X-Forwarded-For names the client; empty: the TCP peer is the client
    trusted_proxies: tuple[Network, ...] = ()
    # anyone may use the creator page and /v1/label-check without a key
    creator_page_open: bool = False
    # the platform's own watermark: a key id in the watermark key registry
    platform_watermark_key_id: str | None = None
    # or a key file (hex) for it; either way the key never comes from a request
    platform_watermark_key_file: str | None = None
    database_url: str | None = None
    # the server's own guards against slow or hostile clients (service/server/):
    # a connection without complete request headers this long after its first byte is closed
    header_timeout_s: float = 10.0
    # a request body with no new bytes for this long, or not complete after the total, gets 408
    body_timeout_s: float = 15.0
    body_total_timeout_s: float = 300.0
    # open connections per worker; idle ones are closed oldest first, then new ones get 503
    max_connections: int = 1000
    # identical log messages per window before they are counted instead of written
    log_repeat_limit: int = 5
    log_repeat_window_s: float = 60.0
    # bearer token a Prometheus scraper sends to /metrics; admin API keys work too
    metrics_token: str | None = None
    # /metrics without any credentials (e.g. bound to a private network only)
    metrics_open: bool = False
    # uploaded batch archives (and extraction folders) unused this long are deleted
    batch_upload_retention_s: int = 86_400

    def __post_init__(self) -> None:
        if self.metrics_token is not None and len(self.metrics_token.strip()) < 16:
            # a short token is guessable by a scraper-shaped brute force
            raise ValueError("AIGC_METRICS_TOKEN must be at least 16 characters")
        if self.metrics_token and self.metrics_open:
            raise ValueError(
                "AIGC_METRICS_OPEN and AIGC_METRICS_TOKEN contradict each other: set one"
            )

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            max_upload_bytes=_int("AIGC_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            max_batch_upload_bytes=_int("AIGC_MAX_BATCH_UPLOAD_BYTES", cls.max_batch_upload_bytes),
            max_pixels=_int("AIGC_MAX_PIXELS", cls.max_pixels),
            scan_concurrency=max(1, _int("AIGC_SCAN_CONCURRENCY", cls.scan_concurrency)),
            scan_timeout_s=float(_int("AIGC_SCAN_TIMEOUT_S", int(cls.scan_timeout_s))),
            scan_cpu_s=float(_int("AIGC_SCAN_CPU_S", int(cls.scan_cpu_s))),
            scan_heavy_slots=max(1, _int("AIGC_SCAN_HEAVY_SLOTS", cls.scan_heavy_slots)),
            scan_queue=max(1, _int("AIGC_SCAN_QUEUE", cls.scan_queue)),
            scan_slots_per_key=max(0, _int("AIGC_SCAN_SLOTS_PER_KEY", cls.scan_slots_per_key)),
            analysis_memory_mb=max(0, _int("AIGC_ANALYSIS_MEMORY_MB", cls.analysis_memory_mb)),
            analysis_max_jobs=max(1, _int("AIGC_ANALYSIS_MAX_JOBS", cls.analysis_max_jobs)),
            analysis_recycle_mb=max(0, _int("AIGC_ANALYSIS_RECYCLE_MB", cls.analysis_recycle_mb)),
            label_check_limit=_count("AIGC_LABEL_CHECK_LIMIT", cls.label_check_limit),
            label_check_window_s=_count("AIGC_LABEL_CHECK_WINDOW_S", cls.label_check_window_s),
            rate_limit_max_buckets=_count(
                "AIGC_RATE_LIMIT_MAX_BUCKETS", cls.rate_limit_max_buckets
            ),
            redis_url=_redis_url("AIGC_REDIS_URL"),
            redis_key_prefix=os.environ.get("AIGC_REDIS_KEY_PREFIX") or cls.redis_key_prefix,
            trusted_proxies=parse_networks(
                os.environ.get("AIGC_TRUSTED_PROXIES", ""), "AIGC_TRUSTED_PROXIES"
            ),
            creator_page_open=_flag("AIGC_CREATOR_PAGE_OPEN"),
            platform_watermark_key_id=os.environ.get("AIGC_PLATFORM_WATERMARK_KEY_ID") or None,
            platform_watermark_key_file=(
                os.environ.get("AIGC_PLATFORM_WATERMARK_KEY_FILE") or None
            ),
            database_url=os.environ.get("AIGC_DATABASE_URL") or None,
            header_timeout_s=_seconds("AIGC_HEADER_TIMEOUT_S", cls.header_timeout_s),
            body_timeout_s=_seconds("AIGC_BODY_TIMEOUT_S", cls.body_timeout_s),
            body_total_timeout_s=_seconds("AIGC_BODY_TOTAL_TIMEOUT_S", cls.body_total_timeout_s),
            max_connections=_count("AIGC_MAX_CONNECTIONS", cls.max_connections),
            log_repeat_limit=_count("AIGC_LOG_REPEAT_LIMIT", cls.log_repeat_limit),
            log_repeat_window_s=_seconds("AIGC_LOG_REPEAT_WINDOW_S", cls.log_repeat_window_s),
            metrics_token=os.environ.get("AIGC_METRICS_TOKEN") or None,
            metrics_open=_flag("AIGC_METRICS_OPEN"),
            batch_upload_retention_s=_int(
                "AIGC_BATCH_UPLOAD_RETENTION_S", cls.batch_upload_retention_s, minimum=60
            ),
        )
