"""The operator's knobs, read once from the environment when the app is made."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from exc


def _positive(name: str, default: float) -> float:
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
    # the server's own guards against slow or hostile clients (service/app/server.py):
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
            header_timeout_s=_positive("AIGC_HEADER_TIMEOUT_S", cls.header_timeout_s),
            body_timeout_s=_positive("AIGC_BODY_TIMEOUT_S", cls.body_timeout_s),
            body_total_timeout_s=_positive("AIGC_BODY_TOTAL_TIMEOUT_S", cls.body_total_timeout_s),
            max_connections=_count("AIGC_MAX_CONNECTIONS", cls.max_connections),
            log_repeat_limit=_count("AIGC_LOG_REPEAT_LIMIT", cls.log_repeat_limit),
            log_repeat_window_s=_positive("AIGC_LOG_REPEAT_WINDOW_S", cls.log_repeat_window_s),
        )
