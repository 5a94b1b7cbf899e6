"""Decode once, gather every signal, apply the policy.

An Engine holds what is expensive or configured (trust settings, watermark
key registry, bank index, policy) so that a worker builds it once and reuses
it for every upload. `labeler.analyze` uses a default engine built from the
environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from . import signal_credentials, signal_match, signal_watermark
from .context import UploadContext
from .decision import Decision
from .errors import redact_addresses
from .media import Limits, Media, decode
from .policy import Policy, load_default_policy, policy_from_env
from .signals import Signals

log = logging.getLogger(__name__)


@dataclass
class Engine:
    policy: Policy = field(default_factory=load_default_policy)
    limits: Limits = field(default_factory=Limits)
    # provenance settings (trust anchors, allowed hosts); None: the defaults
    credentials: Any = None
    # watermark key registry; None: no watermark signal
    watermark_keys: Any = None
    # watermark thorough mode (analysts' batches: ~2 s per unmarked file and key)
    watermark_thorough: bool = False
    # matching bank index; None: no match signal
    bank: Any = None

    @classmethod
    def from_env(cls) -> Engine:
        return cls(
            credentials=signal_credentials.settings_from_env(),
            watermark_keys=signal_watermark.registry_from_env(),
            watermark_thorough=signal_watermark.thorough_from_env(),
            bank=signal_match.bank_from_env(),
            policy=policy_from_env(),
        )

    def bank_shape(self, kind: str) -> signal_match.BankShape | None:
        """What `observe` must know of the bank for an upload of `kind` (read where it lives)."""
        return signal_match.shape(self.bank, kind)

    def observe(self, media: Media, bank: signal_match.BankShape | None) -> Observation:
        """Everything computed from the upload alone, the bank's side of matching left out.

        This is the costly, native-code part (C2PA, watermark, hashing); it needs
        no bank, so it can run in an analysis process of its own.
        """
        errors: list[str] = []
        values: dict[str, Any] = {}
        steps = (
            ("credentials", lambda: signal_credentials.gather(media, self)),
            ("watermark", lambda: signal_watermark.gather(media, self)),
            ("match", lambda: signal_match.prepare(media, bank)),
        )
        for name, step in steps:
            try:
                values[name] = step()
            except Exception as exc:  # one broken signal must not hide the others
                log.exception("signal %s failed on %s", name, media.sha256)
                errors.append(_failure(name, exc))
                values[name] = None
        return Observation(
            values["credentials"], values["watermark"], values["match"], tuple(errors)
        )

    def complete(self, seen: Observation) -> Signals:
        """The observation's signals, with the match looked up in this engine's bank."""
        errors = list(seen.errors)
        try:
            match = signal_match.resolve(seen.match_query, self.bank)
        except Exception as exc:
            log.exception("signal match failed in the bank lookup")
            errors.append(_failure("match", exc))
            match = None
        return Signals(seen.credentials, seen.watermark, match, errors=tuple(errors))

    def gather(self, media: Media) -> Signals:
        return self.complete(self.observe(media, self.bank_shape(media.kind)))

    def analyze(
        self,
        data: bytes,
        filename: str | None = None,
        context: UploadContext | dict | None = None,
    ) -> Decision:
        if not isinstance(context, UploadContext):
            context = UploadContext.from_dict(context)
        media = decode(data, filename, self.limits)
        signals = self.gather(media)
        return self.policy.decide(signals, context, media=media.summary())


@dataclass(frozen=True)
class Observation:
    """What `Engine.observe` found: two signals and the match query (plain, picklable)."""

    credentials: Any
    watermark: Any
    match_query: signal_match.MatchQuery | None
    errors: tuple[str, ...] = ()


def _failure(name: str, exc: Exception) -> str:
    return redact_addresses(f"{name}: {type(exc).__name__}: {exc}")


_default: Engine | None = None


def default_engine() -> Engine:
    """The engine built from the environment, made on first use (safe to drop)."""
    global _default
    if _default is None:
        _default = Engine.from_env()
    return _default


def reset_default_engine() -> None:
    global _default
    _default = None


def analyze(
    data: bytes,
    filename: str | None = None,
    context: UploadContext | dict | None = None,
    *,
    engine: Engine | None = None,
) -> Decision:
    return (engine or default_engine()).analyze(data, filename, context)
