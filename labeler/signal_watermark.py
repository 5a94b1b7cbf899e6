"""The watermark signal, summarised for the policy (filled in by its issue)."""

from __future__ import annotations

from .media import Media
from .signals import WatermarkSignal


def registry_from_env():
    return None


def gather(media: Media, engine) -> WatermarkSignal | None:
    return None
