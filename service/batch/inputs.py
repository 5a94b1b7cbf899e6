"""What a batch scans: a folder (recursive), a .zip/.tar archive, or a list of paths.

The kind comes from the bytes (an archive) or the file system (a folder);
anything else that is text is a list: one path per line, or a CSV with a
`path` column (else its first column). A single media file is a batch of one.
Keys (what reports show and what resumption matches on) are stable across
runs: relative to the folder, the archive member name, or the line as written.
A CSV list may also name who posted each file in a `creator_id` (or `creator`)
column; the report then counts distinct creators per near-duplicate group.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from labeler.media import sniff_mime

from .archives import ArchiveLimits, Extracted, Item, Skipped, archive_kind, extract
from .errors import InputError

MAX_LIST_BYTES = 512 * 1024 * 1024
_PATH_COLUMNS = ("path", "file", "filename", "filepath", "file_path")
_CREATOR_COLUMNS = ("creator_id", "creator", "account_id", "uploader_id")
MAX_CREATOR_ID = 128  # the result column's width


@dataclass
class BatchInput:
    kind: str  # folder | archive | list | file
    source: Path
    items: list[Item] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    extracted: Extracted | None = None

    def cleanup(self) -> None:
        if self.extracted is not None:
            self.extracted.cleanup()


def open_input(
    source: str | os.PathLike,
    *,
    confine_to: Path | None = None,
    archive_limits: ArchiveLimits | None = None,
    extract_into: Path | None = None,
) -> BatchInput:
    """Enumerate INPUT. `confine_to`: every file read must resolve below it (the API's root)."""
    path = Path(source).expanduser()
    root = confine_to.resolve() if confine_to is not None else None
    if root is not None:
        _check_inside(path, root, str(source))
    if not path.exists():
        raise InputError(f"{source}: no such file or folder")
    if path.is_dir():
        return BatchInput("folder", path.resolve(), items=list(_walk(path.resolve(), root)))
    if not os.access(path, os.R_OK):
        raise InputError(f"{source}: not readable")
    if archive_kind(path) is not None:
        extracted = extract(path, archive_limits, into=extract_into)
        return BatchInput(
            "archive",
            path.resolve(),
            items=extracted.items,
            skipped=extracted.skipped,
            extracted=extracted,
        )
    with open(path, "rb") as fh:
        head = fh.read(64)
    if sniff_mime(head) is not None:
        return BatchInput("file", path.resolve(), items=[Item(path.name, str(path.resolve()))])
    return _read_list(path, root)


def _check_inside(path: Path, root: Path, shown: str) -> None:
    if not path.resolve().is_relative_to(root):
        raise InputError(f"{shown}: outside the folder this service may read")


def _walk(folder: Path, root: Path | None):
    """Files below the folder in a stable order; hidden files and folders skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            if root is not None and not full.resolve().is_relative_to(root):
                continue  # a link out of the operator's root is not ours to read
            if not full.is_file():
                continue  # dangling links, sockets
            found.append(Item(full.relative_to(folder).as_posix(), str(full)))
    found.sort(key=lambda it: it.key)
    return found


def _read_list(path: Path, root: Path | None) -> BatchInput:
    if path.stat().st_size > MAX_LIST_BYTES:
        raise InputError(f"{path}: a list of paths larger than {MAX_LIST_BYTES} bytes")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(
            f"{path}: not a folder, a .zip/.tar archive, a supported media file or a list of paths"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: a list of paths must be UTF-8 text ({exc})") from exc
    if path.suffix.lower() == ".csv":
        lines = _csv_paths(text)
    else:
        lines = [(line, None) for line in _line_paths(text)]
    base = path.resolve().parent
    batch = BatchInput("list", path.resolve())
    seen: set[str] = set()
    for entry, creator in lines:
        if entry in seen:
            continue  # one row per (job, path): a repeated line is the same file
        seen.add(entry)
        target = Path(entry).expanduser()
        if not target.is_absolute():
            target = base / target
        if root is not None and not target.resolve().is_relative_to(root):
            batch.skipped.append(
                Skipped(entry, "outside_root", "outside the folder this service may read")
            )
            continue
        batch.items.append(Item(entry, str(target), creator))
    return batch


def _line_paths(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _csv_paths(text: str) -> list[tuple[str, str | None]]:
    """(path, creator id or None) per row."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    column = next((header.index(c) for c in _PATH_COLUMNS if c in header), None)
    creator = next((header.index(c) for c in _CREATOR_COLUMNS if c in header), None)
    if column is None:
        column, body = 0, rows
    else:
        body = rows[1:]
    out = []
    for r in body:
        if len(r) > column and r[column].strip():
            who = r[creator].strip() if creator is not None and len(r) > creator else ""
            if len(who) > MAX_CREATOR_ID:
                raise InputError(
                    f"creator id {who[:20]!r}...: longer than {MAX_CREATOR_ID} characters"
                )
            out.append((r[column].strip(), who or None))
    return out
