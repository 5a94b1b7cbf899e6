"""Floor 2: decode media once, gather the signals, apply the policy."""

from .context import UploadContext
from .decision import ACTIONS, LABELS, Decision, Reason
from .engine import Engine, analyze, default_engine, reset_default_engine
from .errors import (
    LabelerError,
    MediaDecodeError,
    MediaOverBudget,
    MediaTooLarge,
    UnsupportedMedia,
)
from .media import Limits, Probe, probe
from .signals import CredentialsSignal, MatchSignal, Signals, WatermarkSignal

__all__ = [
    "ACTIONS",
    "LABELS",
    "CredentialsSignal",
    "Decision",
    "Engine",
    "LabelerError",
    "Limits",
    "MatchSignal",
    "MediaDecodeError",
    "MediaOverBudget",
    "MediaTooLarge",
    "Probe",
    "Reason",
    "Signals",
    "UnsupportedMedia",
    "UploadContext",
    "WatermarkSignal",
    "analyze",
    "default_engine",
    "probe",
    "reset_default_engine",
]
