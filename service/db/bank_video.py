"""Video fingerprints of bank entries added from a video (matched over time, by vPDQ).

A separate table rather than a column of `bank_entries`: `ensure_schema`
creates missing tables but never alters existing ones, so databases made
before video support keep working. One row per video entry; the entry's
own row (category, severity, active, ...) stays the single place that says
whether it counts, and its `pdq` holds the clearest frame so that a still
taken from a known fake video matches as an image.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class BankVideoRow(Base):
    __tablename__ = "bank_video_fingerprints"

    entry_id: Mapped[int] = mapped_column(Integer, ForeignKey("bank_entries.id"), primary_key=True)
    # matching.video.VideoFingerprint.to_dict() as JSON (hex PDQ, quality, time per frame)
    fingerprint: Mapped[str] = mapped_column(Text)
    frames: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class BankVideoKeyframesRow(Base):
    """A video entry's keyframes (matching.video.Keyframes blob): its cropped copies' match.

    Its own table for the reason above: databases made before keyframes keep
    working, and their video entries are matched by vPDQ alone.
    """

    __tablename__ = "bank_video_keyframes"

    entry_id: Mapped[int] = mapped_column(Integer, ForeignKey("bank_entries.id"), primary_key=True)
    keyframes: Mapped[bytes] = mapped_column(LargeBinary)
    count: Mapped[int] = mapped_column(Integer)
