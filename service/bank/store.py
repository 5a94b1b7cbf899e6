"""Bank entries in the service's database: add, get, list, remove, and the bank version
every change bumps (the workers' indexes refresh when it moves)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

import matching

from ..db.bank import BankEntryRow, BankStateRow
from ..db.base import database_url, session_scope
from ..db.migrations import ensure_schema
from ..db.retro import enqueue_retro
from .errors import DuplicateEntry, EntryNotFound, InvalidEntry, LowQuality
from .index import mark_stale
from .media import hash_media, video_rows
from .validation import check_category, check_hex, check_id, check_severity, check_text


@dataclass(frozen=True)
class Entry:
    id: int
    category: str
    severity: str | None
    note: str | None
    source: str | None
    added_by: str | None
    added_at: datetime
    active: bool
    pdq: str
    pdq_quality: int | None = None
    pdq_unboxed: str | None = None
    phash: str | None = None
    has_features: bool = False
    external_id: str | None = None
    media_sha256: str | None = None
    removed_at: datetime | None = None
    removed_by: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("added_at", "removed_at"):
            if out[key] is not None:
                out[key] = _utc(out[key]).isoformat()
        return out


@dataclass(frozen=True)
class EntryPage:
    items: tuple[Entry, ...]
    total: int
    page: int
    per_page: int


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def entry_of(row: BankEntryRow) -> Entry:
    return Entry(
        id=row.id,
        category=row.category,
        severity=row.severity,
        note=row.note,
        source=row.source,
        added_by=row.added_by,
        added_at=_utc(row.added_at),
        active=row.active,
        pdq=row.pdq,
        pdq_quality=row.pdq_quality,
        pdq_unboxed=row.pdq_unboxed,
        phash=row.phash,
        has_features=row.features is not None,
        external_id=row.external_id,
        media_sha256=row.media_sha256,
        removed_at=_utc(row.removed_at) if row.removed_at else None,
        removed_by=row.removed_by,
    )


def ready_url(url: str | None) -> str:
    """The database to use (AIGC_DATABASE_URL by default), brought to the newest schema."""
    url = url or database_url()
    ensure_schema(url)
    return url


def bump_version(session) -> None:
    now = datetime.now(UTC)
    result = session.execute(
        update(BankStateRow)
        .where(BankStateRow.id == 1)
        .values(version=BankStateRow.version + 1, updated_at=now)
    )
    if result.rowcount:
        return
    try:
        with session.begin_nested():
            session.add(BankStateRow(id=1, version=1, updated_at=now))
    except IntegrityError:
        # another process created the row between our update and insert
        session.execute(
            update(BankStateRow)
            .where(BankStateRow.id == 1)
            .values(version=BankStateRow.version + 1, updated_at=now)
        )


def _fill_from_media(row: BankEntryRow, hashes: matching.Hashes, min_quality: int) -> None:
    if hashes.quality < min_quality:
        raise LowQuality(
            f"PDQ quality {hashes.quality} is below {min_quality}: the image is too flat "
            "or plain for its hash to identify it, so it would match unrelated images"
        )
    row.pdq = hashes.pdq_hex
    row.pdq_quality = hashes.quality
    row.pdq_dihedral = ",".join(c.hex() for c in hashes.pdq_dihedral)
    if hashes.pdq_unboxed is not None and (hashes.unboxed_quality or 0) >= min_quality:
        row.pdq_unboxed = hashes.pdq_unboxed_hex
    row.phash = hashes.phash_hex
    if hashes.features is not None and len(hashes.features):
        row.features = hashes.features.to_blob()


def _fill_from_hash(
    row: BankEntryRow,
    pdq_hex: str,
    phash_hex: str | None,
    pdq_quality: int | None,
    min_quality: int,
) -> None:
    row.pdq = check_hex(pdq_hex, 32, "PDQ hash")
    row.phash = check_hex(phash_hex, 8, "pHash")
    if pdq_quality is not None:
        if not isinstance(pdq_quality, int) or not 0 <= pdq_quality <= 100:
            raise InvalidEntry("PDQ quality must be an integer within 0..100")
        if pdq_quality < min_quality:
            raise LowQuality(f"PDQ quality {pdq_quality} is below {min_quality}")
        row.pdq_quality = pdq_quality


def new_row(
    data: bytes | None = None,
    *,
    filename: str | None = None,
    pdq_hex: str | None = None,
    category: str,
    severity: str | None = None,
    note: str | None = None,
    source: str | None = None,
    added_by: str | None = None,
    external_id: str | None = None,
    pdq_quality: int | None = None,
    phash_hex: str | None = None,
    min_quality: int = matching.DEFAULT_MIN_QUALITY,
) -> tuple[BankEntryRow, object | None]:
    """An entry row (and its video rows) from media bytes or a PDQ hex hash, not yet stored.

    Hashing happens here, before any transaction, so a caller that stages the
    row with other changes (a reviewer's verdict) holds no lock while hashing.
    """
    if (data is None) == (pdq_hex is None):
        raise InvalidEntry("give either the media or a PDQ hash, not both or neither")
    row = BankEntryRow(
        category=check_category(category),
        severity=check_severity(severity),
        note=check_text(note, 4000, "note"),
        source=check_text(source, 128, "source"),
        added_by=check_text(added_by, 128, "added_by"),
        external_id=check_text(external_id, 256, "external_id"),
        added_at=datetime.now(UTC),
        active=True,
    )
    video = None
    if data is not None:
        hashes, row.media_sha256 = hash_media(data, filename)
        video = video_rows(data)
        _fill_from_media(row, hashes, min_quality)
    else:
        _fill_from_hash(row, pdq_hex, phash_hex, pdq_quality, min_quality)
    return row, video


def active_duplicate(session, media_sha256: str | None) -> int | None:
    """The id of the active entry holding these exact bytes, if any."""
    if not media_sha256:
        return None
    return session.scalar(
        select(BankEntryRow.id).where(
            BankEntryRow.media_sha256 == media_sha256, BankEntryRow.active.is_(True)
        )
    )


def stage_row(session, row: BankEntryRow, video, origin: str = "add") -> None:
    """Add a built row in the caller's transaction and move the bank version with it.

    The look back at recent uploads is owed in the same transaction
    (service/db/retro.py): an entry never exists without it.
    """
    session.add(row)
    session.flush()
    for part in video or ():
        part.entry_id = row.id
        session.add(part)
    bump_version(session)
    enqueue_retro(session, [row.id], origin)


def add_entry(data: bytes | None = None, *, url: str | None = None, **fields) -> Entry:
    """Add one entry from media bytes or from a PDQ hex hash (exactly one of them).

    `fields` are `new_row`'s: filename, pdq_hex, category, severity, note,
    source, added_by, external_id, pdq_quality, phash_hex, min_quality.
    """
    row, video = new_row(data, **fields)
    url = ready_url(url)
    with session_scope(url) as session:
        dup = active_duplicate(session, row.media_sha256)
        if dup is not None:
            raise DuplicateEntry(f"this media is already in the bank as entry {dup}")
        stage_row(session, row, video)
        entry = entry_of(row)
    mark_stale(url)
    return entry


def get_entry(entry_id: int, *, url: str | None = None) -> Entry:
    entry_id = check_id(entry_id)
    with session_scope(ready_url(url)) as session:
        row = session.get(BankEntryRow, entry_id)
        if row is None:
            raise EntryNotFound(f"no bank entry {entry_id}")
        return entry_of(row)


def list_entries(
    *,
    category: str | None = None,
    source: str | None = None,
    active: bool | None = True,
    page: int = 1,
    per_page: int = 50,
    url: str | None = None,
) -> EntryPage:
    """Entries newest first; `active=None` lists removed entries too."""
    if not isinstance(page, int) or page < 1:
        raise InvalidEntry("page must be an integer >= 1")
    if not isinstance(per_page, int) or not 1 <= per_page <= 1000:
        raise InvalidEntry("per_page must be an integer within 1..1000")
    query = select(BankEntryRow)
    if category:
        query = query.where(BankEntryRow.category == check_category(category))
    if source:
        query = query.where(BankEntryRow.source == source)
    if active is not None:
        query = query.where(BankEntryRow.active.is_(active))
    with session_scope(ready_url(url)) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(BankEntryRow.id.desc()).offset((page - 1) * per_page).limit(per_page)
        ).all()
        return EntryPage(tuple(entry_of(r) for r in rows), int(total or 0), page, per_page)


def remove_entry(entry_id: int, *, removed_by: str | None = None, url: str | None = None) -> Entry:
    """Soft delete: the row stays for audits, the index drops it on its next refresh."""
    entry_id = check_id(entry_id)
    url = ready_url(url)
    with session_scope(url) as session:
        row = session.get(BankEntryRow, entry_id)
        if row is None or not row.active:
            raise EntryNotFound(f"no active bank entry {entry_id}")
        row.active = False
        row.removed_at = datetime.now(UTC)
        row.removed_by = check_text(removed_by, 128, "removed_by")
        bump_version(session)
        session.flush()
        entry = entry_of(row)
    mark_stale(url)
    return entry
