"""The signals an engine gathers, and the values the policy reads.

Each floor-1 package returns its own rich report; each signal here boils it
down to a flat, JSON-friendly value so that a policy can be run (and tested)
from a JSON file without any media: `aigc policy explain`. What a signal is
to the engine is in `base.py`; the built-in four are `credentials`
(provenance/), `watermark` (watermark/), `match` (matching/) and
`recovered` (the platform's mark -> the manifest repository).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import BOOL, LIST, NUMBER, TEXT, LocalSignal, Signal, SignalFact, SignalValue
from .credentials import Credentials, CredentialsSignal
from .match import Match, MatchSignal
from .recovered import Recovered, RecoveredSignal
from .watermark import Watermark, WatermarkSignal

BUILTIN_NAMES = ("credentials", "watermark", "match", "recovered")


def builtin_signals(
    credentials=None,
    watermark_keys=None,
    watermark_thorough: bool = False,
    bank=None,
    platform_key=None,
    repository=None,
    remote=None,
) -> tuple[Signal, ...]:
    """The built-in four with their dependencies (None: that dependency's default)."""
    return (
        Credentials(credentials),
        Watermark(watermark_keys, watermark_thorough, platform_key),
        Match(bank),
        Recovered(
            platform_key,
            repository,
            partners=watermark_keys.keys if watermark_keys else (),
            remote=remote,
        ),
    )


# the built-in signals without dependencies: their names, facts and value types
# (what a policy, an explanation or a stored decision needs of them)
BUILTIN_SIGNALS: tuple[Signal, ...] = builtin_signals()


@dataclass(frozen=True)
class Signals:
    """One upload's signal values by name (None: not computed), and what failed.

    The built-in four are fields (`signals.match`); any
    other registered signal's value is in `extra` and reads as an attribute
    too (`signals.file`); `get(name)` reads any.
    """

    credentials: CredentialsSignal | None = None
    watermark: WatermarkSignal | None = None
    match: MatchSignal | None = None
    recovered: RecoveredSignal | None = None
    # signals that could not be computed, with the reason (never silently dropped)
    errors: tuple[str, ...] = ()
    # the values of signals beyond the built-in four, by name, in the engine's order
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, Any], errors: Iterable[str] = ()) -> Signals:
        """Signals from each signal's value by name."""
        builtin = {name: values.get(name) for name in BUILTIN_NAMES}
        extra = {name: v for name, v in values.items() if name not in BUILTIN_NAMES}
        return cls(**builtin, errors=tuple(errors), extra=extra)

    def __getattr__(self, name: str) -> Any:
        # only called for names that are not fields: the extra signals
        extra = self.__dict__.get("extra") or {}
        if name in extra:
            return extra[name]
        raise AttributeError(name)

    def get(self, name: str) -> Any:
        if name in BUILTIN_NAMES:
            return getattr(self, name)
        return self.extra.get(name)

    def to_dict(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in BUILTIN_NAMES} | self.extra
        data: dict[str, Any] = {
            name: None if value is None else value.to_dict() for name, value in values.items()
        }
        data["errors"] = self.errors
        return data

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], signals: Iterable[Signal] = BUILTIN_SIGNALS
    ) -> Signals:
        """Values stored by `to_dict`, read back with the value types of `signals`."""
        types = {s.name: s.value_type for s in signals}
        unknown = set(data) - set(types) - {"errors"}
        if unknown:
            raise ValueError(f"Signals: unknown field(s) {sorted(unknown)}")
        values = {name: types[name].from_dict(data.get(name)) for name in types}
        return cls.of(values, errors=tuple(data.get("errors") or ()))


__all__ = [
    "BOOL",
    "BUILTIN_NAMES",
    "BUILTIN_SIGNALS",
    "LIST",
    "NUMBER",
    "TEXT",
    "Credentials",
    "CredentialsSignal",
    "LocalSignal",
    "Match",
    "MatchSignal",
    "Recovered",
    "RecoveredSignal",
    "Signal",
    "SignalFact",
    "SignalValue",
    "Signals",
    "Watermark",
    "WatermarkSignal",
    "builtin_signals",
]
