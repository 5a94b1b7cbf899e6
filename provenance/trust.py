"""Trust settings and the c2pa Context built from them (once per settings).

By default a signer is trusted when it chains to the official C2PA trust list
(shipped in `provenance/data`, CC BY 4.0) or to an operator's own anchors, and
trusted as legacy when it chains only to the frozen interim list. The SDK has
no separate setting for time-stamp authorities, so the TSA list is appended
to the anchors. Nothing reaches the network unless an operator names
hosts: an uploaded file must never make the server open a URL of its choosing.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import c2pa

from .errors import TrustConfigError
from .hosts import parse_hosts
from .trustlists import TrustList, load_list

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
ENV_LEGACY_LIST = "AIGC_TRUST_LIST_LEGACY"
ENV_ALLOWED_HOSTS = "AIGC_ALLOWED_MANIFEST_HOSTS"
ENV_IDENTITY_ANCHORS = "AIGC_IDENTITY_ANCHORS"
ENV_IDENTITY_ISSUERS = "AIGC_IDENTITY_ISSUERS"

# The frozen interim list, when a copy is shipped in data/ (see data/README.md).
LEGACY_LIST_FILE = "C2PA-INTERIM-TRUST-LIST.pem"
# A folder given as a newer copy may hold either form the C2PA publishes.
_LIST_NAMES = {
    "official": ("C2PA-TRUST-LIST.json", "C2PA-TRUST-LIST.pem"),
    "tsa": ("C2PA-TSA-TRUST-LIST.json", "C2PA-TSA-TRUST-LIST.pem"),
}
_DEFAULT_NAMES = {
    "official": "C2PA Trust List",
    "tsa": "C2PA TSA Trust List",
    "legacy": "C2PA interim trust list (legacy)",
}


@dataclass(frozen=True)
class Settings:
    """What to trust and where the reader may go; hashable, so contexts are cached per value."""

    # None: the C2PA lists shipped in the package. Otherwise a folder holding the
    # list files (PEM or ETSI TS 119 602 JSON), or one file that replaces them.
    trust_list: str | None = None
    # Operator anchors added to the trust list: PEM files or folders of *.pem.
    operator_anchors: tuple[str, ...] = ()
    ekus: tuple[str, ...] = DEFAULT_EKUS
    # Hosts (with a port when not 443) from which a remote manifest may be
    # fetched, as hosts.parse_host reads them; empty: never fetch.
    allowed_manifest_hosts: tuple[str, ...] = ()
    verify_trust: bool = True
    # The frozen interim list (legacy trust): None for the shipped copy if there
    # is one, "" for none, else a PEM or ETSI JSON file.
    legacy_list: str | None = None
    # CAWG identities have their own trust: anchors for X.509 identity certificates
    # (PEM files or folders) and the DIDs of identity claims aggregators to trust.
    identity_anchors: tuple[str, ...] = ()
    identity_issuers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Lists from callers become tuples: Settings is the cache key of its Context.
        for name in (
            "operator_anchors",
            "ekus",
            "allowed_manifest_hosts",
            "identity_anchors",
            "identity_issuers",
        ):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v) for v in value))
        try:
            hosts = parse_hosts(self.allowed_manifest_hosts)
        except ValueError as exc:
            raise TrustConfigError(f"allowed manifest host {exc}") from None
        object.__setattr__(self, "allowed_manifest_hosts", hosts)
        for name in ("trust_list", "legacy_list"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, str(getattr(self, name)))

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
            legacy_list=env.get(ENV_LEGACY_LIST),
            identity_anchors=_split(env.get(ENV_IDENTITY_ANCHORS, ""), os.pathsep),
            identity_issuers=_split(env.get(ENV_IDENTITY_ISSUERS, ""), ","),
        )

    def lists(self) -> tuple[TrustList, ...]:
        """Every list in force: official, TSA, legacy, then each operator anchor file."""
        return _lists(self)

    def kinds(self) -> frozenset[str]:
        return frozenset(t.kind for t in self.lists())

    def anchors_pem(self, kinds: frozenset[str] | None = None) -> str:
        """The anchors of the lists of `kinds` (every list when None) as one PEM text."""
        parts: list[bytes] = []
        for tlist in self.lists():
            if kinds is None or tlist.kind in kinds:
                parts.extend(tlist.certificates)
        return b"\n".join(parts).decode("ascii") + "\n"

    def list_of(self, kind: str) -> TrustList | None:
        return next((t for t in self.lists() if t.kind == kind), None)

    def identity_anchors_pem(self) -> str | None:
        """The CAWG identity anchors as one PEM text; None when the operator named none."""
        parts = [
            cert
            for entry in self.identity_anchors
            for path in _pem_files(Path(entry))
            for cert in load_list(path, "identity", path.name).certificates
        ]
        return b"\n".join(parts).decode("ascii") + "\n" if parts else None


def _split(value: str, sep: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(sep) if p.strip())


@functools.lru_cache(maxsize=16)
def _lists(settings: Settings) -> tuple[TrustList, ...]:
    found = [*_official_lists(settings.trust_list), *_legacy_lists(settings.legacy_list)]
    for entry in settings.operator_anchors:
        for path in _pem_files(Path(entry)):
            found.append(load_list(path, "operator", f"operator anchors {path.name}"))
    return tuple(found)


@functools.cache
def _records() -> dict:
    return json.loads((DATA_DIR / "lists.json").read_text(encoding="utf-8"))


def _official_lists(trust_list: str | None) -> list[TrustList]:
    if trust_list is None:
        return [
            load_list(DATA_DIR / name, kind, _DEFAULT_NAMES[kind], _records().get(name))
            for kind, name in zip(("official", "tsa"), TRUST_LIST_FILES, strict=True)
        ]
    path = Path(trust_list)
    if path.is_dir():
        out = []
        for kind, names in _LIST_NAMES.items():
            hit = next((path / n for n in names if (path / n).is_file()), None)
            if hit is not None:
                out.append(load_list(hit, kind, _DEFAULT_NAMES[kind]))
        if not out:
            wanted = ", ".join(n for names in _LIST_NAMES.values() for n in names)
            raise TrustConfigError(f"trust list folder {path} holds none of {wanted}")
        return out
    if path.is_file():
        return [load_list(path, "official", _DEFAULT_NAMES["official"])]
    raise TrustConfigError(f"trust list {path} does not exist")


def _legacy_lists(legacy_list: str | None) -> list[TrustList]:
    # empty or "none": no legacy trust (an empty variable cannot be told from an unset one
    # everywhere, so "none" is the spelling settings files use)
    if legacy_list is not None and legacy_list.strip().lower() in ("", "none"):
        return []
    if legacy_list is None:
        shipped = DATA_DIR / LEGACY_LIST_FILE
        if not shipped.is_file():
            return []
        record = _records().get(shipped.name)
        return [load_list(shipped, "legacy", _DEFAULT_NAMES["legacy"], record)]
    path = Path(legacy_list)
    if not path.is_file():
        raise TrustConfigError(f"legacy (interim) trust list {path} does not exist")
    return [load_list(path, "legacy", _DEFAULT_NAMES["legacy"])]


def _pem_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".pem", ".crt"))
        if not files:
            raise TrustConfigError(f"trust anchor folder {path} holds no .pem or .crt file")
        return files
    if path.is_file():
        return [path]
    raise TrustConfigError(f"trust anchor file {path} does not exist")


def sdk_settings(
    settings: Settings, *, fetch_hosts: tuple[str, ...] = (), kinds: frozenset[str] | None = None
) -> dict:
    """The c2pa-rs settings dictionary; network stays off unless fetch_hosts is given.

    `kinds` limits the anchors to some lists (the TSA list is always kept, so
    time-stamps still verify): that is how a report learns which list granted trust.
    """
    if kinds is not None:
        kinds = kinds | {"tsa"}
    value: dict = {
        "verify": {
            "verify_trust": settings.verify_trust,
            "remote_manifest_fetch": bool(fetch_hosts),
            "ocsp_fetch": False,
        },
        "trust": {
            "trust_anchors": settings.anchors_pem(kinds),
            "trust_config": "\n".join(settings.ekus),
        },
        "cawg_trust": _identity_trust(settings),
        # An empty list blocks every request the SDK's resolvers would make; only a
        # remote manifest on a host the operator allowed is ever fetched.
        "core": {"allowed_network_hosts": list(fetch_hosts)},
    }
    return value


def _identity_trust(settings: Settings) -> dict:
    value: dict = {
        "verify_trust_list": settings.verify_trust,
        "trust_config": "\n".join(settings.ekus),
        # no identity claims aggregator is trusted unless the operator names its DID
        "trusted_ica_issuers": list(settings.identity_issuers),
    }
    anchors = settings.identity_anchors_pem()
    if anchors:
        value["trust_anchors"] = anchors
    return value


@functools.lru_cache(maxsize=32)
def context_for(
    settings: Settings, fetch_hosts: tuple[str, ...] = (), kinds: frozenset[str] | None = None
) -> c2pa.Context:
    """One Context per settings value, shared by all reads (the SDK allows that across threads)."""
    return c2pa.Context.from_dict(sdk_settings(settings, fetch_hosts=fetch_hosts, kinds=kinds))


def clear_cache() -> None:
    """Drop cached contexts and lists, e.g. after an anchor file was replaced on disk."""
    context_for.cache_clear()
    _lists.cache_clear()


# The SDK's Context does not survive fork(): a forked worker that reused its
# parent's answers every read with "Context is not valid", so children build their own.
os.register_at_fork(after_in_child=clear_cache)
