"""The match signal end to end: bank in the database -> labeler.analyze -> MatchSignal."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import matching
from labeler import Engine, signal_match
from labeler.signals import MatchSignal
from service import bank as store
from service.db.bank import BankEntryRow, BankStateRow


def _jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _fresh_caches():
    signal_match.drop_caches()
    yield
    signal_match.drop_caches()


def test_read_contract_matches_the_service_tables():
    for reader, writer in (
        (signal_match.ENTRIES, BankEntryRow),
        (signal_match.STATE, BankStateRow),
    ):
        assert reader.name == writer.__tablename__
        assert set(reader.c.keys()) <= set(writer.__table__.c.keys())


def test_no_database_means_an_empty_bank_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    engine = Engine(bank=signal_match.bank_from_env())
    decision = engine.analyze(_jpeg(skdata.astronaut()), "a.jpg")
    assert MatchSignal.from_dict(decision.signals["match"]) == MatchSignal()
    assert not (tmp_path / "absent.db").exists()


def test_a_reupload_of_a_banked_deepfake_escalates():
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake", severity="high")
    store.add_entry(_jpeg(skdata.coffee(), 95), category="known_aigc")
    engine = Engine(bank=signal_match.bank_from_env())
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
    signal = signal_match.gather(_media(img), Engine(bank=signal_match.bank_from_env()))
    assert signal.matched and signal.stage == "local_features" and signal.hash_type == "orb"
    assert signal.category == "known_aigc"


def test_unrelated_uploads_do_not_match():
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake")
    engine = Engine(bank=signal_match.bank_from_env())
    for img in (skdata.coffee(), skdata.chelsea(), skdata.rocket()):
        signal = signal_match.gather(_media(img), engine)
        assert signal == MatchSignal()


def test_flat_uploads_are_flagged_low_quality():
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake")
    flat = np.full((200, 300, 3), 120, np.uint8)
    signal = signal_match.gather(_media(flat), Engine(bank=signal_match.bank_from_env()))
    assert signal.low_quality and not signal.matched


def test_near_band_is_reported_as_weak_evidence():
    bank = matching.Bank()
    hashes = matching.compute_hashes(skdata.astronaut())
    # an entry 36 bits from the upload: outside 31, inside the near band
    moved = bytearray(hashes.pdq)
    for i in range(36):
        moved[i // 8] ^= 0x80 >> (i % 8)
    bank.add("e2", pdq=bytes(moved), category="known_aigc")
    signal = signal_match.to_signal(bank.lookup(hashes))
    assert not signal.matched and signal.near_match
    assert signal.entry_id == "e2" and signal.distance == 36


def _media(rgb: np.ndarray):
    from labeler.media import decode

    return decode(_jpeg(rgb, 90), "x.jpg")
