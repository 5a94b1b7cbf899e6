"""A development certificate authority, so signing works offline without real keys.

Makes a root CA and an ES256 (P-256) claim signer that c2pa-rs accepts: the leaf
has KeyUsage digitalSignature, EKU emailProtection + documentSigning, and SKI /
AKI; the root is a CA with keyCertSign. Every file is named as a development
key; nothing here may sign anything a user is meant to trust.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_CERT = "dev-root-ca.cert.pem"
ROOT_KEY = "dev-root-ca.DEV-ONLY-KEY.pem"
SIGNER_CHAIN = "dev-signer.chain.pem"  # leaf then root: what the Builder signs with
SIGNER_KEY = "dev-signer.DEV-ONLY-KEY.pem"

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING = "1.3.6.1.4.1.62558.2.1"


@dataclass(frozen=True)
class DevCA:
    folder: Path

    @property
    def root_cert(self) -> Path:
        return self.folder / ROOT_CERT

    @property
    def signer_chain(self) -> Path:
        return self.folder / SIGNER_CHAIN

    @property
    def signer_key(self) -> Path:
        return self.folder / SIGNER_KEY


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aigc-provenance development"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DEV ONLY - not trusted"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def create_dev_ca(
    folder: str | Path,
    *,
    name: str = "aigc dev",
    years: int = 10,
    overwrite: bool = False,
    eku_oids: tuple[str, ...] = (
        ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string,
        DOCUMENT_SIGNING.dotted_string,
    ),
) -> DevCA:
    """Write a root and an ES256 signer into `folder`; refuses to overwrite unless asked."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ca = DevCA(folder)
    if not overwrite and any(p.exists() for p in (ca.root_cert, ca.signer_chain, ca.signer_key)):
        raise FileExistsError(f"{folder} already holds a development CA")
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    # Samples are signed without a time stamp (offline), and such a manifest turns
    # Invalid once its certificate expires: the validity is long on purpose.
    until = now + dt.timedelta(days=365 * years)

    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _root_cert(name, root_key, now, until)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _leaf_cert(name, leaf_key, root, root_key, now, until, eku_oids)

    pem = serialization.Encoding.PEM
    _write(ca.root_cert, root.public_bytes(pem))
    _write(ca.signer_chain, leaf.public_bytes(pem) + root.public_bytes(pem))
    _write_key(folder / ROOT_KEY, root_key)
    _write_key(ca.signer_key, leaf_key)
    return ca


def _key_usage(ca: bool) -> x509.KeyUsage:
    """A CA signs certificates (and CRLs); the claim signer signs claims only."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _root_cert(
    name: str, root_key: ec.EllipticCurvePrivateKey, now: dt.datetime, until: dt.datetime
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} root CA"))
        .issuer_name(_name(f"{name} root CA"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )


def _leaf_cert(
    name: str,
    leaf_key: ec.EllipticCurvePrivateKey,
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
    until: dt.datetime,
    eku_oids: tuple[str, ...],
) -> x509.Certificate:
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} claim signer"))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until - dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(oid) for oid in eku_oids]),
            critical=False,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Owner-only from the first byte: never world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
