"""The labeler's settings: every AIGC_* variable it reads, typed, in one object.

`EngineConfig.from_env()` reads the environment once (pydantic-settings, the
same parser as the service's settings, so "on", "yes" and "1" mean the same
everywhere) and a bad value fails with the variable's name in a typed error.
`Engine.from_env()` builds the engine from it; the module-level `decode` and
`probe` read it when they are called without limits.

Trust anchors (AIGC_TRUST_ANCHORS, AIGC_TRUST_LIST, AIGC_ALLOWED_MANIFEST_HOSTS)
are read here as plain text and handed to `provenance.Settings.from_env`, which
parses them; the database (AIGC_DATABASE_URL) is the bank source's
(service/db/bank_source.py), not the labeler's to read.

Every value may also come from the configuration file (`config_file()`: the
file AIGC_CONFIG names, else `aigc.toml` in the working directory), one
top-level key per variable, named like the field (`watermark_keys = "..."`).
The environment wins over the file, the file over the defaults. The service's
settings read the same file through the same source (`toml_source`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import PositiveFloat, PositiveInt, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError, WatermarkKeyError

PREFIX = "AIGC_"
# the variable naming the configuration file; "none" turns the file off
CONFIG_ENV = "AIGC_CONFIG"
CONFIG_NAME = "aigc.toml"


def config_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The configuration file in force, as an absolute path, or None.

    AIGC_CONFIG names it (a missing file is a ConfigError: a typo must not
    silently mean "no configuration"); unset, `aigc.toml` in the working
    directory is read when it exists.
    """
    env = os.environ if environ is None else environ
    raw = env.get(CONFIG_ENV, "").strip()
    if raw.lower() == "none":
        return None
    if raw:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={raw!r}: no such file")
        return path.resolve()
    path = Path.cwd() / CONFIG_NAME
    return path if path.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's top-level table; a syntax error is a ConfigError naming the file."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def toml_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource | None:
    """pydantic-settings' TOML source on the configuration file in force, if any."""
    path = config_file()
    if path is None:
        return None
    read_config_file(path)  # a syntax error as one line naming the file
    return TomlConfigSettingsSource(settings_cls, toml_file=path)


def with_config_file(
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    env_settings: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    """The sources in order of precedence: keywords, the environment, the file."""
    toml = toml_source(settings_cls)
    return (init_settings, env_settings) if toml is None else (init_settings, env_settings, toml)


class EngineConfig(BaseSettings):
    """What an operator sets for the labeler (each field is AIGC_ + its name in capitals)."""

    # extra keys ignored: the configuration file holds the service's settings too
    # (the `aigc` CLI refuses keys that are neither's)
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_ignore_empty=True,
        str_strip_whitespace=True,
        frozen=True,
        extra="ignore",
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
    # C2PA trust, as provenance.Settings.from_env reads it (provenance/trust.py)
    trust_anchors: str | None = None
    trust_list: str | None = None
    allowed_manifest_hosts: str | None = None
    # the interim (legacy) list instead of the shipped copy; "none" turns legacy trust off
    trust_list_legacy: str | None = None
    identity_anchors: str | None = None
    identity_issuers: str | None = None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return with_config_file(settings_cls, init_settings, env_settings)

    def trust_environ(self) -> dict[str, str]:
        """The trust settings under their variable names, for provenance.Settings.from_env."""
        names = (
            "trust_anchors",
            "trust_list",
            "allowed_manifest_hosts",
            "trust_list_legacy",
            "identity_anchors",
            "identity_issuers",
        )
        return {PREFIX + n.upper(): getattr(self, n) for n in names if getattr(self, n)}

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


__all__ = ["CONFIG_ENV", "ConfigError", "EngineConfig", "config_file", "toml_source"]
