"""The bank store: known manipulated media in the service's database, and the
in-memory index every worker matches against.

Function API (for the CLI, the HTTP service and batch jobs; every function
takes an optional `url`, default `service.db.base.database_url()`):

    add_entry(data=None, *, filename=None, pdq_hex=None, category, severity=None,
              note=None, source=None, added_by=None, external_id=None) -> Entry
        From media bytes (decoded, hashed: PDQ + dihedrals + unboxed + pHash +
        ORB features) or from a bare PDQ hex hash. Raises InvalidEntry (bad
        category / hash / media), LowQuality (too flat to identify),
        DuplicateEntry (the same media is already active).
    get_entry(entry_id) -> Entry                        EntryNotFound
    list_entries(*, category=None, source=None, active=True, page=1,
                 per_page=50) -> EntryPage           active=None lists removed too
    remove_entry(entry_id, *, removed_by=None) -> Entry  soft delete; EntryNotFound
    import_entries(path_or_text, fmt=None, *, added_by=None, defaults...) -> ImportReport
    export_entries(path, fmt=None, *, include_inactive=False) -> int
    bank_version() -> int
    lookup_pdq_hex(hex, *, radius=None) -> list[matching.Match]   (InvalidEntry on bad hex)
    hma_lookup(signal_type, signal) -> {category: [{"bank_content_id", "distance"}]}
        HMA's `GET /m/lookup?signal_type=pdq&signal=HEX` answer (banks are our categories).
    index_cache(url=None) -> BankIndexCache    one per process and URL
    BankIndexCache.current() -> matching.Bank   rebuilt when bank_version() moves

The index side (`bank_version`, `load_bank`, `BankIndexCache`) lives in
labeler/signal_match.py, because the labeler (a floor below) matches every
upload against it; it is re-exported here.

Every error is a BankStoreError with `.code` (snake_case) and `.http_status`
(400, 404, 409, 415, 422) so the HTTP layer maps them without a table of
its own. Entries as returned never carry feature blobs; `Entry.to_dict()`
is the JSON form used by the API and `aigc bank list --json`.

Import/export formats are documented in matching/README.md.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

import matching
from labeler.errors import LabelerError
from labeler.media import decode

from .db.bank import BankEntryRow, BankStateRow
from .db.bank_source import (
    BankIndexCache,
    bank_version,
    drop_caches,
    load_bank,
    mark_stale,
    shared_cache,
)
from .db.base import database_url, session_scope
from .db.models import ensure_schema

CATEGORIES = ("misleading_deepfake", "known_aigc", "manipulated_media")
SEVERITIES = ("low", "medium", "high", "critical")
SOURCES = ("fact_checker", "review_team", "partner")
EXPORT_FIELDS = (
    "id",
    "pdq",
    "category",
    "severity",
    "note",
    "source",
    "added_by",
    "added_at",
    "active",
    "pdq_quality",
    "pdq_unboxed",
    "phash",
    "external_id",
)


# --- errors -------------------------------------------------------------
class BankStoreError(Exception):
    code = "bank_error"
    http_status = 400


class InvalidEntry(BankStoreError):
    code = "invalid_entry"
    http_status = 422


class InvalidMedia(BankStoreError):
    code = "unsupported_media"
    http_status = 415


class LowQuality(BankStoreError):
    code = "low_quality_hash"
    http_status = 422


class EntryNotFound(BankStoreError):
    code = "entry_not_found"
    http_status = 404


class DuplicateEntry(BankStoreError):
    code = "duplicate_entry"
    http_status = 409


# --- values -------------------------------------------------------------
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


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    skipped: int = 0
    # (line or record number, message) of every row that was not loaded
    errors: tuple[tuple[int, str], ...] = field(default=())


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _entry(row: BankEntryRow) -> Entry:
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


# --- validation ---------------------------------------------------------
def check_category(category: str) -> str:
    """The three built-in categories, or an operator-defined snake_case name."""
    if not isinstance(category, str):
        raise InvalidEntry("category is required")
    category = category.strip().lower()
    if not category or len(category) > 64 or not all(c.isalnum() or c == "_" for c in category):
        raise InvalidEntry(
            f"category {category!r} must be 1-64 letters, digits or underscores "
            f"(built in: {', '.join(CATEGORIES)})"
        )
    return category


def check_severity(severity: str | None) -> str | None:
    if severity is None or severity == "":
        return None
    severity = severity.strip().lower()
    if severity not in SEVERITIES:
        raise InvalidEntry(f"severity {severity!r} must be one of {', '.join(SEVERITIES)}")
    return severity


def _check_hex(value: str | None, nbytes: int, what: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return matching.from_hex(value, nbytes, what).hex()
    except matching.InvalidHash as exc:
        raise InvalidEntry(str(exc)) from None


def _text(value, limit: int, what: str) -> str | None:
    if value is None or value == "":
        return None
    value = str(value)
    if len(value) > limit:
        raise InvalidEntry(f"{what} is longer than {limit} characters")
    return value


# --- version ------------------------------------------------------------
def _bump_version(session) -> None:
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


# --- entries ------------------------------------------------------------
def hash_media(
    data: bytes, filename: str | None = None, *, mirrored_features: bool = False
) -> tuple[matching.Hashes, str]:
    """Decode media bytes and compute every hash the bank stores; (hashes, sha256).

    `mirrored_features` marks a lookup (not an entry): it adds what a lookup
    needs, the mirrored crops' features and the queries' coarser scale.
    """
    try:
        media = decode(data, filename)
    except LabelerError as exc:
        raise InvalidMedia(str(exc)) from None
    if not media.frames:
        raise InvalidMedia(f"{media.mime}: no frames to hash")
    still = 0
    if media.kind == "video":  # issue 8: its clearest frame, so a still of it matches too
        from labeler.signals.match.video import clearest_frame

        still = clearest_frame(media.frames)
    try:
        hashes = matching.compute_hashes(
            media.frames[still],
            features=True,
            mirrored_features=mirrored_features,
            for_query=mirrored_features,
        )
    except matching.MatchingError as exc:
        raise InvalidMedia(str(exc)) from None
    return hashes, media.sha256


def add_entry(
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
    url: str | None = None,
) -> Entry:
    """Add one entry from media bytes or from a PDQ hex hash (exactly one of them)."""
    if (data is None) == (pdq_hex is None):
        raise InvalidEntry("give either the media or a PDQ hash, not both or neither")
    row = BankEntryRow(
        category=check_category(category),
        severity=check_severity(severity),
        note=_text(note, 4000, "note"),
        source=_text(source, 128, "source"),
        added_by=_text(added_by, 128, "added_by"),
        external_id=_text(external_id, 256, "external_id"),
        added_at=datetime.now(UTC),
        active=True,
    )
    if data is not None:
        hashes, digest = hash_media(data, filename)
        from .bank_video import video_row  # issue 8: vPDQ fingerprint of a video entry

        video = video_row(data, InvalidMedia, LowQuality)
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
        row.media_sha256 = digest
    else:
        row.pdq = _check_hex(pdq_hex, 32, "PDQ hash")
        row.phash = _check_hex(phash_hex, 8, "pHash")
        if pdq_quality is not None:
            if not isinstance(pdq_quality, int) or not 0 <= pdq_quality <= 100:
                raise InvalidEntry("PDQ quality must be an integer within 0..100")
            if pdq_quality < min_quality:
                raise LowQuality(f"PDQ quality {pdq_quality} is below {min_quality}")
            row.pdq_quality = pdq_quality
    url = url or database_url()
    ensure_schema(url)
    with session_scope(url) as session:
        if row.media_sha256:
            dup = session.scalar(
                select(BankEntryRow.id).where(
                    BankEntryRow.media_sha256 == row.media_sha256, BankEntryRow.active.is_(True)
                )
            )
            if dup is not None:
                raise DuplicateEntry(f"this media is already in the bank as entry {dup}")
        session.add(row)
        session.flush()
        if data is not None and video is not None:
            video.entry_id = row.id
            session.add(video)
        _bump_version(session)
        entry = _entry(row)
    mark_stale(url)
    return entry


def get_entry(entry_id: int, *, url: str | None = None) -> Entry:
    entry_id = _check_id(entry_id)
    url = url or database_url()
    ensure_schema(url)
    with session_scope(url) as session:
        row = session.get(BankEntryRow, entry_id)
        if row is None:
            raise EntryNotFound(f"no bank entry {entry_id}")
        return _entry(row)


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
    url = url or database_url()
    ensure_schema(url)
    query = select(BankEntryRow)
    if category:
        query = query.where(BankEntryRow.category == check_category(category))
    if source:
        query = query.where(BankEntryRow.source == source)
    if active is not None:
        query = query.where(BankEntryRow.active.is_(active))
    with session_scope(url) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(BankEntryRow.id.desc()).offset((page - 1) * per_page).limit(per_page)
        ).all()
        return EntryPage(tuple(_entry(r) for r in rows), int(total or 0), page, per_page)


def remove_entry(entry_id: int, *, removed_by: str | None = None, url: str | None = None) -> Entry:
    """Soft delete: the row stays for audits, the index drops it on its next refresh."""
    entry_id = _check_id(entry_id)
    url = url or database_url()
    ensure_schema(url)
    with session_scope(url) as session:
        row = session.get(BankEntryRow, entry_id)
        if row is None or not row.active:
            raise EntryNotFound(f"no active bank entry {entry_id}")
        row.active = False
        row.removed_at = datetime.now(UTC)
        row.removed_by = _text(removed_by, 128, "removed_by")
        _bump_version(session)
        session.flush()
        entry = _entry(row)
    mark_stale(url)
    return entry


def _check_id(entry_id) -> int:
    try:
        value = int(entry_id)
    except (TypeError, ValueError):
        raise InvalidEntry(f"entry id must be an integer, got {entry_id!r}") from None
    if value < 1:
        raise EntryNotFound(f"no bank entry {value}")
    return value


# --- import / export ----------------------------------------------------
def _format_of(path: Path | None, fmt: str | None) -> str:
    fmt = (fmt or (path.suffix.lstrip(".") if path else "")).lower()
    if fmt in ("jsonl", "ndjson"):
        return "jsonl"
    if fmt in ("csv", "json", "txt"):
        return fmt
    raise InvalidEntry(
        "the format must be csv, json, jsonl or txt (from --format or the extension)"
    )


def _records(text: str, fmt: str):
    """(record number, dict) pairs from the documented formats (matching/README.md)."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "pdq" not in [f.strip().lower() for f in reader.fieldnames]:
            # a bare HMA/ThreatExchange hash list: one hex hash per line, optional columns
            for n, line in enumerate(csv.reader(io.StringIO(text)), 1):
                if line and line[0].strip() and not line[0].startswith("#"):
                    yield n, {"pdq": line[0].strip()}
            return
        for n, rec in enumerate(reader, 2):
            yield n, {(k or "").strip().lower(): v for k, v in rec.items()}
    elif fmt == "txt":
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                yield n, {"pdq": line.split()[0].split(",")[0]}
    elif fmt == "jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield n, exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidEntry(f"not valid JSON: {exc}") from None
        if isinstance(data, dict):
            data = data.get("entries")
        if not isinstance(data, list):
            raise InvalidEntry('JSON import must be a list of entries or {"entries": [...]}')
        yield from enumerate(data, 1)


def import_entries(
    source,
    fmt: str | None = None,
    *,
    category: str | None = None,
    severity: str | None = None,
    source_name: str | None = None,
    added_by: str | None = None,
    url: str | None = None,
) -> ImportReport:
    """Load hash records (no media needed); bad records are reported, good ones kept.

    `source` is a path or the text itself. `category`/`severity`/`source_name`
    fill records that do not carry their own (a bare hash list carries none,
    so `category` is then required). Records whose PDQ hash is already an
    active entry of the same category are skipped, so importing twice is safe.
    """
    path = Path(source) if isinstance(source, Path) else None
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidEntry(f"cannot read {path}: {exc}") from None
    else:
        text = str(source)
    fmt = _format_of(path, fmt)
    url = url or database_url()
    ensure_schema(url)
    added, skipped, errors = 0, 0, []
    rows = []
    for n, rec in _records(text, fmt):
        if not isinstance(rec, dict):
            errors.append((n, f"not a record: {rec}"))
            continue
        try:
            pdq = _check_hex((rec.get("pdq") or rec.get("signal") or "").strip(), 32, "PDQ hash")
            if pdq is None:
                raise InvalidEntry("no PDQ hash")
            quality = rec.get("pdq_quality") or rec.get("quality")
            quality = int(quality) if quality not in (None, "") else None
            if quality is not None and not 0 <= quality <= 100:
                raise InvalidEntry("PDQ quality must be within 0..100")
            active = rec.get("active", True)
            if isinstance(active, str):
                active = active.strip().lower() not in ("0", "false", "no")
            if not active:
                skipped += 1
                continue
            cat = rec.get("category") or category
            if not cat:
                raise InvalidEntry("no category (give one with --category)")
            rows.append(
                dict(
                    category=check_category(cat),
                    severity=check_severity(rec.get("severity") or severity),
                    note=_text(rec.get("note"), 4000, "note"),
                    source=_text(rec.get("source") or source_name, 128, "source"),
                    added_by=_text(added_by or rec.get("added_by"), 128, "added_by"),
                    added_at=datetime.now(UTC),
                    active=True,
                    external_id=_text(rec.get("external_id") or rec.get("id"), 256, "external_id"),
                    pdq=pdq,
                    pdq_quality=quality,
                    pdq_unboxed=_check_hex(rec.get("pdq_unboxed"), 32, "unboxed PDQ hash"),
                    phash=_check_hex(rec.get("phash"), 8, "pHash"),
                )
            )
        except (InvalidEntry, ValueError, TypeError) as exc:
            errors.append((n, str(exc)))
    with session_scope(url) as session:
        existing = set(
            session.execute(
                select(BankEntryRow.pdq, BankEntryRow.category).where(BankEntryRow.active.is_(True))
            ).all()
        )
        fresh = []
        for row in rows:
            if (row["pdq"], row["category"]) in existing:
                skipped += 1
                continue
            existing.add((row["pdq"], row["category"]))
            fresh.append(row)
        # executemany, not one ORM object per record: 10^5 hashes load in seconds
        for start in range(0, len(fresh), 5000):
            session.execute(insert(BankEntryRow), fresh[start : start + 5000])
        added = len(fresh)
        if added:
            _bump_version(session)
    mark_stale(url)
    return ImportReport(added, skipped, tuple(errors))


def export_entries(
    path, fmt: str | None = None, *, include_inactive: bool = False, url: str | None = None
) -> int:
    """Write the bank's hashes (never media or feature blobs); returns the entry count."""
    path = Path(path)
    fmt = _format_of(path, fmt)
    url = url or database_url()
    ensure_schema(url)
    query = select(BankEntryRow).order_by(BankEntryRow.id)
    if not include_inactive:
        query = query.where(BankEntryRow.active.is_(True))
    with session_scope(url) as session:
        records = []
        for row in session.scalars(query):
            d = _entry(row).to_dict()
            records.append({k: d[k] for k in EXPORT_FIELDS})
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for rec in records:
            writer.writerow({k: "" if v is None else v for k, v in rec.items()})
        text = buf.getvalue()
    elif fmt == "txt":
        text = "".join(rec["pdq"] + "\n" for rec in records)
    elif fmt == "jsonl":
        text = "".join(json.dumps(rec) + "\n" for rec in records)
    else:
        text = json.dumps({"format": "aigc-bank/1", "entries": records}, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(records)


# --- the in-memory index ------------------------------------------------
def index_cache(url: str | None = None) -> BankIndexCache:
    """This process's cache for a database, the same one the labeler's engine uses."""
    return shared_cache(url or database_url())


def drop_index_caches() -> None:
    drop_caches()


def lookup_pdq_hex(
    pdq_hex: str, *, radius: int | None = None, url: str | None = None
) -> list[matching.Match]:
    """Active entries within `radius` (default 31) of a PDQ hex hash, closest first."""
    try:
        code = matching.from_hex(pdq_hex, 32, "PDQ hash")
    except matching.InvalidHash as exc:
        raise InvalidEntry(str(exc)) from None
    if radius is not None and (not isinstance(radius, int) or not 0 <= radius <= 256):
        raise InvalidEntry("radius must be an integer within 0..256")
    return index_cache(url).current().lookup_pdq(code, radius)


def hma_lookup(signal_type: str, signal: str, *, url: str | None = None) -> dict:
    """HMA's `/m/lookup` answer: {bank (our category): [{bank_content_id, distance}]}."""
    if signal_type != "pdq":
        raise InvalidEntry(f"signal_type {signal_type!r} is not supported (only 'pdq')")
    out: dict[str, list[dict]] = {}
    for m in lookup_pdq_hex(signal, url=url):
        # HMA sends distances as strings
        out.setdefault(m.category or "", []).append(
            {"bank_content_id": int(m.entry_id), "distance": str(m.distance)}
        )
    return out


__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "BankIndexCache",
    "BankStoreError",
    "DuplicateEntry",
    "Entry",
    "EntryNotFound",
    "EntryPage",
    "ImportReport",
    "InvalidEntry",
    "InvalidMedia",
    "LowQuality",
    "add_entry",
    "bank_version",
    "drop_index_caches",
    "export_entries",
    "get_entry",
    "hash_media",
    "hma_lookup",
    "import_entries",
    "index_cache",
    "list_entries",
    "load_bank",
    "lookup_pdq_hex",
    "remove_entry",
]
