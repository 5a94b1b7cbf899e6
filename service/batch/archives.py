"""Safe extraction of .zip and .tar archives, which are hostile input.

Every member is written below one fresh temporary folder with O_EXCL and
O_NOFOLLOW, after its name was checked, and the bytes are counted while they
stream: a member's declared size can lie, so the limits hold for what is
actually written. A member that is refused becomes a `Skipped` with a reason
(the job records it as a per-file row); the archive as a whole is refused
only when it cannot be read at all.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import ArchiveError

_CHUNK = 1 << 16


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 100_000
    max_member_bytes: int = 200 * 1024 * 1024
    max_total_bytes: int = 4 * 1024 * 1024 * 1024
    # uncompressed / compressed; real media barely compresses, bombs do
    max_ratio: float = 100.0


@dataclass(frozen=True)
class Item:
    """One file to scan: `key` is what the report shows, `path` where to read it."""

    key: str
    path: str
    # who posted it, when the input names a creator (a list's creator_id column)
    creator_id: str | None = None


@dataclass(frozen=True)
class Skipped:
    key: str
    code: str
    message: str


@dataclass
class Extracted:
    root: Path
    items: list[Item] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class _Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class _Budget:
    """What is left of the total size allowance, shared by all members."""

    def __init__(self, limits: ArchiveLimits, archive_bytes: int):
        self.limits = limits
        self.archive_bytes = max(archive_bytes, 1)
        self.written = 0
        self.exhausted = False

    def charge(self, n: int) -> None:
        self.written += n
        if self.written > self.limits.max_total_bytes:
            self.exhausted = True
            raise _Refused(
                "archive.total_size_limit",
                f"the archive expands past the limit of {self.limits.max_total_bytes} bytes",
            )
        if self.written > self.archive_bytes * self.limits.max_ratio and self.written > _CHUNK * 16:
            self.exhausted = True
            raise _Refused(
                "archive.ratio_limit",
                f"the archive expands more than {self.limits.max_ratio:g} times its size",
            )


_NESTED_MAGIC = (
    (0, b"PK\x03\x04"),
    (0, b"PK\x05\x06"),
    (0, b"\x1f\x8b"),  # gzip
    (0, b"BZh"),
    (0, b"\xfd7zXZ\x00"),
    (0, b"7z\xbc\xaf\x27\x1c"),
    (0, b"Rar!\x1a\x07"),
    (257, b"ustar"),
)


def is_archive_head(head: bytes) -> bool:
    return any(head[off : off + len(magic)] == magic for off, magic in _NESTED_MAGIC)


def archive_kind(path: Path) -> str | None:
    """'zip' or 'tar' from the bytes (never the name), else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head[257:262] == b"ustar" or head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        return "tar"
    return None


def safe_member_name(name: str) -> PurePosixPath:
    """The member's relative path, or _Refused when it could land outside the folder."""
    if not name or "\x00" in name:
        raise _Refused("archive.bad_name", "empty or NUL-containing member name")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise _Refused("archive.absolute_path", f"absolute member path {name!r} refused")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise _Refused("archive.path_traversal", f"member path {name!r} climbs out of the archive")
    if not parts:
        raise _Refused("archive.bad_name", f"member name {name!r} names no file")
    return PurePosixPath(*parts)


def _write_member(
    root: Path, rel: PurePosixPath, src: BinaryIO, limits: ArchiveLimits, budget: _Budget
) -> Path:
    dest = root.joinpath(*rel.parts)
    # the name was checked already; resolving again guards against any folder
    # on the way being something other than a plain folder we made
    if not dest.resolve().is_relative_to(root.resolve()):
        raise _Refused("archive.path_traversal", f"member {str(rel)!r} resolves outside the folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    first = src.read(_CHUNK)
    if is_archive_head(first):
        raise _Refused("archive.nested", "nested archive: not expanded (scan it on its own)")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(dest, flags, 0o600)
    except FileExistsError as exc:
        raise _Refused("archive.duplicate", f"member {str(rel)!r} appears twice") from exc
    written = 0
    ok = False
    try:
        with os.fdopen(fd, "wb") as out:
            chunk = first
            while chunk:
                written += len(chunk)
                if written > limits.max_member_bytes:
                    raise _Refused(
                        "archive.member_size_limit",
                        f"member is larger than the limit of {limits.max_member_bytes} bytes",
                    )
                budget.charge(len(chunk))
                out.write(chunk)
                chunk = src.read(_CHUNK)
        ok = True
    finally:
        if not ok:
            with suppress(OSError):
                dest.unlink()
    return dest


def extract(
    archive: Path, limits: ArchiveLimits | None = None, into: Path | None = None
) -> Extracted:
    """Extract a zip or tar archive safely into a new temporary folder."""
    limits = limits or ArchiveLimits()
    kind = archive_kind(archive)
    if kind is None:
        raise ArchiveError(f"{archive} is not a zip or tar archive")
    root = Path(tempfile.mkdtemp(prefix="aigc-batch-", dir=into))
    result = Extracted(root=root)
    try:
        size = archive.stat().st_size
        members = _zip_members(archive, limits) if kind == "zip" else _tar_members(archive, limits)
        budget = _Budget(limits, size)
        for name, opener, problem in members:
            if budget.exhausted:
                result.skipped.append(
                    Skipped(name, "archive.total_size_limit", "not extracted: size limit reached")
                )
                continue
            try:
                if problem is not None:
                    raise problem
                rel = safe_member_name(name)
                if _hidden(rel):
                    continue  # .DS_Store, __MACOSX/: not media, as in a folder scan
                with opener() as src:
                    dest = _write_member(root, rel, src, limits, budget)
                result.items.append(Item(key=str(rel), path=str(dest)))
            except _Refused as refused:
                result.skipped.append(Skipped(name, refused.code, refused.message))
            except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, RuntimeError) as exc:
                # a corrupt or encrypted member: this one fails, the rest go on
                result.skipped.append(Skipped(name, "archive.bad_member", str(exc)))
    except ArchiveError:
        result.cleanup()
        raise
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        result.cleanup()
        raise ArchiveError(f"could not read the archive {archive.name}: {exc}") from exc
    result.items.sort(key=lambda it: it.key)
    return result


_Member = tuple[str, object, "_Refused | None"]


def _hidden(rel: PurePosixPath) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in rel.parts)


def _count(n: int, limits: ArchiveLimits) -> None:
    if n > limits.max_members:
        raise ArchiveError(f"the archive has more than {limits.max_members} members")


def _zip_members(archive: Path, limits: ArchiveLimits) -> Iterator[_Member]:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        _count(len(infos), limits)
        for info in infos:
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            problem = None
            if stat.S_ISLNK(mode):
                problem = _Refused("archive.link", "symbolic link member refused")
            elif info.flag_bits & 0x1:
                problem = _Refused("archive.encrypted", "encrypted member cannot be read")
            elif info.file_size > limits.max_member_bytes:
                problem = _Refused(
                    "archive.member_size_limit",
                    f"member declares {info.file_size} bytes, over {limits.max_member_bytes}",
                )
            elif info.file_size > max(info.compress_size, 1) * limits.max_ratio:
                problem = _Refused(
                    "archive.ratio_limit",
                    f"member expands {info.file_size / max(info.compress_size, 1):.0f} times "
                    f"(limit {limits.max_ratio:g})",
                )
            yield info.filename, (lambda info=info: zf.open(info)), problem


def _tar_members(archive: Path, limits: ArchiveLimits) -> Iterator[_Member]:
    with tarfile.open(archive, "r:*") as tf:
        n = 0
        for member in tf:
            n += 1
            _count(n, limits)
            if member.isdir():
                continue
            problem = None
            if member.issym() or member.islnk():
                problem = _Refused("archive.link", "symbolic or hard link member refused")
            elif not member.isfile():
                problem = _Refused("archive.special_file", "device, FIFO or other special member")
            elif member.size > limits.max_member_bytes:
                problem = _Refused(
                    "archive.member_size_limit",
                    f"member declares {member.size} bytes, over {limits.max_member_bytes}",
                )

            def opener(member=member):
                fh = tf.extractfile(member)
                if fh is None:
                    raise _Refused("archive.special_file", "member has no data")
                return fh

            yield member.name, opener, problem
