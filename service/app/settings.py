"""The operator's knobs, read once from the environment when the app is made."""

from __future__ import annotations

import os
from dataclasses import dataclass


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
    # label checks allowed per creator (or key, or client address) per window
    label_check_limit: int = 20
    label_check_window_s: int = 60
    # anyone may use the creator page and /v1/label-check without a key
    creator_page_open: bool = False
    # the platform's own watermark: a key id in the watermark key registry
    platform_watermark_key_id: str | None = None
    # or a key file (hex) for it; either way the key never comes from a request
    platform_watermark_key_file: str | None = None
    database_url: str | None = None
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
            label_check_limit=_int("AIGC_LABEL_CHECK_LIMIT", cls.label_check_limit),
            label_check_window_s=_int("AIGC_LABEL_CHECK_WINDOW_S", cls.label_check_window_s),
            creator_page_open=_flag("AIGC_CREATOR_PAGE_OPEN"),
            platform_watermark_key_id=os.environ.get("AIGC_PLATFORM_WATERMARK_KEY_ID") or None,
            platform_watermark_key_file=(
                os.environ.get("AIGC_PLATFORM_WATERMARK_KEY_FILE") or None
            ),
            database_url=os.environ.get("AIGC_DATABASE_URL") or None,
            metrics_token=os.environ.get("AIGC_METRICS_TOKEN") or None,
            metrics_open=_flag("AIGC_METRICS_OPEN"),
            batch_upload_retention_s=_int(
                "AIGC_BATCH_UPLOAD_RETENTION_S", cls.batch_upload_retention_s, minimum=60
            ),
        )
