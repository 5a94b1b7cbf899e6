"""The service's knobs: every `AIGC_*` variable the service itself reads, typed and
checked in one place, read once when a command or the app starts.

`Settings.from_env()` reads the environment (empty values count as unset) over
the configuration file (`labeler.config.config_file()`: AIGC_CONFIG, else
`./aigc.toml`; keys are the field names) and turns a bad value into one
`SettingsError` line naming the variable, or the file's key; the CLI prints it
and exits 2. `Settings(name=value, ...)` reads the environment too,
the keywords winning, and raises pydantic's own ValidationError.

The labeler's variables (pixel and cost limits, video sampling, watermark
keys, trust, policy file) are the labeler's engine config, not read here; the
service's `max_pixels` is its own copy, which wins over the labeler's.
Analysis and batch worker processes get the labeler's variables through
`aigc_environ()` / `adopt_aigc_environ()`.
"""

from __future__ import annotations

import ipaddress
import os
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic import ValidationInfo as Info
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from labeler.config import CONFIG_ENV, ConfigError, config_file, read_config_file, with_config_file

PREFIX = "AIGC_"
BATCH_FILE_TIMEOUT_S = 120.0


class SettingsError(ValueError):
    """A bad value of one variable; the message is one line that names it."""


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def _whole(value: Any, info: Info) -> Any:
    # these budgets are whole seconds in the environment (the kernel's CPU granularity)
    if isinstance(value, str):
        try:
            return float(int(value))
        except ValueError:
            name = env_name(info.field_name)
            raise ValueError(f"{name} must be an integer, not {value!r}") from None
    return value


def _redis_url(value: Any, info: Info) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                f"{env_name(info.field_name)} must be a redis://, rediss:// or unix:// URL, "
                f"not {value!r}"
            )
        return value or None
    return value


Network = IPv4Network | IPv6Network


def parse_networks(raw: str, name: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDRs; a bad entry is an error naming the variable."""
    networks = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"{name} must be comma-separated IP addresses or CIDRs; {part!r} is neither"
            ) from exc
    return tuple(networks)


def _networks(value: Any, info: Info) -> Any:
    if isinstance(value, str):
        return parse_networks(value, env_name(info.field_name))
    return value


def parse_resolver_hosts(raw: str, name: str) -> tuple[tuple[str, str, int], ...]:
    """(scheme, host, port) of each entry: `host[:port]` is https; plain HTTP must be
    written out (`http://host:port`), for a private network or tests."""
    allowed = []
    for entry in raw.split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            parts = urlsplit(entry if "://" in entry else f"https://{entry}")
            port = parts.port
        except ValueError:
            parts, port = None, None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
        ):
            raise ValueError(f"{name} must be comma-separated host[:port]; {entry!r} is not")
        allowed.append(
            (parts.scheme, parts.hostname, port or (80 if parts.scheme == "http" else 443))
        )
    return tuple(allowed)


def _resolver_hosts(value: Any, info: Info) -> Any:
    if isinstance(value, str):
        return parse_resolver_hosts(value, env_name(info.field_name))
    return value


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'data' / 'aigc.db'}"


# an integer below the floor is raised to it (values that only tune capacity)
AtLeast0 = Annotated[int, AfterValidator(lambda v: max(0, v))]
AtLeast1 = Annotated[int, AfterValidator(lambda v: max(1, v))]
# an integer that must be at least 1: a count or a window, where 0 would mean nothing works
Count = Annotated[int, Field(ge=1)]
WholeSeconds = Annotated[float, BeforeValidator(_whole)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    # --- uploads ---
    # request bodies above this are refused with 413 before they are read in full
    max_upload_bytes: int = 50 * 1024 * 1024
    # archives posted to /v1/batch
    max_batch_upload_bytes: int = 2 * 1024 * 1024 * 1024
    # per frame; larger images are refused with 422 from the header alone
    max_pixels: int = 50_000_000

    # --- scans: analysis processes and the fair queue in front of them ---
    # scans that may run at once in this worker; the rest wait their turn
    scan_concurrency: AtLeast1 = 2
    # an analysis running (or queued) longer than this answers 422 (or 503 if never started)
    scan_timeout_s: WholeSeconds = 60.0
    # CPU seconds one analysis may use before its process is stopped (422)
    scan_cpu_s: WholeSeconds = 60.0
    # slots videos and very large images may hold (the rest stay free for images)
    scan_heavy_slots: AtLeast1 = 1
    # analyses that may wait for a slot (each holds its upload in memory); more get 503
    scan_queue: AtLeast1 = 32
    # slots one key may hold even when no other key waits; 0: no cap beyond fair share
    scan_slots_per_key: AtLeast0 = 0
    # MB of address space an analysis process may add to its idle size; 0: unlimited
    analysis_memory_mb: AtLeast0 = 2048
    # jobs after which an analysis process is replaced
    analysis_max_jobs: AtLeast1 = 500
    # MB of RSS after a job past which an analysis process is replaced; 0: never
    analysis_recycle_mb: AtLeast0 = 512
    # start the analysis processes with the worker, and again right after one is
    # replaced, so no upload waits for a process to start
    analysis_warm_start: bool = True

    # --- rate limits and callers ---
    # label checks allowed per creator (or key, or client address) per window
    label_check_limit: Count = 20
    label_check_window_s: Count = 60
    # the in-memory limiter's most buckets (least recently hit dropped first)
    rate_limit_max_buckets: Count = 100_000
    # one limiter for every worker; unset: each worker counts in its own memory
    redis_url: Annotated[str | None, BeforeValidator(_redis_url)] = None
    redis_key_prefix: str = "aigc:ratelimit:"
    # peers whose X-Forwarded-For names the client; empty: the TCP peer is the client
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode, BeforeValidator(_networks)] = ()
    # anyone may use the creator page and /v1/label-check without a key
    creator_page_open: bool = False
    # HMAC secret of creator tokens (POST /v1/creator-tokens), 32+ bytes, the same on
    # every worker and host; or a file holding it. Unset: no tokens are minted or accepted
    creator_token_secret: str | None = None
    creator_token_secret_file: str | None = None

    # --- watermark keys the service itself holds ---
    # the platform's own watermark: a key id in the watermark key registry
    platform_watermark_key_id: str | None = None
    # or a key file (hex) for it; either way the key never comes from a request
    platform_watermark_key_file: str | None = None
    # the key `aigc watermark embed|detect` uses when no --key-file is given
    watermark_key_file: str | None = None

    # --- renditions and the soft-binding resolver (service/durable/) ---
    # the platform's C2PA signer: a PEM chain (leaf first) and its PEM private key
    platform_signing_cert: str | None = None
    platform_signing_key: str | None = None
    # the signature algorithm of that key (es256, es384, ps256, ed25519, ...)
    platform_signing_alg: str = "es256"
    # /c2pa/... answers callers without a key (still rate limited)
    resolver_open: bool = False
    # partners' resolvers this service may ask (service/durable/remote.py): host[:port]
    # for https, http://host:port written out for plain HTTP; empty: never ask
    allowed_resolver_hosts: Annotated[
        tuple[tuple[str, str, int], ...], NoDecode, BeforeValidator(_resolver_hosts)
    ] = ()
    # seconds both requests to a partner's resolver may take in all
    resolver_timeout_s: Seconds = 3.0

    # --- storage ---
    database_url: str = Field(default_factory=_default_database_url)

    # --- the server's own guards against slow or hostile clients (service/server/) ---
    # a connection without complete request headers this long after its first byte is closed
    header_timeout_s: Seconds = 10.0
    # a request body with no new bytes for this long, or not complete after the total, gets 408
    body_timeout_s: Seconds = 15.0
    body_total_timeout_s: Seconds = 300.0
    # open connections per worker; idle ones are closed oldest first, then new ones get 503
    max_connections: Count = 1000
    # identical log messages per window before they are counted instead of written
    log_repeat_limit: Count = 5
    log_repeat_window_s: Seconds = 60.0

    # --- metrics ---
    # bearer token a Prometheus scraper sends to /metrics; admin API keys work too
    metrics_token: str | None = None
    # /metrics without any credentials (e.g. bound to a private network only)
    metrics_open: bool = False

    # --- batch jobs (service/batch/) ---
    # uploaded batch archives (and extraction folders) unused this long are deleted
    batch_upload_retention_s: int = Field(86_400, ge=60)
    # the folder server-side batch paths must resolve below; unset: such paths are refused
    batch_root: str | None = None
    # where uploaded archives are kept while their job runs (default: ./data/batch)
    batch_dir: str | None = None
    # where archives are extracted (default: the system temp folder); Dask workers on
    # other machines read extracted members by path, so this is a mount they share
    batch_extract_dir: str | None = None
    # processes per API batch job (default: every core)
    batch_workers: Count | None = None
    # seconds one file of an API batch job may take before its worker is killed
    batch_file_timeout: Seconds = BATCH_FILE_TIMEOUT_S
    # API batch jobs one service process runs at once (the rest queue)
    batch_concurrent_jobs: Count = 1

    # --- the review loop (service/review/) ---
    # uploads that open a case keep their bytes up to this size, so a confirmed
    # verdict can bank them with every hash; larger ones keep their PDQ only
    case_media_max_bytes: int = Field(50_000_000, ge=0)
    # where events (case opened, verdict, removal, ...) are posted; unset: they wait in the outbox
    webhook_url: str | None = None
    # the HMAC-SHA256 key of the X-AIGC-Signature header (required with AIGC_WEBHOOK_URL)
    webhook_secret: str | None = None
    # attempts before an event is dead-lettered (GET /v1/admin/outbox lists them)
    webhook_max_attempts: Count = 8
    # the first retry waits this long, each next one twice as long, up to the maximum
    webhook_backoff_s: Seconds = 2.0
    webhook_backoff_max_s: Seconds = 600.0
    webhook_timeout_s: Seconds = 10.0
    # a claimed event whose deliverer died is sent again after this long
    webhook_lease_s: Seconds = 60.0
    # each service process runs a deliverer thread (off: run `aigc outbox deliver` instead)
    webhook_deliver: bool = True
    # a new bank entry is matched against the uploads of this many past days (0: never)
    retro_days: int = Field(30, ge=0, le=3650)
    # each service process runs retroactive jobs in a thread (off: `aigc retro run`)
    retro_run: bool = True
    # stored scans read and matched per transaction of a retroactive job
    retro_chunk: int = Field(50_000, ge=100, le=5_000_000)
    # an entry matching more than this many times its usual hourly rate is quarantined
    flood_factor: float = Field(20.0, gt=1.0, le=1e6)
    # ... and never below this many matches in the hour (a new entry has no usual rate)
    flood_min_matches: int = Field(50, ge=1, le=10_000_000)
    # hours of history that make an entry's usual rate
    flood_baseline_hours: int = Field(24 * 7, ge=1, le=24 * 365)

    @model_validator(mode="after")
    def _webhook(self) -> Settings:
        if self.webhook_url is not None:
            if not self.webhook_url.startswith(("http://", "https://")):
                raise ValueError("AIGC_WEBHOOK_URL must be an http:// or https:// URL")
            if not self.webhook_secret or len(self.webhook_secret) < 16:
                raise ValueError(
                    "AIGC_WEBHOOK_SECRET must be set, at least 16 characters, with AIGC_WEBHOOK_URL"
                )
        return self

    @model_validator(mode="after")
    def _metrics_access(self) -> Settings:
        if self.metrics_token is not None and len(self.metrics_token.strip()) < 16:
            # a short token is guessable by a scraper-shaped brute force
            raise ValueError("AIGC_METRICS_TOKEN must be at least 16 characters")
        if self.metrics_token and self.metrics_open:
            raise ValueError(
                "AIGC_METRICS_OPEN and AIGC_METRICS_TOKEN contradict each other: set one"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return with_config_file(settings_cls, init_settings, env_settings)

    @classmethod
    def from_env(cls) -> Settings:
        try:
            return cls()
        except ConfigError as exc:
            raise SettingsError(str(exc)) from None
        except ValidationError as exc:
            raise SettingsError(_one_line(exc.errors()[0])) from None


def _source_name(field: str) -> str:
    """Where a bad value came from: its variable, or its key in the configuration file."""
    name = env_name(field)
    if os.environ.get(name, "").strip():
        return name
    path = config_file()
    if path is not None and field in read_config_file(path):
        return f"{field} in {path.name}"
    return name


def _one_line(error: dict) -> str:
    """pydantic's first error as one sentence naming the variable (or the file's key)."""
    kind, ctx, raw = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "value_error":  # our validators name the variable themselves
        return str(ctx.get("error", error["msg"]))
    name = _source_name(str(error["loc"][0])) if error["loc"] else "the environment"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{name} must be an integer, not {raw!r}"
    if kind in ("float_parsing", "float_type"):
        return f"{name} must be a number of seconds, not {raw!r}"
    if kind in ("greater_than", "finite_number"):
        return f"{name} must be a positive number, not {raw!r}"
    if kind == "greater_than_equal":
        return f"{name} must be at least {ctx['ge']}, not {raw}"
    if kind == "bool_parsing":
        return f"{name} must be one of 1, true, yes, on, 0, false, no, off; not {raw!r}"
    return f"{name}: {error['msg']} (got {raw!r})"


# --- the environment of child processes -------------------------------------
# Analysis and batch worker processes are forked from a forkserver that kept
# the environment it started with; the labeler in them reads its own AIGC_*
# variables, so each child is handed the parent's as they are now.


def aigc_environ() -> dict[str, str]:
    """This process's AIGC_* variables, to hand to a child.

    The configuration file in force travels as AIGC_CONFIG's absolute path, so
    a child started in another folder reads the same one.
    """
    env = {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    if CONFIG_ENV not in env:
        try:
            path = config_file()
        except ConfigError:
            path = None
        env[CONFIG_ENV] = str(path) if path is not None else "none"
    return env


def adopt_aigc_environ(env: dict[str, str]) -> None:
    """In the child: exactly the parent's AIGC_* variables, none left from the forkserver."""
    for name in [k for k in os.environ if k.startswith(PREFIX)]:
        del os.environ[name]
    os.environ.update(env)
