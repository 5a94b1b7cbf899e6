"""`aigc scan --json samples/` in a real subprocess, checked file by file and field by field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
AIGC = Path(sys.executable).parent / "aigc"

# file -> action, label, a reason code that must be there, credentials state, ai_class
LABELLED_GENERATED = ("label", "ai_generated", "c2pa.ai_generated", "valid", "ai_generated")
EXPECTED = {
    "ai_generated_credentials.jpg": LABELLED_GENERATED,
    "ai_generated_credentials.png": LABELLED_GENERATED,
    "ai_parent_resigned_credentials.jpg": LABELLED_GENERATED,
    "ai_edited_credentials.jpg": ("label", "ai_edited", "c2pa.ai_edited", "valid", "ai_edited"),
    "camera_capture_credentials.jpg": ("none", None, None, "valid", "capture"),
    "tampered_ai_generated.jpg": ("require_disclosure", None, None, "invalid", "ai_generated"),
    "stripped_ai_generated.jpg": ("none", None, None, None, "unknown"),
    "no_credentials.jpg": ("none", None, None, None, "unknown"),
    "metadata_hint_sd_parameters.png": ("require_disclosure", None, None, None, "unknown"),
    "watermarked_partner_generator.jpg": (
        "label",
        "ai_generated",
        "watermark.detected",
        None,
        "unknown",
    ),
    "reupload_known_deepfake.jpg": (
        "escalate",
        "ai_generated",
        "bank.match.misleading_deepfake",
        None,
        "unknown",
    ),
}
DEMO = ROOT / "demo"


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_TRUST")}
    env.pop("AIGC_ALLOWED_MANIFEST_HOSTS", None)
    # the same set-up as scripts/demo.sh: a bank with one known fake, a partner's watermark key
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    env["AIGC_DATABASE_URL"] = f"sqlite:///{db}"
    env["AIGC_WATERMARK_KEYS"] = str(DEMO / "watermark-keys.yaml")
    imported = subprocess.run(
        [str(AIGC), "bank", "import", str(DEMO / "known-fakes.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert imported.returncode == 0, imported.stderr
    done = subprocess.run(
        [str(AIGC), "scan", "--json", str(SAMPLES)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {Path(row["path"]).name: row for row in lines}


def test_every_sample_is_scanned_once(rows):
    assert set(rows) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_decision(rows, name):
    action, label, reason, state, ai_class = EXPECTED[name]
    row = rows[name]
    assert "error" not in row
    assert row["action"] == action
    assert row["label"] == label
    codes = [r["code"] for r in row["reasons"]]
    if reason:
        assert reason in codes
    assert all(r["message"] for r in row["reasons"])
    cred = row["signals"]["credentials"]
    assert cred["state"] == state
    assert cred["ai_class"] == ai_class
    assert cred["present"] is (state is not None)
    assert cred["error"] is None


def test_signed_samples_name_their_signer_and_evidence(rows):
    for name, (_, _, _, state, _) in EXPECTED.items():
        cred = rows[name]["signals"]["credentials"]
        if state is None:
            continue
        assert cred["signer"].startswith("sample ")
        assert cred["claim_generator"].startswith("aigc-provenance")
        assert cred["evidence"], name
    resigned = rows["ai_parent_resigned_credentials.jpg"]["signals"]["credentials"]
    assert "ingredient 'ai_generated_credentials.jpg' (parentOf" in resigned["evidence"][0]
    assert resigned["signer"].startswith("sample photo editor")


def test_tampered_sample_fails_its_data_hash(rows):
    cred = rows["tampered_ai_generated.jpg"]["signals"]["credentials"]
    assert "assertion.dataHash.mismatch" in cred["failure_codes"]
    codes = [r["code"] for r in rows["tampered_ai_generated.jpg"]["reasons"]]
    assert not any(c in ("c2pa.ai_generated", "c2pa.ai_edited") for c in codes)


def test_hint_sample_is_weak_evidence_only(rows):
    cred = rows["metadata_hint_sd_parameters.png"]["signals"]["credentials"]
    assert cred["present"] is False
    assert cred["hint_ai_class"] == "ai_generated"
    assert cred["metadata_hints"][0].startswith("PNG text 'parameters'")
    stripped = rows["stripped_ai_generated.jpg"]["signals"]["credentials"]
    assert stripped["metadata_hints"] == [] and stripped["hint_ai_class"] is None


def test_samples_are_small():
    for path in SAMPLES.iterdir():
        assert path.stat().st_size <= 100 * 1024, path.name
