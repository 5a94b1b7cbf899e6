"""Recovery: the platform's mark -> the manifest repository -> the fingerprint check."""

from __future__ import annotations

import io
import secrets

import numpy as np
import pytest
from PIL import Image

import matching
import watermark
from labeler import Engine
from labeler.signals.watermark import RegisteredKey
from labeler.stores import InMemoryRepository, StoredRendition
from matching import aligned


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _reshare(rgb: np.ndarray) -> bytes:
    """A social re-share: the long side down to 720 px, JPEG 75, no metadata."""
    image = Image.fromarray(rgb)
    scale = 720 / max(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=75)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    astronaut = np.asarray(Image.fromarray(data.astronaut()).resize((1024, 1024)))
    cat = np.asarray(Image.fromarray(data.chelsea()).resize((1024, 768)))
    return astronaut, cat


@pytest.fixture(scope="module")
def platform():
    # a throw-away TEST key, made per run
    return RegisteredKey("platform-test", "this platform", "platform", secrets.token_bytes(32))


def _record(
    rendition: np.ndarray, durable_id: bytes, ai_class="ai_generated", upload=None
) -> StoredRendition:
    hashes = matching.compute_hashes(rendition, features=True)
    return StoredRendition(
        durable_id=durable_id.hex(),
        manifest_id="urn:c2pa:test",
        ai_class=ai_class,
        label=ai_class,
        origin="Content Credentials signed by a test generator",
        pdq=hashes.pdq_hex,
        pdq_unboxed=hashes.pdq_unboxed_hex,
        phash=hashes.phash_hex,
        features=hashes.features.to_blob(),
        thumbnail=aligned.thumbnail_blob(upload) if upload is not None else None,
    )


@pytest.fixture(scope="module")
def marked(photos, platform):
    durable_id = secrets.token_bytes(8)
    rendition = watermark.embed(photos[0], durable_id, platform.key)
    repo = InMemoryRepository()
    repo.add(_record(rendition, durable_id))
    return rendition, durable_id, repo


def test_a_stripped_reshare_is_labelled_through_the_recovered_credentials(marked, platform):
    rendition, durable_id, repo = marked
    engine = Engine(platform_key=platform, repository=repo)
    analysis = engine.run(_reshare(rendition), "reshare.jpg")
    value = analysis.signals.recovered
    assert value.mark_found and value.recovered and value.durable_id == durable_id.hex()
    assert value.ai_class == "ai_generated" and value.fingerprint in ("hash", "local_features")
    decision = analysis.decision
    assert decision.action == "label" and decision.label == "ai_generated"
    assert decision.label_source == "recovered"
    assert "c2pa.recovered" in decision.reason_codes
    # the platform's key alone is the watermark signal's key list: its mark is no AI signal
    assert analysis.signals.watermark.detected and analysis.signals.watermark.meaning == "platform"


def test_a_copied_mark_on_another_picture_recovers_nothing(marked, photos, platform):
    rendition, durable_id, repo = marked
    residual = rendition.astype(np.float32) - photos[0].astype(np.float32)
    other = photos[1]
    h, w = other.shape[:2]
    pasted = np.clip(np.rint(other + residual[:h, :w, :]), 0, 255).astype(np.uint8)
    engine = Engine(platform_key=platform, repository=repo)
    analysis = engine.run(_jpeg(pasted), "copy.jpg")
    value = analysis.signals.recovered
    if not value.mark_found:
        pytest.skip("the cropped residual no longer carries a readable mark")
    assert value.record_found and value.mismatch and not value.recovered
    assert value.ai_class is None
    assert analysis.decision.action == "none" and analysis.decision.label is None
    assert analysis.decision.reason_codes == ("c2pa.recovered_mismatch",)


def test_an_unmarked_upload_reads_as_no_mark(photos, platform):
    engine = Engine(platform_key=platform, repository=InMemoryRepository())
    analysis = engine.run(_jpeg(photos[1]), "plain.jpg")
    assert analysis.signals.recovered is not None
    assert not analysis.signals.recovered.mark_found
    assert analysis.decision.reason_codes == ("no_signal",)


def test_a_mark_without_a_record_is_reported_but_recovers_nothing(platform, photos):
    rendition = watermark.embed(photos[0], secrets.token_bytes(8), platform.key)
    analysis = Engine(platform_key=platform, repository=InMemoryRepository()).run(_jpeg(rendition))
    value = analysis.signals.recovered
    assert value.mark_found and not value.record_found and not value.recovered
    assert analysis.decision.action == "none"


def test_the_scan_detects_the_platform_mark_once(marked, platform, monkeypatch):
    rendition, _id, repo = marked
    calls = []
    real = watermark.detect_keys

    def counting(frames, keys, **kw):
        calls.append(len(keys))
        return real(frames, keys, **kw)

    monkeypatch.setattr(watermark, "detect_keys", counting)
    engine = Engine(platform_key=platform, repository=repo)
    engine.run(_jpeg(rendition), "r.jpg")
    assert calls == [1]  # one pass, one key: recovery read the watermark signal's result


def test_no_platform_key_means_no_recovery_signal(photos):
    analysis = Engine().run(_jpeg(photos[1]), "plain.jpg")
    assert analysis.signals.recovered is None
    assert "recovered" in analysis.decision.to_dict()["signals"]


def _top_right_quarter(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[: h // 2, w - w // 2 :])


@pytest.fixture(scope="module")
def rocket(platform):
    from skimage import data

    upload = np.asarray(Image.fromarray(data.rocket()).resize((1024, 683)))
    durable_id = secrets.token_bytes(8)
    rendition = watermark.embed(upload, durable_id, platform.key)
    return upload, rendition, durable_id


def test_a_crop_too_bare_for_local_features_is_recovered_through_the_aligned_thumbnail(
    rocket, platform
):
    upload, rendition, durable_id = rocket
    crop = _png(_top_right_quarter(rendition))  # sky and a little of the tower
    without = InMemoryRepository()
    without.add(_record(rendition, durable_id))
    value = Engine(platform_key=platform, repository=without).run(crop, "c.png").signals.recovered
    assert value.mark_found and value.mismatch  # the local-feature stage alone misses it
    repo = InMemoryRepository()
    repo.add(_record(rendition, durable_id, upload=upload))
    analysis = Engine(platform_key=platform, repository=repo).run(crop, "crop.png")
    value = analysis.signals.recovered
    assert value.recovered and value.fingerprint == "aligned"
    assert analysis.decision.label == "ai_generated"
    assert "c2pa.recovered" in analysis.decision.reason_codes


def test_a_copied_mark_on_a_corner_of_another_picture_is_refused_by_the_thumbnail(
    rocket, photos, platform
):
    upload, rendition, durable_id = rocket
    residual = rendition.astype(np.float32) - upload.astype(np.float32)
    h, w = residual.shape[:2]
    host = np.asarray(Image.fromarray(photos[0]).resize((w, h))).astype(np.float32)
    pasted = np.clip(np.rint(host + residual), 0, 255).astype(np.uint8)
    repo = InMemoryRepository()
    repo.add(_record(rendition, durable_id, upload=upload))
    engine = Engine(platform_key=platform, repository=repo)
    value = engine.run(_png(_top_right_quarter(pasted)), "copy.png").signals.recovered
    assert value.mark_found and value.mismatch and not value.recovered


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()
