"""The watermark signal end to end: key registry -> analyze -> WatermarkSignal -> decision."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import watermark
from labeler import Engine, WatermarkSignal, analyze, reset_default_engine
from labeler.config import EngineConfig
from labeler.signals.watermark.keys import WatermarkKeyError, load_registry, read_key_file

# test keys, named as such: never used outside tests
GEN_TEST_KEY = bytes(range(32))
PLATFORM_TEST_KEY = bytes(range(100, 132))
PAYLOAD = bytes.fromhex("00c0ffee00000042")


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return cv2.resize(skdata.astronaut(), (640, 640), interpolation=cv2.INTER_AREA)


@pytest.fixture
def registry_file(tmp_path, monkeypatch):
    (tmp_path / "gen.key").write_text(GEN_TEST_KEY.hex() + "\n")
    monkeypatch.setenv("PLATFORM_WM_KEY", PLATFORM_TEST_KEY.hex())
    path = tmp_path / "keys.yaml"
    path.write_text(
        "keys:\n"
        "  - {id: imagegen-1, owner: ImageGen Inc., meaning: ai_generated, key_file: gen.key}\n"
        "  - {id: platform-1, owner: Our platform, meaning: platform, key_env: PLATFORM_WM_KEY}\n"
    )
    return path


def test_registry_loads_yaml_and_json(registry_file, tmp_path):
    reg = load_registry(registry_file)
    assert [k.key_id for k in reg.keys] == ["imagegen-1", "platform-1"]
    assert reg.get("imagegen-1").key == GEN_TEST_KEY
    assert reg.get("platform-1").key == PLATFORM_TEST_KEY
    assert "key=" not in repr(reg.get("imagegen-1"))  # secrets stay out of logs
    as_json = tmp_path / "keys.json"
    as_json.write_text(
        json.dumps(
            {"keys": [{"id": "g", "owner": "G", "meaning": "ai_edited", "key_file": "gen.key"}]}
        )
    )
    assert load_registry(as_json).get("g").meaning == "ai_edited"


@pytest.mark.parametrize(
    "body, message",
    [
        ("keys: 3\n", "'keys' list"),
        ("keys:\n  - {id: a, owner: A, meaning: nonsense, key_file: gen.key}\n", "meaning"),
        ("keys:\n  - {id: a, owner: A, meaning: platform}\n", "exactly one"),
        ("keys:\n  - {id: a, owner: A, meaning: platform, key_file: missing.key}\n", "not exist"),
        (
            "keys:\n  - {id: a, owner: A, meaning: platform, key_env: NOT_SET_ANYWHERE_X}\n",
            "not set",
        ),
        ("keys:\n  - {id: a, owner: A, meaning: platform, key_file: short.key}\n", "at least 16"),
        ("keys:\n  - {id: a, owner: A, meaning: platform, key_file: nothex.key}\n", "hex"),
        (
            "keys:\n  - {id: a, owner: A, meaning: platform, key_file: gen.key, color: red}\n",
            "unknown",
        ),
        ("keys: [\n", "not valid"),
    ],
)
def test_bad_registries_are_typed_errors(tmp_path, body, message):
    (tmp_path / "gen.key").write_text(GEN_TEST_KEY.hex())
    (tmp_path / "short.key").write_text("00ff")
    (tmp_path / "nothex.key").write_text("this is not hex at all, sorry!!!")
    path = tmp_path / "keys.yaml"
    path.write_text(body)
    with pytest.raises(WatermarkKeyError, match=message):
        load_registry(path)


def test_no_registry_means_no_signal(monkeypatch, photo):
    monkeypatch.delenv("AIGC_WATERMARK_KEYS", raising=False)
    assert EngineConfig.from_env().watermark_keys is None
    decision = Engine().analyze(_jpeg(photo), "a.jpg")
    assert decision.signals["watermark"] is None


def test_ai_generator_mark_labels_the_upload(registry_file, monkeypatch, photo):
    monkeypatch.setenv("AIGC_WATERMARK_KEYS", str(registry_file))
    reset_default_engine()
    try:
        marked = watermark.embed(photo, PAYLOAD, GEN_TEST_KEY)
        decision = analyze(_jpeg(marked, 80), "generated.jpg")
        plain = analyze(_jpeg(photo, 80), "photo.jpg")
    finally:
        reset_default_engine()
    signal = WatermarkSignal.from_dict(decision.signals["watermark"])
    assert signal.detected and signal.key_id == "imagegen-1"
    assert signal.owner == "ImageGen Inc." and signal.meaning == "ai_generated"
    assert signal.payload_hex == PAYLOAD.hex() and signal.p_value <= 1e-9
    assert decision.action == "label" and decision.label == "ai_generated"
    assert "watermark.detected" in [r.code for r in decision.reasons]
    assert WatermarkSignal.from_dict(plain.signals["watermark"]).detected is False
    assert "watermark.detected" not in [r.code for r in plain.reasons]


def test_platform_mark_is_reported_but_is_no_ai_label(registry_file, photo):
    engine = Engine(watermark_keys=load_registry(registry_file))
    decision = engine.analyze(_jpeg(watermark.embed(photo, PAYLOAD, PLATFORM_TEST_KEY)), "p.jpg")
    signal = WatermarkSignal.from_dict(decision.signals["watermark"])
    assert signal.detected and signal.key_id == "platform-1" and signal.meaning == "platform"
    assert decision.label is None


def test_small_images_are_not_checked_but_not_errors(registry_file):
    engine = Engine(watermark_keys=load_registry(registry_file))
    decision = engine.analyze(_jpeg(np.full((100, 120, 3), 90, np.uint8)), "small.jpg")
    assert decision.signals["watermark"]["detected"] is False
    assert decision.signals["watermark"]["not_checked"] == (
        "too small to carry a mark: 120 x 100 px, at least 256 x 256 needed"
    )
    assert not decision.signals["errors"]
    # an image large enough was looked at: no such note
    big = engine.analyze(_jpeg(np.full((300, 320, 3), 90, np.uint8)), "big.jpg")
    assert big.signals["watermark"]["not_checked"] is None


def test_key_file_reader(tmp_path):
    path = tmp_path / "k"
    path.write_text(" ".join(GEN_TEST_KEY.hex()[i : i + 8] for i in range(0, 64, 8)))
    assert read_key_file(path) == GEN_TEST_KEY


def _rotate(img: np.ndarray, deg: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_thorough_engine_reaches_rotated_texture(registry_file, remove_sync_lines):
    # heavy texture whose sync lines an attacker zeroed, rotated 3 degrees,
    # shrunk and re-encoded: the comb is blind and the key-free estimate too
    # weak on gravel (pilot z ~4.9); the analysts' thorough mode scans the
    # rotation axis with the key (z ~9.9)
    gravel = cv2.resize(skdata.gravel(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    gravel = np.stack([gravel] * 3, axis=-1)
    marked = remove_sync_lines(watermark.embed(gravel, PAYLOAD, GEN_TEST_KEY), GEN_TEST_KEY)
    rotated = _rotate(marked, 3)
    small = cv2.resize(rotated, (819, 819), interpolation=cv2.INTER_AREA)
    upload = _jpeg(small, 80)
    registry = load_registry(registry_file)
    fast = Engine(watermark_keys=registry).analyze(upload, "rotated.jpg")
    slow = Engine(watermark_keys=registry, watermark_thorough=True).analyze(upload, "rotated.jpg")
    assert WatermarkSignal.from_dict(fast.signals["watermark"]).detected is False
    signal = WatermarkSignal.from_dict(slow.signals["watermark"])
    assert signal.detected and signal.key_id == "imagegen-1"
    assert signal.payload_hex == PAYLOAD.hex() and signal.p_value <= 1e-9
    assert slow.label == "ai_generated" and fast.label is None


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), ("", False)])
def test_thorough_from_env(monkeypatch, value, expected):
    monkeypatch.setenv("AIGC_WATERMARK_THOROUGH", value)
    assert EngineConfig.from_env().watermark_thorough is expected


def test_thorough_from_env_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("AIGC_WATERMARK_THOROUGH", "maybe")
    with pytest.raises(WatermarkKeyError, match="AIGC_WATERMARK_THOROUGH"):
        EngineConfig.from_env()
