"""INPUT as a folder, an archive, a list of paths or a CSV; stable keys; confinement."""

from __future__ import annotations

import os
import zipfile

import pytest

from service.batch.errors import InputError
from service.batch.inputs import open_input

from .conftest import image_bytes, make_folder


def test_folder_is_walked_recursively_in_a_stable_order_without_hidden_files(tmp_path):
    keys = make_folder(tmp_path / "m", 5)
    (tmp_path / "m" / ".DS_Store").write_bytes(b"x")
    (tmp_path / "m" / ".git").mkdir()
    (tmp_path / "m" / ".git" / "obj.jpg").write_bytes(b"x")
    batch = open_input(tmp_path / "m")
    assert batch.kind == "folder"
    assert [it.key for it in batch.items] == keys
    assert all(os.path.isfile(it.path) for it in batch.items)


def test_text_list_resolves_relative_lines_and_ignores_comments_and_repeats(tmp_path):
    make_folder(tmp_path / "m", 2)
    (tmp_path / "elsewhere.jpg").write_bytes(image_bytes("moon"))
    listing = tmp_path / "lists" / "todo.txt"
    listing.parent.mkdir()
    listing.write_text(
        f"# takedown request 42\n../m/set0/000_astronaut.png\n\n{tmp_path}/elsewhere.jpg\n"
        "../m/set0/000_astronaut.png\nmissing.jpg\n"
    )
    batch = open_input(listing)
    assert batch.kind == "list"
    assert [it.key for it in batch.items] == [
        "../m/set0/000_astronaut.png",
        f"{tmp_path}/elsewhere.jpg",
        "missing.jpg",
    ]
    assert batch.items[0].path == str(tmp_path / "lists" / "../m/set0/000_astronaut.png")
    # a missing file is the worker's per-file error, not a refusal of the list
    assert batch.items[2].path == str(tmp_path / "lists" / "missing.jpg")


def test_csv_list_uses_its_path_column(tmp_path):
    listing = tmp_path / "accounts.csv"
    listing.write_text('account,path,notes\nacme,a.jpg,first\nbeta,b/c.png,"x, y"\n')
    assert [it.key for it in open_input(listing).items] == ["a.jpg", "b/c.png"]
    bare = tmp_path / "bare.csv"
    bare.write_text("a.jpg,1\nb.jpg,2\n")
    assert [it.key for it in open_input(bare).items] == ["a.jpg", "b.jpg"]


def test_archive_input_is_extracted_with_member_names_as_keys(tmp_path):
    archive = tmp_path / "upload.bin"  # the kind comes from the bytes, not the name
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/one.jpg", image_bytes("coffee"))
        zf.writestr("../bad.jpg", image_bytes("coffee"))
    batch = open_input(archive)
    try:
        assert batch.kind == "archive"
        assert [it.key for it in batch.items] == ["x/one.jpg"]
        assert [s.code for s in batch.skipped] == ["archive.path_traversal"]
    finally:
        batch.cleanup()
    assert not batch.extracted.root.exists()


def test_single_media_file_is_a_batch_of_one(tmp_path):
    path = tmp_path / "one.png"
    path.write_bytes(image_bytes("camera", "PNG"))
    batch = open_input(path)
    assert (batch.kind, [it.key for it in batch.items]) == ("file", ["one.png"])


def test_confinement_refuses_paths_and_links_outside_the_root(tmp_path):
    root = tmp_path / "root"
    make_folder(root / "m", 2)
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(image_bytes("moon"))
    os.symlink(outside, root / "m" / "link.jpg")
    batch = open_input(root / "m", confine_to=root)
    assert "link.jpg" not in [it.key for it in batch.items]
    assert len(batch.items) == 2
    with pytest.raises(InputError, match="outside"):
        open_input(root / ".." / "secret.jpg", confine_to=root)
    listing = root / "list.txt"
    listing.write_text(f"m/set0/000_astronaut.png\n{outside}\n../secret.jpg\n")
    batch = open_input(listing, confine_to=root)
    assert [it.key for it in batch.items] == ["m/set0/000_astronaut.png"]
    assert {s.code for s in batch.skipped} == {"outside_root"}


def test_missing_binary_and_undecodable_inputs_are_typed_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_input(tmp_path / "nope")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(InputError, match="not a folder"):
        open_input(blob)
    latin = tmp_path / "list.txt"
    latin.write_bytes("caf\xe9.jpg\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        open_input(latin)
