"""The labeler's settings: every AIGC_* variable it reads, typed, in one object.

`EngineConfig.from_env()` reads the environment once (pydantic-settings, the
same parser as the service's settings, so "on", "yes" and "1" mean the same
everywhere) and a bad value fails with the variable's name in a typed error.
`Engine.from_env()` builds the engine from it; the module-level `decode` and
`probe` read it when they are called without limits.

Trust anchors (AIGC_TRUST_*) are provenance's own settings
(`provenance.Settings.from_env`), and the database (AIGC_DATABASE_URL) is the
bank source's (service/db/bank_source.py): neither is the labeler's to read.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import PositiveFloat, PositiveInt, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError, WatermarkKeyError

PREFIX = "AIGC_"


class EngineConfig(BaseSettings):
    """What an operator sets for the labeler (each field is AIGC_ + its name in capitals)."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, str_strip_whitespace=True, frozen=True
    )

    # per frame, as declared by the header (before any reduction)
    max_pixels: PositiveInt = 50_000_000
    # estimated decoded megapixels (Probe.cost) allowed per upload
    max_cost: PositiveFloat = 10_000.0
    # Probe.heavy above this cost
    heavy_cost: PositiveFloat = 100.0
    # video sampling and duration limits (labeler.limits.video_limits); unset: the defaults
    video_max_seconds: PositiveFloat | None = None
    video_sample_fps: PositiveFloat | None = None
    video_max_frames: PositiveInt | None = None
    video_min_frames: PositiveInt | None = None
    video_max_side: PositiveInt | None = None
    video_decode_timeout: PositiveFloat | None = None
    # the watermark key registry file (watermark/README.md); unset: no watermark signal
    watermark_keys: str | None = None
    # the keyed geometry scan (watermark/README.md), for analysts' batches
    watermark_thorough: bool = False
    # the platform's own watermark key, always tried (recovery reads its mark): a
    # hex key file, or the id of a registry entry (the service reads the same two)
    platform_watermark_key_file: str | None = None
    platform_watermark_key_id: str | None = None
    # a policy file instead of the shipped default
    policy_file: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EngineConfig:
        """The environment's settings; `environ` overrides os.environ for what it sets.

        Raises ConfigError (a WatermarkKeyError for the watermark's settings)
        naming the first variable whose value is not valid.
        """
        values = {}
        for name in cls.model_fields:
            raw = (environ or {}).get(PREFIX + name.upper(), "")
            if raw.strip():
                values[name] = raw
        try:
            return cls(**values)
        except ValidationError as exc:
            raise _config_error(exc) from None


def _config_error(exc: ValidationError) -> ConfigError:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error.get("loc") else "?"
    variable = PREFIX + name.upper()
    message = f"{variable}={error.get('input')!r} is not valid: {error['msg']}"
    if name.startswith(("watermark_", "platform_watermark_")):
        return WatermarkKeyError(message)
    return ConfigError(message)


__all__ = ["ConfigError", "EngineConfig"]
