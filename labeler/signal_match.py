"""The match signal, summarised for the policy (filled in by its issue)."""

from __future__ import annotations

from .media import Media
from .signals import MatchSignal


def bank_from_env():
    return None


def gather(media: Media, engine) -> MatchSignal | None:
    return None
