"""Results under several threads and processes equal the single-threaded ones.

OpenCV algorithm objects (CLAHE, ORB) keep working buffers between calls; one
object shared by the scan threads once mixed two images' features, so a
banked fake re-uploaded during another scan was missed and bank entries added
meanwhile stored corrupted features. These tests run the real code paths
concurrently and compare byte for byte.
"""

from __future__ import annotations

import io
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import matching
import watermark
from labeler import Engine
from labeler.signals.watermark.keys import KeyRegistry, RegisteredKey
from matching.features import verify
from service import bank as store
from service.db import bank_source, session_scope
from service.db.bank import BankEntryRow

KEY = bytes(range(32))  # TEST-ONLY key


def _jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _images() -> list[np.ndarray]:
    # low-contrast (moon, microaneurysms) and textured images: CLAHE matters for the first
    grey = [skdata.moon(), skdata.camera(), skdata.microaneurysms()]
    rgb = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    return [np.stack([g] * 3, axis=-1) for g in grey] + rgb


def _blob(rgb: np.ndarray, coarse: bool) -> bytes:
    return matching.extract_features(rgb, coarse=coarse).to_blob()


def test_features_from_several_threads_equal_the_serial_ones():
    images = _images()
    tasks = [(i, c) for _ in range(12) for i in range(len(images)) for c in (False, True)]
    serial = {(i, c): _blob(images[i], c) for i in range(len(images)) for c in (False, True)}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: _blob(images[t[0]], t[1]), tasks))
    wrong = sum(r != serial[t] for t, r in zip(tasks, results, strict=True))
    assert wrong == 0, f"{wrong} of {len(tasks)} feature sets differ from the serial ones"


def test_verify_from_several_threads_equals_the_serial_result():
    images = _images()
    feats = [matching.extract_features(im) for im in images]
    queries = [matching.extract_features(im[20:-20, 30:], coarse=True) for im in images]
    pairs = [(q, e) for q in range(len(images)) for e in range(len(images))]
    serial = [verify(queries[q], feats[e]) for q, e in pairs]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            got = list(pool.map(lambda p: verify(queries[p[0]], feats[p[1]]), pairs))
            assert got == serial


def _uploads() -> list[tuple[str, bytes]]:
    astronaut, coffee, chelsea = skdata.astronaut(), skdata.coffee(), skdata.chelsea()
    marked = watermark.embed(np.ascontiguousarray(skdata.rocket()), bytes(8), KEY)
    return [
        ("banked_reupload.jpg", _jpeg(astronaut[:, ::-1], 60)),
        ("banked_crop.jpg", _jpeg(astronaut[40:-30, 25:], 75)),
        ("banked_other.jpg", _jpeg(coffee, 70)),
        ("plain.jpg", _jpeg(chelsea)),
        ("marked.jpg", _jpeg(marked, 90)),
        ("moon.png", _png(np.stack([skdata.moon()] * 3, axis=-1))),
    ]


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def _engine() -> Engine:
    registry = KeyRegistry((RegisteredKey("test-partner", "partner", "ai_generated", KEY),))
    return Engine(bank=bank_source.from_env(), watermark_keys=registry)


def _decide(name_data: tuple[str, bytes]) -> dict:
    name, data = name_data
    return _engine().analyze(data, name).to_dict()


@pytest.fixture
def banked():
    bank_source.drop_caches()
    store.add_entry(_jpeg(skdata.astronaut(), 95), category="misleading_deepfake", severity="high")
    store.add_entry(_jpeg(skdata.coffee(), 95), category="known_aigc")
    yield
    bank_source.drop_caches()


def _comparable(decision: dict) -> dict:
    return {k: v for k, v in decision.items() if k not in ("elapsed_ms", "decided_at")}


@pytest.mark.slow
def test_decisions_under_threads_and_processes_equal_the_serial_ones(banked):
    uploads = _uploads()
    serial = [_comparable(_decide(u)) for u in uploads]
    # the fixture's images must exercise what can go wrong: a hash match, a
    # second-stage (ORB) match, a watermark, and nothing
    actions = [d["action"] for d in serial]
    assert actions[0] == "escalate" and actions[1] == "escalate" and actions[3] == "none"
    assert serial[1]["signals"]["match"]["stage"] == "local_features"
    assert serial[4]["signals"]["watermark"]["detected"]
    many = uploads * 4
    with ThreadPoolExecutor(4) as pool:
        threaded = [_comparable(d) for d in pool.map(_decide, many)]
    with ProcessPoolExecutor(2) as pool:
        processes = [_comparable(d) for d in pool.map(_decide, many)]
    expected = serial * 4
    assert threaded == expected
    assert processes == expected


@pytest.mark.slow
def test_entries_added_during_concurrent_scans_store_the_serial_features(banked):
    sources = [skdata.chelsea(), skdata.rocket(), np.stack([skdata.moon()] * 3, axis=-1)]
    files = [_jpeg(rgb, 92) for rgb in sources]
    uploads = _uploads()

    def add(data: bytes) -> int:
        return store.add_entry(data, category="misleading_deepfake").id

    with ThreadPoolExecutor(4) as pool:
        scans = [pool.submit(_decide, u) for u in uploads * 2]
        added = list(pool.map(add, files))
        for s in scans:
            s.result()
    with session_scope() as session:
        stored = {row.id: row.features for row in session.query(BankEntryRow).all()}
    for entry_id, data in zip(added, files, strict=True):
        hashes, _sha = store.hash_media(data)
        assert stored[entry_id] == hashes.features.to_blob()
