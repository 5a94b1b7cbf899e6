"""The manifest repository: every rendition the platform served, under its durable id.

A rendition carries the platform's mark whose payload is the durable id (16
hex digits, random) and a C2PA manifest signed by the platform. The row
keeps that manifest store (served again by the soft-binding resolver), what
the platform knew of the original (its credentials report and decision) and
the rendition's own fingerprint, so that recovery can check that a re-shared
file is this picture and not another one carrying a copied mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, utc_now


class ManifestRow(Base):
    __tablename__ = "manifest_repository"

    durable_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    # the rendition's active manifest label (urn:c2pa:...): the resolver's manifestId
    manifest_id: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    manifest_store: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    mime: Mapped[str] = mapped_column(String(32), nullable=False)
    # sha256 of the upload the rendition was made from, and of the rendition
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    rendition_sha256: Mapped[str] = mapped_column(String(64))
    scan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # what the platform knew of the original
    credentials: Mapped[dict] = mapped_column(JSON, nullable=False)
    decision: Mapped[dict] = mapped_column(JSON, nullable=False)
    ai_class: Mapped[str | None] = mapped_column(String(32), nullable=True)
    label: Mapped[str | None] = mapped_column(String(16), nullable=True)
    origin: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the rendition's fingerprint (matching.Hashes, as the bank stores it)
    pdq: Mapped[str] = mapped_column(String(64), index=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pdq_unboxed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phash: Mapped[str | None] = mapped_column(String(16), nullable=True)
    features: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # the upload's luminance, 256 px (matching.aligned): crops too bare for local features
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # the API key that asked for it ("cli" from the command line)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True)
class NewRecord:
    durable_id: str
    manifest_id: str
    manifest_store: bytes
    mime: str
    source_sha256: str
    rendition_sha256: str
    credentials: dict
    decision: dict
    ai_class: str | None
    label: str | None
    origin: str | None
    pdq: str
    pdq_quality: int | None
    pdq_unboxed: str | None
    phash: str | None
    features: bytes | None
    thumbnail: bytes | None = None
    scan_id: str | None = None
    created_by: str | None = None


def add_record(session: Session, record: NewRecord) -> ManifestRow:
    row = ManifestRow(**record.__dict__)
    session.add(row)
    session.flush()
    return row


def id_taken(session: Session, durable_id: str) -> bool:
    return session.get(ManifestRow, durable_id) is not None


def get_record(session: Session, durable_id: str) -> ManifestRow | None:
    return session.get(ManifestRow, durable_id.lower())


def by_manifest_id(session: Session, manifest_id: str) -> ManifestRow | None:
    return session.scalars(
        select(ManifestRow).where(ManifestRow.manifest_id == manifest_id)
    ).first()


def fingerprints(session: Session) -> list[tuple[str, str, str, str | None]]:
    """(durable id, manifest id, PDQ, unboxed PDQ) of every record, for a search by content."""
    rows = session.execute(
        select(
            ManifestRow.durable_id,
            ManifestRow.manifest_id,
            ManifestRow.pdq,
            ManifestRow.pdq_unboxed,
        )
    )
    return [tuple(r) for r in rows]
