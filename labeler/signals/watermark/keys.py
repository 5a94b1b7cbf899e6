"""The watermark key registry: which keys we look for, whose they are, what a mark means.

Loaded from the YAML or JSON file named by AIGC_WATERMARK_KEYS (format in
watermark/README.md). Key material never lives in the registry file itself:
each entry points at a key file or an environment variable, so the registry
can be reviewed and versioned while the secrets stay with the operator.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import watermark

from ...errors import WatermarkKeyError

MEANINGS = ("ai_generated", "ai_edited", "platform", "other")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True)
class RegisteredKey:
    key_id: str
    owner: str
    meaning: str
    key: bytes = field(repr=False)
    # the partner's C2PA soft-binding resolver (base URL, e.g. https://host/c2pa) and
    # the algorithm name its mark goes by there; None: its marks are not resolved
    resolver: str | None = None
    resolver_alg: str | None = None


@dataclass(frozen=True)
class KeyRegistry:
    keys: tuple[RegisteredKey, ...] = ()

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, key_id: str) -> RegisteredKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)


KEY_FORMAT = (
    "a watermark key file holds the key as hex digits (at least 32, i.e. 16 bytes; "
    "whitespace ignored); `aigc watermark keygen FILE` writes one"
)


def parse_key(text: str, origin: str) -> bytes:
    """A key is written as hex (whitespace ignored), at least 16 bytes."""
    digits = "".join(text.split())
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        raise WatermarkKeyError(f"{origin} is not hex: {KEY_FORMAT}") from None
    try:
        return watermark.check_key(key)
    except watermark.BadKey as exc:
        raise WatermarkKeyError(f"{origin}: {exc}") from None


def read_key_file(path: str | os.PathLike) -> bytes:
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise WatermarkKeyError(f"key file {path} does not exist") from None
    except UnicodeDecodeError:
        # raw key bytes, most likely: say what the file must hold instead
        raise WatermarkKeyError(f"key file {path} is not text: {KEY_FORMAT}") from None
    except OSError as exc:
        raise WatermarkKeyError(f"key file {path} cannot be read: {exc.strerror or exc}") from None
    return parse_key(text, f"key file {path}")


def _entry(item, base: Path, where: str) -> RegisteredKey:
    if not isinstance(item, dict):
        raise WatermarkKeyError(f"{where}: each key entry must be a mapping")
    unknown = set(item) - {
        "id",
        "owner",
        "meaning",
        "key_file",
        "key_env",
        "resolver",
        "resolver_alg",
    }
    if unknown:
        raise WatermarkKeyError(f"{where}: unknown field(s) {sorted(unknown)}")
    key_id, owner, meaning = item.get("id"), item.get("owner"), item.get("meaning")
    if not isinstance(key_id, str) or not _ID.match(key_id):
        raise WatermarkKeyError(f"{where}: 'id' must be a short name of letters, digits, .:_-")
    if not isinstance(owner, str) or not owner.strip():
        raise WatermarkKeyError(f"{where} ({key_id}): 'owner' is required")
    if meaning not in MEANINGS:
        raise WatermarkKeyError(
            f"{where} ({key_id}): 'meaning' must be one of {', '.join(MEANINGS)}"
        )
    if ("key_file" in item) == ("key_env" in item):
        raise WatermarkKeyError(f"{where} ({key_id}): give exactly one of 'key_file' or 'key_env'")
    if "key_file" in item:
        key_path = Path(str(item["key_file"]))
        key = read_key_file(key_path if key_path.is_absolute() else base / key_path)
    else:
        name = str(item["key_env"])
        if not os.environ.get(name):
            raise WatermarkKeyError(f"{where} ({key_id}): environment variable {name} is not set")
        key = parse_key(os.environ[name], f"environment variable {name}")
    resolver, resolver_alg = item.get("resolver"), item.get("resolver_alg")
    if resolver is not None and (
        not isinstance(resolver, str) or not resolver.startswith(("https://", "http://"))
    ):
        raise WatermarkKeyError(f"{where} ({key_id}): 'resolver' must be an https:// URL")
    if resolver_alg is not None and not isinstance(resolver_alg, str):
        raise WatermarkKeyError(f"{where} ({key_id}): 'resolver_alg' must be a name")
    return RegisteredKey(
        key_id=key_id,
        owner=owner.strip(),
        meaning=meaning,
        key=key,
        resolver=resolver.rstrip("/") if resolver else None,
        resolver_alg=resolver_alg,
    )


def load_registry(path: str | os.PathLike) -> KeyRegistry:
    """Read a registry file (YAML or JSON); relative key paths are relative to it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatermarkKeyError(f"watermark key registry {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise WatermarkKeyError(f"watermark key registry {path} is not valid: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise WatermarkKeyError(f"{path}: expected a mapping with a 'keys' list")
    keys = tuple(
        _entry(item, path.parent, f"{path} keys[{i}]") for i, item in enumerate(data["keys"])
    )
    ids = [k.key_id for k in keys]
    if len(set(ids)) != len(ids):
        raise WatermarkKeyError(f"{path}: key ids must be unique")
    return KeyRegistry(keys)
