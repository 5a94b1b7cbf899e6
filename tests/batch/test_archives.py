"""Hostile archives: nothing is written outside the temporary folder, each refusal has a reason."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from service.batch.archives import ArchiveLimits, extract
from service.batch.errors import ArchiveError

from .conftest import image_bytes


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            if isinstance(data, zipfile.ZipInfo):
                zf.writestr(data, name)
            else:
                zf.writestr(name, data)
    return path


def _codes(result):
    return {s.key: s.code for s in result.skipped}


def test_zip_traversal_absolute_and_symlink_members_are_skipped(tmp_path):
    good = image_bytes("coffee")
    link = zipfile.ZipInfo("link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("photos/ok.jpg", good)
        zf.writestr("../escape.jpg", good)
        zf.writestr("a/../../escape2.jpg", good)
        zf.writestr("/tmp/absolute.jpg", good)
        zf.writestr("C:\\windows\\drive.jpg", good)
        zf.writestr(link, "/etc/passwd")
        zf.writestr("__MACOSX/._ok.jpg", b"junk")
    work = tmp_path / "work"
    work.mkdir()
    result = extract(archive, into=work)
    try:
        assert [it.key for it in result.items] == ["photos/ok.jpg"]
        assert Path(result.items[0].path).read_bytes() == good
        assert _codes(result) == {
            "../escape.jpg": "archive.path_traversal",
            "a/../../escape2.jpg": "archive.path_traversal",
            "/tmp/absolute.jpg": "archive.absolute_path",
            "C:\\windows\\drive.jpg": "archive.absolute_path",
            "link.jpg": "archive.link",
        }
        written = {p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file()}
        assert written == {f"{result.root.name}/photos/ok.jpg"}
        assert not (tmp_path / "escape.jpg").exists()
        assert not (tmp_path / "escape2.jpg").exists()
    finally:
        result.cleanup()
    assert not result.root.exists()


def test_tar_links_devices_and_traversal_are_skipped(tmp_path):
    good = image_bytes("astronaut")
    archive = tmp_path / "in.tar"
    with tarfile.open(archive, "w") as tf:

        def add(name, data=b"", **kw):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for k, v in kw.items():
                setattr(info, k, v)
            tf.addfile(info, io.BytesIO(data) if data else None)

        add("ok.jpg", good)
        add("../../up.jpg", good)
        add("/abs.jpg", good)
        add("sym.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add("hard.jpg", type=tarfile.LNKTYPE, linkname="ok.jpg")
        add("fifo", type=tarfile.FIFOTYPE)
        add("dev", type=tarfile.CHRTYPE)
    result = extract(archive, into=tmp_path)
    try:
        assert [it.key for it in result.items] == ["ok.jpg"]
        assert _codes(result) == {
            "../../up.jpg": "archive.path_traversal",
            "/abs.jpg": "archive.absolute_path",
            "sym.jpg": "archive.link",
            "hard.jpg": "archive.link",
            "fifo": "archive.special_file",
            "dev": "archive.special_file",
        }
        assert not (tmp_path.parent / "up.jpg").exists()
        assert not os.path.lexists(result.root / "sym.jpg")
    finally:
        result.cleanup()


def test_zip_bomb_member_is_refused_by_its_ratio(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", [("zeros.jpg", b"\0" * (8 << 20)), ("ok.jpg", b"x")])
    result = extract(archive, into=tmp_path)
    try:
        assert _codes(result) == {"zeros.jpg": "archive.ratio_limit"}
        assert [it.key for it in result.items] == ["ok.jpg"]
    finally:
        result.cleanup()


def test_total_size_limit_stops_extraction_and_skips_the_rest(tmp_path):
    members = [(f"{i}.bin", os.urandom(300_000)) for i in range(4)]
    archive = _zip(tmp_path / "big.zip", members)
    result = extract(archive, ArchiveLimits(max_total_bytes=700_000), into=tmp_path)
    try:
        assert [it.key for it in result.items] == ["0.bin", "1.bin"]
        assert _codes(result) == {
            "2.bin": "archive.total_size_limit",
            "3.bin": "archive.total_size_limit",
        }
        # the member that crossed the limit is not left half-written
        assert sorted(p.name for p in result.root.iterdir()) == ["0.bin", "1.bin"]
    finally:
        result.cleanup()


def test_gzip_tar_bomb_is_cut_off_while_streaming(tmp_path):
    # a tar's headers declare the true size, but gzip hides it until read:
    # the budget counts bytes as they are written
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("zeros.png")
        info.size = 16 << 20
        tf.addfile(info, io.BytesIO(b"\0" * info.size))
    assert archive.stat().st_size < 100_000
    result = extract(archive, into=tmp_path)
    try:
        assert _codes(result) == {"zeros.png": "archive.ratio_limit"}
        assert list(result.root.iterdir()) == []
    finally:
        result.cleanup()


def test_nested_archives_are_not_expanded(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep.jpg", image_bytes("coins"))
    tar_inner = io.BytesIO()
    with tarfile.open(fileobj=tar_inner, mode="w:gz") as tf:
        info = tarfile.TarInfo("x.jpg")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    archive = _zip(
        tmp_path / "outer.zip",
        [
            ("inner.zip", inner.getvalue()),
            ("renamed.jpg", tar_inner.getvalue()),
            ("ok.jpg", image_bytes("coins")),
        ],
    )
    result = extract(archive, into=tmp_path)
    try:
        assert _codes(result) == {"inner.zip": "archive.nested", "renamed.jpg": "archive.nested"}
        assert [it.key for it in result.items] == ["ok.jpg"]
    finally:
        result.cleanup()


def test_duplicate_member_names_keep_the_first(tmp_path):
    archive = tmp_path / "dup.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.jpg", b"first")
        zf.writestr("a.jpg", b"second")
    result = extract(archive, into=tmp_path)
    try:
        assert Path(result.items[0].path).read_bytes() == b"first"
        assert _codes(result) == {"a.jpg": "archive.duplicate"}
    finally:
        result.cleanup()


def test_corrupt_archive_and_too_many_members_are_refused_whole(tmp_path):
    good = _zip(tmp_path / "ok.zip", [(f"{i}.jpg", b"x") for i in range(5)])
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ArchiveError):
        extract(truncated, into=tmp_path)
    with pytest.raises(ArchiveError, match="more than 3 members"):
        extract(good, ArchiveLimits(max_members=3), into=tmp_path)
    # nothing is left behind by a refused archive
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("aigc-batch-")] == []
