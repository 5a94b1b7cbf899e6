"""Trust lists as the C2PA publishes them: PEM bundles and ETSI TS 119 602 JSON lists.

Each list keeps who published it, when it was issued and when its next update
is due, so a report can say which list granted trust and an operator can see
a list that went stale. A PEM bundle carries no dates; those of the lists
shipped in `data/` are recorded in `data/lists.json`, and a JSON list (the
C2PA publishes both forms side by side) carries its own.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import TrustConfigError

# What a list is for: the official C2PA list, its TSA list, the frozen interim
# list (legacy trust), or anchors the operator added.
KINDS = ("official", "tsa", "legacy", "operator")

_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----"
)
# ETSI TS 119 602 service statuses that mean "trust this"; withdrawn entries are skipped.
_TRUSTED_STATUS = ("/trusted", "/granted")


@dataclass(frozen=True)
class TrustList:
    kind: str
    name: str
    path: str
    certificates: tuple[bytes, ...]
    issued: str | None = None  # ISO 8601, as the list (or its record) gives it
    next_update: str | None = None
    source: str | None = None  # who publishes it, where it was copied from
    format: str = "pem"  # pem | etsi-json

    def expired(self, now: dt.datetime | None = None) -> bool:
        """True once the list's next update date has passed (a newer copy is due)."""
        due = parse_time(self.next_update)
        if due is None:
            return False
        return (now or dt.datetime.now(dt.UTC)) >= due

    def summary(self, now: dt.datetime | None = None) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "format": self.format,
            "certificates": len(self.certificates),
            "issued": self.issued,
            "next_update": self.next_update,
            "source": self.source,
            "expired": self.expired(now),
        }


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def load_list(path: Path, kind: str, name: str, record: dict | None = None) -> TrustList:
    """A list from a PEM bundle or an ETSI TS 119 602 JSON file (sniffed, not by name)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TrustConfigError(f"cannot read trust list {path}: {exc.strerror}") from exc
    record = record or {}
    if raw.lstrip()[:1] == b"{":
        return _etsi_list(raw, path, kind, name, record)
    certs = tuple(_PEM_CERT.findall(raw))
    if not certs:
        raise TrustConfigError(f"{path} holds no PEM certificate")
    return TrustList(
        kind=kind,
        name=record.get("name") or name,
        path=str(path),
        certificates=certs,
        issued=record.get("issued"),
        next_update=record.get("next_update"),
        source=record.get("source"),
    )


def pem_certificates(path: Path) -> tuple[bytes, ...]:
    """Only the certificate blocks: a private key pasted into an anchor file is dropped."""
    return load_list(path, "operator", path.name).certificates


def _etsi_list(raw: bytes, path: Path, kind: str, name: str, record: dict) -> TrustList:
    try:
        doc = json.loads(raw)
        lote = doc["LoTE"]
        info = lote.get("ListAndSchemeInformation") or {}
        entities = lote.get("TrustedEntitiesList") or []
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TrustConfigError(
            f"{path} is not an ETSI TS 119 602 trust list (LoTE): {exc}"
        ) from None
    certs: list[bytes] = []
    for entity in entities:
        for service in (entity or {}).get("TrustedEntityServices") or ():
            si = (service or {}).get("ServiceInformation") or {}
            status = str(si.get("ServiceStatus") or "/trusted")
            if not status.endswith(_TRUSTED_STATUS):
                continue
            identity = si.get("ServiceDigitalIdentity") or {}
            for cert in identity.get("X509Certificates") or ():
                certs.append(_der_to_pem(str((cert or {}).get("val", "")), path))
    if not certs:
        raise TrustConfigError(f"{path} lists no trusted certificate")
    scheme = _text(info.get("SchemeName")) or record.get("name") or name
    operator = _text(info.get("SchemeOperatorName"))
    return TrustList(
        kind=kind,
        name=scheme,
        path=str(path),
        certificates=tuple(certs),
        issued=info.get("ListIssueDateTime") or record.get("issued"),
        next_update=info.get("NextUpdate") or record.get("next_update"),
        source=record.get("source") or operator,
        format="etsi-json",
    )


def _text(values) -> str | None:
    """The English (else first) value of an ETSI multilingual name list."""
    if not isinstance(values, list) or not values:
        return None
    for item in values:
        if isinstance(item, dict) and item.get("lang") == "en" and item.get("value"):
            return str(item["value"])
    first = values[0]
    return str(first.get("value")) if isinstance(first, dict) and first.get("value") else None


def _der_to_pem(value: str, path: Path) -> bytes:
    try:
        der = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise TrustConfigError(f"{path}: a certificate value is not base64") from None
    if not der:
        raise TrustConfigError(f"{path}: an empty certificate value")
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = b"\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----"
