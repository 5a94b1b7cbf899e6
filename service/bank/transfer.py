"""Import and export of hash lists: CSV, JSON, JSON lines and bare text (one hash a
line, as HMA and ThreatExchange hand them out). Formats: matching/README.md."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from ..db.bank import BankEntryRow
from ..db.base import session_scope
from ..db.retro import enqueue_retro
from .errors import InvalidEntry
from .index import mark_stale
from .store import bump_version, entry_of, ready_url
from .validation import check_category, check_hex, check_quality, check_severity, check_text

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
# rows per executemany: 10^5 hashes load in seconds, in bounded statements
_INSERT_BATCH = 5000


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    skipped: int = 0
    # (line or record number, message) of every row that was not loaded
    errors: tuple[tuple[int, str], ...] = field(default=())


@dataclass(frozen=True)
class _Defaults:
    """What fills a record that does not carry its own value."""

    category: str | None
    severity: str | None
    source_name: str | None
    added_by: str | None


def _format_of(path: Path | None, fmt: str | None) -> str:
    fmt = (fmt or (path.suffix.lstrip(".") if path else "")).lower()
    if fmt in ("jsonl", "ndjson"):
        return "jsonl"
    if fmt in ("csv", "json", "txt"):
        return fmt
    raise InvalidEntry(
        "the format must be csv, json, jsonl or txt (from --format or the extension)"
    )


def _csv_records(text: str):
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "pdq" not in [f.strip().lower() for f in reader.fieldnames]:
        # a bare HMA/ThreatExchange hash list: one hex hash per line, optional columns
        for n, line in enumerate(csv.reader(io.StringIO(text)), 1):
            if line and line[0].strip() and not line[0].startswith("#"):
                yield n, {"pdq": line[0].strip()}
        return
    for n, rec in enumerate(reader, 2):
        yield n, {(k or "").strip().lower(): v for k, v in rec.items()}


def _json_records(text: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEntry(f"not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("entries")
    if not isinstance(data, list):
        raise InvalidEntry('JSON import must be a list of entries or {"entries": [...]}')
    yield from enumerate(data, 1)


def _records(text: str, fmt: str):
    """(record number, dict) pairs from the documented formats (matching/README.md)."""
    if fmt == "csv":
        yield from _csv_records(text)
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
        yield from _json_records(text)


def _read(source) -> tuple[Path | None, str]:
    """A path's text (a Path) or the text itself (anything else)."""
    if not isinstance(source, Path):
        return None, str(source)
    try:
        return source, source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidEntry(f"cannot read {source}: {exc}") from None


def _is_active(rec: dict) -> bool:
    active = rec.get("active", True)
    if isinstance(active, str):
        return active.strip().lower() not in ("0", "false", "no")
    return bool(active)


def _row_values(rec: dict, defaults: _Defaults) -> dict | None:
    """The insert values of one record, None for an inactive one (whose hash must still be
    valid); InvalidEntry, ValueError or TypeError for a bad record."""
    pdq = check_hex((rec.get("pdq") or rec.get("signal") or "").strip(), 32, "PDQ hash")
    if pdq is None:
        raise InvalidEntry("no PDQ hash")
    quality = check_quality(rec.get("pdq_quality") or rec.get("quality"))
    if not _is_active(rec):
        return None
    category = rec.get("category") or defaults.category
    if not category:
        raise InvalidEntry("no category (give one with --category)")
    return dict(
        category=check_category(category),
        severity=check_severity(rec.get("severity") or defaults.severity),
        note=check_text(rec.get("note"), 4000, "note"),
        source=check_text(rec.get("source") or defaults.source_name, 128, "source"),
        added_by=check_text(defaults.added_by or rec.get("added_by"), 128, "added_by"),
        added_at=datetime.now(UTC),
        active=True,
        external_id=check_text(rec.get("external_id") or rec.get("id"), 256, "external_id"),
        pdq=pdq,
        pdq_quality=quality,
        pdq_unboxed=check_hex(rec.get("pdq_unboxed"), 32, "unboxed PDQ hash"),
        phash=check_hex(rec.get("phash"), 8, "pHash"),
    )


def _insert_new(url: str, rows: list[dict]) -> int:
    """Insert the rows whose (PDQ, category) is not active yet; returns how many went in."""
    with session_scope(url) as session:
        existing = set(
            session.execute(
                select(BankEntryRow.pdq, BankEntryRow.category).where(BankEntryRow.active.is_(True))
            ).all()
        )
        before = session.scalar(select(func.max(BankEntryRow.id))) or 0
        fresh = []
        for row in rows:
            if (row["pdq"], row["category"]) not in existing:
                existing.add((row["pdq"], row["category"]))
                fresh.append(row)
        # executemany, not one ORM object per record
        for start in range(0, len(fresh), _INSERT_BATCH):
            session.execute(insert(BankEntryRow), fresh[start : start + _INSERT_BATCH])
        if fresh:
            bump_version(session)
            new_ids = session.scalars(select(BankEntryRow.id).where(BankEntryRow.id > before))
            enqueue_retro(session, list(new_ids), "import")
    return len(fresh)


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
    path, text = _read(source)
    fmt = _format_of(path, fmt)
    url = ready_url(url)
    defaults = _Defaults(category, severity, source_name, added_by)
    inactive, errors, rows = 0, [], []
    for n, rec in _records(text, fmt):
        if not isinstance(rec, dict):
            errors.append((n, f"not a record: {rec}"))
            continue
        try:
            values = _row_values(rec, defaults)
        except (InvalidEntry, ValueError, TypeError) as exc:
            errors.append((n, str(exc)))
            continue
        if values is None:
            inactive += 1
        else:
            rows.append(values)
    added = _insert_new(url, rows)
    mark_stale(url)
    return ImportReport(added, inactive + len(rows) - added, tuple(errors))


def _export_text(records: list[dict], fmt: str) -> str:
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for rec in records:
            writer.writerow({k: "" if v is None else v for k, v in rec.items()})
        return buf.getvalue()
    if fmt == "txt":
        return "".join(rec["pdq"] + "\n" for rec in records)
    if fmt == "jsonl":
        return "".join(json.dumps(rec) + "\n" for rec in records)
    return json.dumps({"format": "aigc-bank/1", "entries": records}, indent=1) + "\n"


def export_entries(
    path, fmt: str | None = None, *, include_inactive: bool = False, url: str | None = None
) -> int:
    """Write the bank's hashes (never media or feature blobs); returns the entry count."""
    path = Path(path)
    fmt = _format_of(path, fmt)
    query = select(BankEntryRow).order_by(BankEntryRow.id)
    if not include_inactive:
        query = query.where(BankEntryRow.active.is_(True))
    with session_scope(ready_url(url)) as session:
        records = []
        for row in session.scalars(query):
            d = entry_of(row).to_dict()
            records.append({k: d[k] for k in EXPORT_FIELDS})
    path.write_text(_export_text(records, fmt), encoding="utf-8")
    return len(records)
