"""Floor 2: decode media once, gather the signals, apply the policy."""

from .config import EngineConfig
from .context import UploadContext
from .decision import ACTIONS, LABELS, Decision, Reason
from .engine import Analysis, Engine, Observation, analyze, default_engine, reset_default_engine
from .errors import (
    ConfigError,
    LabelerError,
    MediaDecodeError,
    MediaOverBudget,
    MediaTooLarge,
    UnsupportedMedia,
)
from .media import Limits, Probe, probe
from .signals import CredentialsSignal, MatchSignal, Signal, Signals, WatermarkSignal
from .stores import BankSource

__all__ = [
    "ACTIONS",
    "LABELS",
    "Analysis",
    "BankSource",
    "ConfigError",
    "CredentialsSignal",
    "Decision",
    "Engine",
    "EngineConfig",
    "LabelerError",
    "Limits",
    "MatchSignal",
    "MediaDecodeError",
    "MediaOverBudget",
    "MediaTooLarge",
    "Observation",
    "Probe",
    "Reason",
    "Signal",
    "Signals",
    "UnsupportedMedia",
    "UploadContext",
    "WatermarkSignal",
    "analyze",
    "default_engine",
    "probe",
    "reset_default_engine",
]
