"""API keys: only a SHA-256 of each key is stored, so a database leak leaks no key.

A key is 32 random bytes (url-safe base64 with a short prefix that names the
product), so a plain SHA-256 is enough: there is nothing to brute-force that a
salt or a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, session_scope

ROLES = (
    "pipeline",
    "creator",
    "analyst",
    "admin",
    "partner",
    "reviewer",
    "fact_checker",
    "resolver",
)
KEY_PREFIX = "aigc_"


class ApiKeyError(ValueError):
    """A key operation got a bad role or an unknown id."""


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    # the first characters of the key, so an operator can tell keys apart
    hint: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # who the key speaks for: a reviewer's or fact-checker's organisation (the
    # source of the bank entries its verdicts create), a creator key's creator id
    organisation: Mapped[str | None] = mapped_column(String(128), nullable=True)
    creator_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # a fact-checker sees only cases of these topics (and languages, when set);
    # comma-separated, lower case
    topics: Mapped[str | None] = mapped_column(String(512), nullable=True)
    languages: Mapped[str | None] = mapped_column(String(128), nullable=True)


@dataclass(frozen=True)
class KeyInfo:
    id: str
    role: str
    hint: str
    note: str | None
    created_at: datetime
    revoked_at: datetime | None
    organisation: str | None = None
    creator_id: str | None = None
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "role": self.role,
            "hint": self.hint,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "organisation": self.organisation,
            "creator_id": self.creator_id,
            "topics": list(self.topics),
            "languages": list(self.languages),
        }


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every time we write is UTC
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p for p in (text or "").split(",") if p)


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        row.id,
        row.role,
        row.hint,
        row.note,
        _utc(row.created_at),
        _utc(row.revoked_at),
        row.organisation,
        row.creator_id,
        _split(row.topics),
        _split(row.languages),
    )


def _words(values, what: str) -> str | None:
    """A comma list of lower-case words, or None; anything else is refused by name."""
    if values is None:
        return None
    items = values.split(",") if isinstance(values, str) else list(values)
    words = sorted({str(v).strip().lower() for v in items if str(v).strip()})
    for word in words:
        if not word.replace("_", "").replace("-", "").isalnum() or len(word) > 64:
            raise ApiKeyError(f"{what}: {word!r} is not a word (letters, digits, _ or -)")
    joined = ",".join(words)
    if len(joined) > 500:
        raise ApiKeyError(f"{what}: too many")
    return joined or None


def _text(value: str | None, limit: int, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > limit or "\x00" in value:
        raise ApiKeyError(f"{what} must be at most {limit} characters, without NUL")
    return value.strip()


def create_key(
    role: str,
    note: str | None = None,
    url: str | None = None,
    *,
    organisation: str | None = None,
    creator_id: str | None = None,
    topics=None,
    languages=None,
    require_topics: bool = True,
) -> tuple[KeyInfo, str]:
    """A new key for `role`: its record and the secret, which is shown once and never stored.

    A fact-checker key sees only the cases of its `topics`; without any it sees
    nothing, which `require_topics` refuses as a likely mistake.
    """
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    topic_list = _words(topics, "topics")
    if role == "fact_checker" and not topic_list and require_topics:
        raise ApiKeyError("a fact_checker key needs --topics: the cases routed to it")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=uuid.uuid4().hex,
        role=role,
        key_hash=hash_key(secret),
        hint=secret[: len(KEY_PREFIX) + 6],
        note=note,
        created_at=datetime.now(UTC),
        organisation=_text(organisation, 128, "organisation"),
        creator_id=_text(creator_id, 128, "creator_id"),
        topics=topic_list,
        languages=_words(languages, "languages"),
    )
    with session_scope(url) as session:
        session.add(row)
        session.flush()
        info = _info(row)
    return info, secret


def authenticate(secret: str, url: str | None = None) -> KeyInfo | None:
    """The active key whose secret this is, or None."""
    digest = hash_key(secret)
    with session_scope(url) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).first()
        # The lookup is by hash, so timing reveals nothing about the secret; the
        # compare is constant-time anyway in case a backend ever compares loosely.
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        if row.revoked_at is not None:
            return None
        return _info(row)


def list_keys(url: str | None = None) -> list[KeyInfo]:
    with session_scope(url) as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()
        return [_info(r) for r in rows]


def revoke_key(key_id: str, url: str | None = None) -> KeyInfo:
    with session_scope(url) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise ApiKeyError(f"no API key with id {key_id!r}")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
        session.flush()
        return _info(row)
