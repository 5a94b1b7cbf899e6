"""The bank store on a real SQLite file: entries, soft delete, import/export, refresh."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import matching
from service import bank as store
from service.db import bank_source


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def astronaut_png() -> bytes:
    return _png(skdata.astronaut())


@pytest.fixture(autouse=True)
def _fresh_caches():
    store.drop_index_caches()
    yield
    store.drop_index_caches()


def test_add_from_media_stores_every_hash(astronaut_png):
    entry = store.add_entry(
        astronaut_png, category="misleading_deepfake", severity="high", source="fact_checker"
    )
    assert entry.id >= 1 and entry.active
    assert len(entry.pdq) == 64 and entry.pdq_quality >= 50
    assert entry.phash and entry.has_features
    assert store.get_entry(entry.id).pdq == entry.pdq
    assert store.bank_version() == 1


def test_bad_inputs_are_typed_errors(astronaut_png):
    with pytest.raises(store.InvalidEntry):
        store.add_entry(pdq_hex="xyz", category="known_aigc")
    with pytest.raises(store.InvalidEntry):
        store.add_entry(pdq_hex="0" * 64, category="bad category!")
    with pytest.raises(store.InvalidEntry):
        store.add_entry(pdq_hex="0" * 64, category="known_aigc", severity="apocalyptic")
    with pytest.raises(store.InvalidMedia):
        store.add_entry(b"not an image at all", category="known_aigc")
    with pytest.raises(store.LowQuality):
        store.add_entry(_png(np.full((64, 64, 3), 90, np.uint8)), category="known_aigc")
    store.add_entry(astronaut_png, category="known_aigc")
    with pytest.raises(store.DuplicateEntry) as err:
        store.add_entry(astronaut_png, category="known_aigc")
    assert err.value.http_status == 409
    with pytest.raises(store.EntryNotFound):
        store.remove_entry(999)


def test_list_filters_and_pages():
    for i in range(5):
        store.add_entry(pdq_hex=f"{i:064x}", category="known_aigc" if i % 2 else "custom_cat")
    page = store.list_entries(category="custom_cat", per_page=2)
    assert page.total == 3 and len(page.items) == 2
    assert [e.category for e in page.items] == ["custom_cat", "custom_cat"]
    assert store.list_entries(per_page=2, page=3).items[0].id == 1  # newest first


def test_soft_delete_keeps_the_row_and_leaves_the_index(astronaut_png):
    entry = store.add_entry(astronaut_png, category="misleading_deepfake")
    cache = store.index_cache()
    assert store.hma_lookup("pdq", entry.pdq) == {
        "misleading_deepfake": [{"bank_content_id": entry.id, "distance": "0"}]
    }
    removed = store.remove_entry(entry.id, removed_by="reviewer")
    assert not removed.active and removed.removed_by == "reviewer"
    assert len(cache.refresh()) == 0
    assert store.hma_lookup("pdq", entry.pdq) == {}
    assert store.list_entries().total == 0
    assert store.list_entries(active=None).total == 1


def _eventually(cache, entries: int, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while len(cache.current()) != entries and time.monotonic() < deadline:
        time.sleep(0.02)
    return cache.current()


def test_index_refreshes_when_another_writer_changes_the_bank():
    # a cache of its own: the shared one is this process's, which store calls mark stale
    cache = store.BankIndexCache(check_interval=0.0)
    assert len(cache.current()) == 0 and cache.version == 0
    store.add_entry(pdq_hex="ab" * 32, category="known_aigc")
    bank = _eventually(cache, 1)
    assert len(bank) == 1 and cache.version == 1
    assert cache.current() is bank  # unchanged version: no rebuild
    store.add_entry(pdq_hex="cd" * 32, category="known_aigc")
    assert len(_eventually(cache, 2)) == 2


def test_uploads_go_on_with_the_old_bank_while_another_writers_change_is_built(monkeypatch):
    cache = store.BankIndexCache(check_interval=0.0)
    old = cache.current()
    store.add_entry(pdq_hex="ab" * 32, category="known_aigc")
    gate, building = threading.Event(), threading.Event()
    real_load = bank_source.load_bank

    def held_load(*args, **kwargs):
        building.set()
        gate.wait(20)  # a rebuild of seconds at 10^6 entries, held until the test lets go
        return real_load(*args, **kwargs)

    monkeypatch.setattr(bank_source, "load_bank", held_load)
    assert cache.current() is old  # did not wait for the build it started
    assert building.wait(20)
    assert cache.current() is old and len(old) == 0  # still building: the old bank serves
    gate.set()
    assert len(_eventually(cache, 1)) == 1 and cache.version == 1


def test_this_process_reads_its_own_write_at_once(monkeypatch):
    cache = store.index_cache()
    assert len(cache.current()) == 0
    store.add_entry(pdq_hex="ab" * 32, category="known_aigc")  # marks this process's cache
    assert len(cache.current()) == 1  # no background wait: the next lookup sees the entry


def test_lookup_pdq_hex_is_exact_at_the_radius():
    base = bytes(32)
    near = bytearray(base)
    near[0] = 0xFF
    near[1] = 0xFF
    near[2] = 0xFF
    near[3] = 0x7F  # 31 bits set
    far = bytearray(near)
    far[4] = 0x01  # 32 bits
    store.add_entry(pdq_hex=bytes(near).hex(), category="known_aigc")
    store.add_entry(pdq_hex=bytes(far).hex(), category="known_aigc")
    found = store.lookup_pdq_hex(base.hex())
    assert [(m.entry_id, m.distance) for m in found] == [("1", 31)]
    with pytest.raises(store.InvalidEntry):
        store.lookup_pdq_hex("00")
    with pytest.raises(store.InvalidEntry):
        store.hma_lookup("md5", base.hex())


def test_import_export_round_trip(tmp_path):
    hexes = [f"{i:02x}" * 32 for i in (1, 2, 3)]
    src = tmp_path / "hma.csv"
    src.write_text("\n".join(hexes) + "\nnot-a-hash\n")  # a bare HMA/ThreatExchange list
    report = store.import_entries(src, category="known_aigc", source_name="partner")
    assert report.added == 3 and report.errors == ((4, report.errors[0][1]),)
    assert "PDQ hash" in report.errors[0][1]
    again = store.import_entries(src, category="known_aigc")
    assert again.added == 0 and again.skipped == 3  # importing twice is safe
    for fmt in ("csv", "json", "jsonl", "txt"):
        out = tmp_path / f"bank.{fmt}"
        assert store.export_entries(out) == 3
        if fmt == "json":
            assert json.loads(out.read_text())["format"] == "aigc-bank/1"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    report = store.import_entries(tmp_path / "bank.csv", url=other)
    assert report.added == 3 and not report.errors
    rows = store.list_entries(url=other).items
    assert sorted(e.pdq for e in rows) == sorted(hexes)
    assert {e.category for e in rows} == {"known_aigc"} and {e.source for e in rows} == {"partner"}


def test_import_rejects_unusable_files(tmp_path):
    bad = tmp_path / "bank.json"
    bad.write_text("{not json")
    with pytest.raises(store.InvalidEntry):
        store.import_entries(bad)
    with pytest.raises(store.InvalidEntry):
        store.import_entries(tmp_path / "bank.xml")
    report = store.import_entries('[{"pdq": "' + "0" * 64 + '"}]', "json")
    assert report.added == 0 and "category" in report.errors[0][1]


def test_missing_database_is_an_empty_bank(tmp_path):
    url = f"sqlite:///{tmp_path / 'nothing-here.db'}"
    bank, version = store.load_bank(url)
    assert version == 0 and len(bank) == 0
    assert not (tmp_path / "nothing-here.db").exists()
    assert isinstance(bank, matching.Bank)


def test_cli_round_trip(tmp_path, astronaut_png):
    from typer.testing import CliRunner

    from service.cli import app

    runner = CliRunner()
    image = tmp_path / "fake.png"
    image.write_bytes(astronaut_png)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff not really")

    res = runner.invoke(
        app, ["bank", "add", str(image), str(junk), "-c", "misleading_deepfake", "--json"]
    )
    assert res.exit_code == 1  # one file failed, the other was added
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows[0]["category"] == "misleading_deepfake" and rows[0]["id"] == 1
    assert rows[1]["error"]["code"] == "unsupported_media"

    assert runner.invoke(app, ["bank", "add", str(image), "-c", "no spaces"]).exit_code == 2
    res = runner.invoke(app, ["bank", "add", "--pdq", "12" * 32, "-c", "known_aigc"])
    assert res.exit_code == 0, res.output

    res = runner.invoke(app, ["bank", "list", "--json"])
    assert [json.loads(x)["id"] for x in res.stdout.splitlines()] == [2, 1]

    res = runner.invoke(app, ["bank", "lookup", str(image), "--json"])
    hit = json.loads(res.stdout.splitlines()[0])
    assert hit["entry_id"] == "1" and hit["distance"] == 0 and not hit["near"]

    export = tmp_path / "bank.jsonl"
    assert runner.invoke(app, ["bank", "export", str(export)]).exit_code == 0
    assert len(export.read_text().splitlines()) == 2

    assert runner.invoke(app, ["bank", "remove", "1"]).exit_code == 0
    assert runner.invoke(app, ["bank", "remove", "1"]).exit_code == 1
    assert runner.invoke(app, ["bank", "remove", "abc"]).exit_code == 2
    res = runner.invoke(app, ["bank", "list", "--json"])
    assert [json.loads(x)["id"] for x in res.stdout.splitlines()] == [2]

    res = runner.invoke(app, ["bank", "import", str(export)])
    assert res.exit_code == 0 and "imported 1, skipped 1" in res.stdout
