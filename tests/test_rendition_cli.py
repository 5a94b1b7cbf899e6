"""`aigc dev-ca create`, `aigc rendition` and `aigc credentials recover`, as a user runs them."""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import provenance

ROOT = Path(__file__).resolve().parents[1]
AIGC = str(Path(sys.executable).parent / "aigc")
AI_SAMPLE = ROOT / "samples" / "ai_generated_credentials.jpg"


def _run(args, env, cwd):
    return subprocess.run([AIGC, *args], env=env, cwd=cwd, capture_output=True, text=True)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
    key_file = tmp_path / "platform-TEST.key"
    key_file.write_text(secrets.token_bytes(32).hex())
    env.update(
        AIGC_DATABASE_URL=f"sqlite:///{tmp_path / 'aigc.db'}",
        AIGC_PLATFORM_WATERMARK_KEY_FILE=str(key_file),
    )
    return env


def test_rendition_then_stripped_reshare_is_recovered_from_the_command_line(tmp_path):
    env = _env(tmp_path)
    made = _run(["dev-ca", "create", str(tmp_path / "ca"), "--name", "cli test"], env, tmp_path)
    assert made.returncode == 0, made.stderr
    ca = provenance.DevCA(tmp_path / "ca")
    env.update(
        AIGC_PLATFORM_SIGNING_CERT=str(ca.signer_chain),
        AIGC_PLATFORM_SIGNING_KEY=str(ca.signer_key),
        AIGC_TRUST_ANCHORS=str(ca.root_cert),
    )
    # an AI image of a size people share (the mark is drawn at 512 px and up)
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((1024, 1024)).save(buf, "JPEG", quality=92)
    signer = provenance.SignerCredentials.from_dev_ca(ca)
    generated = tmp_path / "generated.jpg"
    generated.write_bytes(
        provenance.sign(
            buf.getvalue(), "image/jpeg", signer, digital_source_type="trainedAlgorithmicMedia"
        )
    )
    out = tmp_path / "served.jpg"
    result = _run(["rendition", str(generated), str(out)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    durable_id = result.stdout.split()[2]
    report = provenance.read_credentials(
        out.read_bytes(), "image/jpeg", provenance.Settings(operator_anchors=(str(ca.root_cert),))
    )
    assert report.state == "trusted" and report.ai_class == "ai_generated"

    # metadata stripped on the way: pixels only, re-encoded
    rgb = np.asarray(Image.open(out).convert("RGB"))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=80)
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(buf.getvalue())

    recovered = _run(["credentials", "recover", str(stripped), "--json"], env, tmp_path)
    assert recovered.returncode == 0, recovered.stderr
    row = json.loads(recovered.stdout)
    assert row["recovered"]["recovered"] and row["recovered"]["durable_id"] == durable_id
    assert row["label"] == "ai_generated" and row["reasons"] == ["c2pa.recovered"]
    text = _run(["credentials", "recover", str(stripped)], env, tmp_path)
    assert "recovered credentials of rendition" in text.stdout

    plain = _run(
        ["credentials", "recover", str(ROOT / "samples" / "no_credentials.jpg")], env, tmp_path
    )
    assert plain.returncode == 0 and "no platform mark" in plain.stdout


def test_missing_settings_exit_2_naming_the_variable(tmp_path):
    env = _env(tmp_path)
    result = _run(["rendition", str(AI_SAMPLE), str(tmp_path / "o.jpg")], env, tmp_path)
    assert result.returncode == 2 and "AIGC_PLATFORM_SIGNING_CERT" in result.stderr
    del env["AIGC_PLATFORM_WATERMARK_KEY_FILE"]
    result = _run(["credentials", "recover", str(AI_SAMPLE)], env, tmp_path)
    assert result.returncode == 2 and "AIGC_PLATFORM_WATERMARK_KEY_FILE" in result.stderr


def test_an_unsupported_file_exits_1(tmp_path):
    env = _env(tmp_path)
    ca = provenance.create_dev_ca(tmp_path / "ca")
    env.update(
        AIGC_PLATFORM_SIGNING_CERT=str(ca.signer_chain),
        AIGC_PLATFORM_SIGNING_KEY=str(ca.signer_key),
    )
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an image")
    result = _run(["rendition", str(bogus), str(tmp_path / "o.jpg")], env, tmp_path)
    assert result.returncode == 1 and "error:" in result.stderr
    assert not (tmp_path / "o.jpg").exists()
