"""Decode once, gather every signal, apply the policy: the one pipeline.

An Engine holds what is expensive or configured (the signals with their
trust settings, watermark key registry and bank, the policy) so that a
worker builds it once and reuses it for every upload. `labeler.analyze`
uses a default engine built from the environment.

The order decode -> gather -> decide is written here once. `run` does it
in one process. The service splits it at a process boundary without
spelling it again: `observe_upload` (decode, and each signal's work on the
upload alone) runs in an analysis process that holds no store, and
`finish` (each signal's store lookup, then the policy) runs in the worker,
where the stores live; `shapes` tells the first what it must know of the
stores, and the `Observation` it returns is plain and picklable.
"""

from __future__ import annotations

import importlib.metadata
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import matching

from .config import EngineConfig
from .context import UploadContext
from .decision import Decision
from .errors import WatermarkKeyError, redact_addresses
from .media import Limits, Media, decode
from .policy import DEFAULT_POLICY, Policy, load_default_policy, load_policy, policy_for
from .signals import Signal, Signals, builtin_signals
from .signals.credentials import settings_from_env
from .signals.watermark import KeyRegistry, RegisteredKey, load_registry
from .signals.watermark.keys import read_key_file
from .stores import BankSource, ManifestRepository, ReviewSource

log = logging.getLogger(__name__)

# where `Engine.from_env` finds the bank when none is given: the service
# registers its database's source here (pyproject.toml), so the labeler reads
# the bank without importing the service
BANK_SOURCE_GROUP = "aigc_provenance.bank_source"
# the same for the manifest repository the recovery signal reads
REPOSITORY_GROUP = "aigc_provenance.manifest_repository"
_FROM_ENTRY_POINT: Any = object()


@dataclass(frozen=True)
class Observation:
    """What `Engine.observe` found from the upload alone (plain, picklable)."""

    # each signal's prepared value by name (for most signals, its value)
    values: dict[str, Any]
    # the decoded upload's summary (Media.summary())
    media: dict[str, Any] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    # seconds per stage: "decode", then each signal by name (its store-free half)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Analysis:
    """One upload through the pipeline."""

    # the decoded upload; None when it was decoded in another process (`finish`)
    media: Media | None
    signals: Signals
    decision: Decision
    # seconds per stage: "decode", each signal by name (both halves: the match
    # signal's hashing and its bank lookup), "policy"; what operators histogram
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Engine:
    policy: Policy | None = None
    limits: Limits = field(default_factory=Limits)
    # the built-in signals' dependencies:
    # provenance settings (trust anchors, allowed hosts); None: the defaults
    credentials: Any = None
    # watermark key registry; None: no watermark signal
    watermark_keys: KeyRegistry | None = None
    # watermark thorough mode (analysts' batches: ~2 s per unmarked file and key)
    watermark_thorough: bool = False
    # the bank (a BankSource, or a bare matching.Bank); None: no match signal
    bank: BankSource | matching.Bank | None = None
    # the platform's own watermark key (always tried; recovery reads its mark)
    platform_key: RegisteredKey | None = None
    # the manifest repository (labeler.stores.ManifestRepository); None: a platform
    # mark is reported but nothing is recovered
    repository: ManifestRepository | None = None
    # partners' soft-binding resolvers (labeler.stores.RemoteResolver); None: a
    # partner's mark is reported, never resolved
    remote_resolver: Any = None
    # signals gathered after the built-in four (labeler.signals.base.Signal)
    plugins: tuple[Signal, ...] = ()
    # what reviewers decided before (creator history, cleared media); None: nothing known
    review: ReviewSource | None = None
    # every signal, in the order gathered and shown
    signals: tuple[Signal, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        builtin = builtin_signals(
            self.credentials,
            self.watermark_keys,
            self.watermark_thorough,
            self.bank,
            self.platform_key,
            self.repository,
            self.remote_resolver,
        )
        self.signals = (*builtin, *self.plugins)
        if self.policy is None:
            self.policy = (
                load_policy(DEFAULT_POLICY, signals=self.signals)
                if self.plugins
                else load_default_policy()
            )

    @classmethod
    def from_env(
        cls,
        config: EngineConfig | None = None,
        *,
        bank: Any = _FROM_ENTRY_POINT,
        repository: Any = _FROM_ENTRY_POINT,
        plugins: tuple[Signal, ...] = (),
    ) -> Engine:
        """Everything from the environment (read once, into `config`); the bank from
        `bank_source_from_env()` unless given (None: no match signal), the manifest
        repository likewise from `repository_from_env()`."""
        config = config or EngineConfig.from_env()
        keys = config.watermark_keys
        registry = load_registry(keys) if keys else None
        return cls(
            credentials=settings_from_env(config.trust_environ()),
            watermark_keys=registry,
            watermark_thorough=config.watermark_thorough,
            bank=bank_source_from_env() if bank is _FROM_ENTRY_POINT else bank,
            platform_key=platform_key_from(config, registry),
            repository=repository_from_env() if repository is _FROM_ENTRY_POINT else repository,
            policy=policy_for(config.policy_file, (*builtin_signals(), *plugins)),
            limits=Limits.from_config(config),
            plugins=plugins,
        )

    def for_analysis(self) -> Engine:
        """The engine an analysis process gets: the same signals, their stores left here."""
        return replace(
            self,
            bank=None,
            review=None,
            repository=None,
            remote_resolver=None,
            plugins=tuple(p.without_store() for p in self.plugins),
        )

    def signal(self, name: str) -> Signal:
        return next(s for s in self.signals if s.name == name)

    # --- the steps, in order ----------------------------------------------
    def shapes(self, kind: str) -> dict[str, Any]:
        """What each signal's `prepare` must know of its store for an upload of `kind`."""
        return {s.name: s.shape(kind) for s in self.signals}

    def observe(self, media: Media, shapes: dict[str, Any]) -> Observation:
        """Every signal's work on the upload alone (no store is read).

        This is the costly, native-code part (C2PA, watermark, hashing); it can
        run in an analysis process of its own.
        """
        errors: list[str] = []
        values: dict[str, Any] = {}
        timings: dict[str, float] = {}
        for signal in self.signals:
            start = time.perf_counter()
            try:
                values[signal.name] = signal.prepare(media, shapes.get(signal.name))
            except Exception as exc:  # one broken signal must not hide the others
                log.exception("signal %s failed on %s", signal.name, media.sha256)
                errors.append(_failure(signal.name, exc))
                values[signal.name] = None
            timings[signal.name] = time.perf_counter() - start
        return Observation(values, media.summary(), tuple(errors), timings)

    def complete(self, seen: Observation) -> Signals:
        """The observation's signals, each looked up in its store where it has one."""
        return self._complete(seen, {})

    def _complete(self, seen: Observation, timings: dict[str, float]) -> Signals:
        """`complete`, adding each signal's lookup time to its entry in `timings`."""
        errors = list(seen.errors)
        values: dict[str, Any] = {}
        for signal in self.signals:
            start = time.perf_counter()
            try:
                values[signal.name] = signal.resolve(seen.values.get(signal.name))
            except Exception as exc:
                log.exception("signal %s failed in its store lookup", signal.name)
                errors.append(_failure(signal.name, exc))
                values[signal.name] = None
            timings[signal.name] = timings.get(signal.name, 0.0) + time.perf_counter() - start
        return Signals.of(values, errors)

    def decide(
        self, signals: Signals, context: UploadContext | dict | None, media: dict[str, Any]
    ) -> Decision:
        if not isinstance(context, UploadContext):
            context = UploadContext.from_dict(context)
        review = self.review
        if review is not None and context.creator_id and context.creator_history is None:
            # the caller did not say; the service's own count of confirmed verdicts stands in
            history = review.creator_violations(context.creator_id)
            context = replace(context, creator_history=history)
        decision = self.policy.decide(signals, context, media=media)
        if review is not None and decision.action == "escalate":
            # asked only on escalation: the negative bank can only lower an escalation
            match = signals.get("match")
            pdq = getattr(match, "query_pdq", None)
            cleared = review.cleared_reasons((media or {}).get("sha256"), pdq)
            if cleared:
                decision = self.policy.decide(signals, context, media=media, cleared=cleared)
        return decision

    # --- the pipeline -----------------------------------------------------
    def observe_upload(
        self, data: bytes, filename: str | None, shapes: dict[str, Any] | None = None
    ) -> tuple[Media, Observation]:
        """Decode, then observe; `shapes` None: this engine's, for the decoded kind."""
        start = time.perf_counter()
        media = decode(data, filename, self.limits)
        decoded = time.perf_counter() - start
        if shapes is None:
            shapes = self.shapes(media.kind)
        seen = self.observe(media, shapes)
        return media, replace(seen, timings={"decode": decoded, **seen.timings})

    def finish(self, seen: Observation, context: UploadContext | dict | None = None) -> Analysis:
        """Complete the signals and decide (where the stores are); the media stays behind."""
        timings = dict(seen.timings)
        signals = self._complete(seen, timings)
        start = time.perf_counter()
        decision = self.decide(signals, context, seen.media)
        timings["policy"] = time.perf_counter() - start
        return Analysis(None, signals, decision, timings)

    def run(
        self,
        data: bytes,
        filename: str | None = None,
        context: UploadContext | dict | None = None,
    ) -> Analysis:
        if not isinstance(context, UploadContext):
            context = UploadContext.from_dict(context)
        media, seen = self.observe_upload(data, filename)
        return replace(self.finish(seen, context), media=media)

    def gather(self, media: Media) -> Signals:
        return self.complete(self.observe(media, self.shapes(media.kind)))

    def analyze(
        self,
        data: bytes,
        filename: str | None = None,
        context: UploadContext | dict | None = None,
    ) -> Decision:
        return self.run(data, filename, context).decision


def bank_source_from_env() -> BankSource | None:
    """The bank named by the environment, through the first registered bank source.

    None when no package registers one (the labeler installed alone): no match signal.
    """
    found = sorted(importlib.metadata.entry_points(group=BANK_SOURCE_GROUP), key=lambda e: e.name)
    return found[0].load()() if found else None


def repository_from_env() -> ManifestRepository | None:
    """The manifest repository named by the environment (first registered), or None."""
    found = sorted(importlib.metadata.entry_points(group=REPOSITORY_GROUP), key=lambda e: e.name)
    return found[0].load()() if found else None


PLATFORM_OWNER = "this platform"


def platform_key_from(config: EngineConfig, registry: KeyRegistry | None) -> RegisteredKey | None:
    """The platform's key: AIGC_PLATFORM_WATERMARK_KEY_FILE, else the registry entry named by
    AIGC_PLATFORM_WATERMARK_KEY_ID; None when neither is set (a wrong id raises)."""
    key_id = config.platform_watermark_key_id
    if config.platform_watermark_key_file:
        key = read_key_file(config.platform_watermark_key_file)
        return RegisteredKey(key_id or "platform", PLATFORM_OWNER, "platform", key)
    if key_id:
        entry = registry.get(key_id) if registry else None
        if entry is None:
            raise WatermarkKeyError(
                f"AIGC_PLATFORM_WATERMARK_KEY_ID={key_id!r} is not in the watermark key "
                "registry (AIGC_WATERMARK_KEYS)"
            )
        return entry
    return None


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
