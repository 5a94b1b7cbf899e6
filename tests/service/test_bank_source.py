"""The match signal end to end: bank in the database -> service/db/bank_source.py ->
labeler.analyze -> MatchSignal."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import matching
from labeler import Engine
from labeler.signals import MatchSignal
from labeler.signals.match import to_signal
from service import bank as store
from service.db import bank_source
from service.db.bank import BankEntryRow


def _jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _fresh_caches():
    bank_source.drop_caches()
    yield
    bank_source.drop_caches()


def test_no_database_means_an_empty_bank_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    engine = Engine(bank=bank_source.from_env())
    decision = engine.analyze(_jpeg(skdata.astronaut()), "a.jpg")
    assert MatchSignal.from_dict(decision.signals["match"]) == MatchSignal()
    assert not (tmp_path / "absent.db").exists()


def test_a_reupload_of_a_banked_deepfake_escalates():
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake", severity="high")
    store.add_entry(_jpeg(skdata.coffee(), 95), category="known_aigc")
    engine = Engine(bank=bank_source.from_env())
    reupload = np.ascontiguousarray(skdata.astronaut()[:, ::-1])  # mirrored and re-encoded
    decision = engine.analyze(_jpeg(reupload, 60), "reupload.jpg")
    match = MatchSignal.from_dict(decision.signals["match"])
    assert match.matched and match.category == "misleading_deepfake"
    assert match.hash_type == "pdq_dihedral" and match.stage == "hash"
    assert match.severity == "high" and match.distance <= 31
    assert decision.action == "escalate"


def test_a_captioned_crop_is_found_by_the_second_stage():
    store.add_entry(_jpeg(skdata.coffee(), 95), category="known_aigc")
    img = skdata.coffee()[30:-30, 40:-40].copy()
    img[: img.shape[0] // 7] = 255  # a caption bar over the top seventh
    signal = Engine(bank=bank_source.from_env()).signal("match").gather(_media(img))
    assert signal.matched and signal.stage == "local_features" and signal.hash_type == "orb"
    assert signal.category == "known_aigc"


def test_unrelated_uploads_do_not_match():
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake")
    engine = Engine(bank=bank_source.from_env())
    for img in (skdata.coffee(), skdata.chelsea(), skdata.rocket()):
        signal = engine.signal("match").gather(_media(img))
        assert len(signal.query_pdq) == 64  # carried for the audit row
        assert dataclasses.replace(signal, query_pdq=None) == MatchSignal()


def test_flat_uploads_are_flagged_low_quality():
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake")
    flat = np.full((200, 300, 3), 120, np.uint8)
    signal = Engine(bank=bank_source.from_env()).signal("match").gather(_media(flat))
    assert signal.low_quality and not signal.matched


def test_near_band_is_reported_as_weak_evidence():
    bank = matching.Bank()
    hashes = matching.compute_hashes(skdata.astronaut())
    # an entry 36 bits from the upload: outside 31, inside the near band
    moved = bytearray(hashes.pdq)
    for i in range(36):
        moved[i // 8] ^= 0x80 >> (i % 8)
    bank.add("e2", pdq=bytes(moved), category="known_aigc")
    signal = to_signal(bank.lookup(hashes))
    assert not signal.matched and signal.near_match
    assert signal.entry_id == "e2" and signal.distance == 36


def _media(rgb: np.ndarray):
    from labeler.media import decode

    return decode(_jpeg(rgb, 90), "x.jpg")


def _per_entry_bank(url: str) -> matching.Bank:
    """The reference: every active row through Bank.add, one by one (the old load path)."""
    from sqlalchemy import create_engine, select

    c = bank_source.ENTRIES.c
    bank = matching.Bank()
    with create_engine(url).connect() as conn:
        rows = conn.execute(
            select(c.id, c.pdq, c.pdq_unboxed, c.phash, c.features, c.category, c.severity)
            .where(c.active.is_(True))
            .order_by(c.id)
        ).all()
    for eid, pdq, unboxed, phash, blob, category, severity in rows:
        try:
            features = matching.LocalFeatures.from_blob(blob) if blob else None
        except matching.InvalidFeatures:
            features = None
        try:
            pdq = matching.from_hex(pdq)
        except matching.InvalidHash:
            continue
        for name, value, n in (("unboxed", unboxed, 32), ("phash", phash, 8)):
            try:
                value = matching.from_hex(value, n) if value else None
            except matching.InvalidHash:
                value = None  # the bulk path keeps the entry and drops the bad hash
            if name == "unboxed":
                unboxed = value
            else:
                phash = value
        bank.add(
            str(eid),
            pdq=pdq,
            pdq_unboxed=unboxed,
            phash=phash,
            features=features,
            category=category,
            severity=severity,
        )
    return bank


def test_a_loaded_bank_has_its_second_stage_index_built_before_any_lookup():
    from service.db.base import database_url

    store.add_entry(_jpeg(skdata.coffee(), 95), category="known_aigc")
    bank, _ = bank_source.load_bank(database_url())
    # built while loading (a rebuild runs on a thread of its own), so the
    # first upload after a bank change does not wait for it
    assert bank._features._votes is not None


def test_bulk_load_answers_like_adding_entries_one_by_one():
    from service.db.base import database_url, session_scope

    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    store.add_entry(_jpeg(skdata.coffee(), 95), category="known_aigc", severity="high")
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake")
    cats = ("misleading_deepfake", "known_aigc", "operator_x")
    with session_scope() as session:
        for i, code in enumerate(codes):
            session.add(
                BankEntryRow(
                    category=cats[i % 3],
                    severity=("low", None)[i % 2],
                    pdq=bytes(code).hex(),
                    pdq_unboxed=bytes(codes[-1 - i]).hex() if i % 7 == 0 else None,
                    phash=bytes(code[:8]).hex() if i % 5 == 0 else "",
                    active=i % 11 != 0,
                )
            )
        # hand-edited rows: a bad PDQ drops the entry, a bad pHash or blob only that part
        session.add(BankEntryRow(category="known_aigc", pdq="zz" * 32))
        session.add(BankEntryRow(category="known_aigc", pdq="ab" * 31))
        session.add(BankEntryRow(category="known_aigc", pdq="cd" * 32, phash="xyz"))
        session.add(BankEntryRow(category="known_aigc", pdq="ef" * 32, features=b"ORB1junk"))
        from service.bank.store import bump_version

        bump_version(session)
    store.remove_entry(1)  # coffee: its features leave the second stage

    bulk, version = bank_source.load_bank(database_url())
    ref = _per_entry_bank(database_url())
    assert version >= 2 and len(bulk) == len(ref) == 1 + 3000 - 273 + 2
    assert bulk.wants_features and "1" not in bulk and "2" in bulk
    for i in rng.choice(len(codes), 60, replace=False):
        q = bytearray(codes[i].tobytes())
        for bit in rng.choice(256, int(rng.integers(0, 40)), replace=False):
            q[bit // 8] ^= 0x80 >> (bit % 8)
        for radius in (31, 64):
            assert bulk.lookup_pdq(bytes(q), radius) == ref.lookup_pdq(bytes(q), radius)
    for pdq in ("cd" * 32, "ef" * 32, bytes(codes[-1]).hex()):
        assert bulk.lookup_pdq(pdq) == ref.lookup_pdq(pdq) != []
    for img in (skdata.astronaut()[40:-40, 60:-60], skdata.coffee()[:, ::-1]):
        h = matching.compute_hashes(img, features=True)
        assert bulk.lookup(h) == ref.lookup(h)


def _observe_in_process(monkeypatch, engine, data: bytes, filename: str):
    """The service's analysis step in this process, so that calls can be counted here.

    In the service it runs in an analysis process, which gets its engine (without
    the bank) as a context value, and the bank lookup completes it in the worker.
    """
    from service.app import analysis, isolation

    monkeypatch.setitem(isolation._state, "engine", engine.for_analysis())
    shapes = engine.shapes("image")
    observed = analysis.observe_upload(data, filename, shapes)
    return observed, engine.finish(observed.observation).signals


def test_the_audit_hash_comes_from_the_match_signal_not_a_second_hashing(monkeypatch):
    from service.app import analysis

    store.add_entry(_jpeg(skdata.coffee(), 95), category="known_aigc")
    engine = Engine(bank=bank_source.from_env())
    upload = _jpeg(skdata.astronaut(), 85)
    calls = []
    hash_once = analysis.perceptual_hash
    monkeypatch.setattr(analysis, "perceptual_hash", lambda rgb: calls.append(1) or hash_once(rgb))
    observed, signals = _observe_in_process(monkeypatch, engine, upload, "a.jpg")
    match = signals.match
    # the audit row's PDQ is the match signal's, and it is the frame's plain PDQ
    assert calls == [] and observed.perceptual_hash == match.query_pdq
    frame = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"))
    assert match.query_pdq == matching.compute_hashes(frame, strip_bars=False).pdq_hex


def test_with_an_empty_bank_the_audit_still_hashes_the_upload(tmp_path, monkeypatch):

    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    engine = Engine(bank=bank_source.from_env())
    observed, signals = _observe_in_process(monkeypatch, engine, _jpeg(skdata.astronaut()), "a.jpg")
    assert signals.match is None or signals.match.query_pdq is None
    assert len(observed.perceptual_hash) == 64


def test_labeler_analyze_alone_finds_the_bank_of_the_environment(tmp_path):
    """A fresh interpreter that imports only labeler: the bank comes through the entry point."""
    import os
    import subprocess
    import sys

    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake", severity="high")
    upload = tmp_path / "reupload.jpg"
    upload.write_bytes(_jpeg(skdata.astronaut(), 60))
    script = (
        "import sys, labeler\n"
        "assert not any(m == 'service' or m.startswith('service.') for m in sys.modules)\n"
        "assert 'sqlalchemy' not in sys.modules\n"
        f"d = labeler.analyze(open({str(upload)!r}, 'rb').read(), 'reupload.jpg')\n"
        "print(d.action, d.signals['match']['matched'], d.signals['match']['category'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["escalate", "True", "misleading_deepfake"]
