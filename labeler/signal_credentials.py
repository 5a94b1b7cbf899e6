"""The credentials signal, summarised for the policy (filled in by its issue)."""

from __future__ import annotations

from .media import Media
from .signals import CredentialsSignal


def settings_from_env():
    return None


def gather(media: Media, engine) -> CredentialsSignal | None:
    return None
