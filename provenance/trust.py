"""Trust settings and the c2pa Context built from them (once per settings).

By default a signer is trusted when it chains to the official C2PA trust list
(shipped in `provenance/data`, CC BY 4.0) or to an operator's own anchors. The
SDK has no separate setting for time-stamp authorities, so the TSA list is
appended to the anchors. Nothing reaches the network unless an operator names
hosts: an uploaded file must never make the server open a URL of its choosing.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import c2pa

from .errors import TrustConfigError
from .hosts import parse_hosts

DATA_DIR = Path(__file__).resolve().parent / "data"
TRUST_LIST_FILES = ("C2PA-TRUST-LIST.pem", "C2PA-TSA-TRUST-LIST.pem")

# Extended key usages a claim signer may carry; without them in trust_config,
# certificates with only documentSigning / C2PA claimSigning read Invalid.
# The list follows c2pa-rs sdk/tests/fixtures/certs/trust/store.cfg.
DEFAULT_EKUS = (
    "1.3.6.1.5.5.7.3.4",  # id-kp-emailProtection
    "1.3.6.1.5.5.7.3.36",  # id-kp-documentSigning
    "1.3.6.1.5.5.7.3.8",  # id-kp-timeStamping
    "1.3.6.1.5.5.7.3.9",  # id-kp-OCSPSigning
    "1.3.6.1.4.1.311.76.59.1.9",  # Microsoft C2PA signing
    "1.3.6.1.4.1.62558.2.1",  # C2PA claimSigning
)

ENV_ANCHORS = "AIGC_TRUST_ANCHORS"
ENV_TRUST_LIST = "AIGC_TRUST_LIST"
ENV_ALLOWED_HOSTS = "AIGC_ALLOWED_MANIFEST_HOSTS"

_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----"
)


@dataclass(frozen=True)
class Settings:
    """What to trust and where the reader may go; hashable, so contexts are cached per value."""

    # None: the C2PA lists shipped in the package. Otherwise a folder holding the
    # two list files, or one PEM file that replaces them (a newer copy).
    trust_list: str | None = None
    # Operator anchors added to the trust list: PEM files or folders of *.pem.
    operator_anchors: tuple[str, ...] = ()
    ekus: tuple[str, ...] = DEFAULT_EKUS
    # Hosts (with a port when not 443) from which a remote manifest may be
    # fetched, as hosts.parse_host reads them; empty: never fetch.
    allowed_manifest_hosts: tuple[str, ...] = ()
    verify_trust: bool = True

    def __post_init__(self) -> None:
        # Lists from callers become tuples: Settings is the cache key of its Context.
        for name in ("operator_anchors", "ekus", "allowed_manifest_hosts"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v) for v in value))
        try:
            hosts = parse_hosts(self.allowed_manifest_hosts)
        except ValueError as exc:
            raise TrustConfigError(f"allowed manifest host {exc}") from None
        object.__setattr__(self, "allowed_manifest_hosts", hosts)
        if self.trust_list is not None:
            object.__setattr__(self, "trust_list", str(self.trust_list))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        anchors = tuple(p for p in env.get(ENV_ANCHORS, "").split(os.pathsep) if p.strip())
        try:
            hosts = parse_hosts(env.get(ENV_ALLOWED_HOSTS, "").split(","))
        except ValueError as exc:
            raise TrustConfigError(f"{ENV_ALLOWED_HOSTS}: {exc}") from None
        return cls(
            trust_list=env.get(ENV_TRUST_LIST) or None,
            operator_anchors=anchors,
            allowed_manifest_hosts=hosts,
        )

    def anchors_pem(self) -> str:
        """Every anchor certificate as one PEM text (trust list, TSA list, operator anchors)."""
        parts: list[bytes] = []
        for path in self._trust_list_files():
            parts.extend(_certificates(path))
        for entry in self.operator_anchors:
            for path in _pem_files(Path(entry)):
                parts.extend(_certificates(path))
        return b"\n".join(parts).decode("ascii") + "\n"

    def _trust_list_files(self) -> list[Path]:
        if self.trust_list is None:
            return [DATA_DIR / name for name in TRUST_LIST_FILES]
        path = Path(self.trust_list)
        if path.is_dir():
            files = [path / name for name in TRUST_LIST_FILES if (path / name).is_file()]
            if not files:
                raise TrustConfigError(
                    f"trust list folder {path} holds neither of {', '.join(TRUST_LIST_FILES)}"
                )
            return files
        if path.is_file():
            return [path]
        raise TrustConfigError(f"trust list {path} does not exist")


def _pem_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".pem", ".crt"))
        if not files:
            raise TrustConfigError(f"trust anchor folder {path} holds no .pem or .crt file")
        return files
    if path.is_file():
        return [path]
    raise TrustConfigError(f"trust anchor file {path} does not exist")


def _certificates(path: Path) -> list[bytes]:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise TrustConfigError(f"cannot read trust anchors {path}: {exc.strerror}") from exc
    # Only the certificate blocks: a private key pasted into an anchor file is dropped.
    certs = _PEM_CERT.findall(text)
    if not certs:
        raise TrustConfigError(f"{path} holds no PEM certificate")
    return certs


def sdk_settings(settings: Settings, *, fetch_hosts: tuple[str, ...] = ()) -> dict:
    """The c2pa-rs settings dictionary; network stays off unless fetch_hosts is given."""
    value: dict = {
        "verify": {
            "verify_trust": settings.verify_trust,
            "remote_manifest_fetch": bool(fetch_hosts),
            "ocsp_fetch": False,
        },
        "trust": {
            "trust_anchors": settings.anchors_pem(),
            "trust_config": "\n".join(settings.ekus),
        },
    }
    if fetch_hosts:
        value["core"] = {"allowed_network_hosts": list(fetch_hosts)}
    return value


@functools.lru_cache(maxsize=16)
def context_for(settings: Settings, fetch_hosts: tuple[str, ...] = ()) -> c2pa.Context:
    """One Context per settings value, shared by all reads (the SDK allows that across threads)."""
    return c2pa.Context.from_dict(sdk_settings(settings, fetch_hosts=fetch_hosts))


def clear_cache() -> None:
    """Drop cached contexts, e.g. after an anchor file was replaced on disk."""
    context_for.cache_clear()


# The SDK's Context does not survive fork(): a forked worker that reused its
# parent's answers every read with "Context is not valid", so children build their own.
os.register_at_fork(after_in_child=clear_cache)
