"""The loop on a real `aigc serve`: an AI upload -> its rendition -> a stripped re-share
labelled through the recovered credentials, and resolved by another party over /c2pa."""

from __future__ import annotations

import base64
import io
import secrets

import httpx
import numpy as np
from PIL import Image

import provenance
from service.db.keys import create_key

from .servers import serve


def _ai_upload(ca: provenance.DevCA) -> bytes:
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).resize((900, 600)).save(buf, "JPEG", quality=92)
    signer = provenance.SignerCredentials.from_dev_ca(ca)
    return provenance.sign(
        buf.getvalue(), "image/jpeg", signer, digital_source_type="trainedAlgorithmicMedia"
    )


def test_rendition_reshare_recovery_and_resolution_over_real_http(tmp_path):
    platform = provenance.create_dev_ca(tmp_path / "platform-ca", name="live platform")
    generator = provenance.create_dev_ca(tmp_path / "generator-ca", name="live generator")
    key_file = tmp_path / "platform-TEST.key"
    key_file.write_text(secrets.token_bytes(32).hex())
    url = f"sqlite:///{tmp_path / 'aigc.db'}"
    env = {
        "AIGC_DATABASE_URL": url,
        "AIGC_SCAN_CONCURRENCY": "1",
        "AIGC_PLATFORM_WATERMARK_KEY_FILE": str(key_file),
        "AIGC_PLATFORM_SIGNING_CERT": str(platform.signer_chain),
        "AIGC_PLATFORM_SIGNING_KEY": str(platform.signer_key),
        "AIGC_TRUST_ANCHORS": f"{platform.root_cert}:{generator.root_cert}",
        "AIGC_RESOLVER_OPEN": "1",
    }
    with serve(tmp_path, **env) as base:
        pipeline = {"Authorization": f"Bearer {create_key('pipeline', url=url)[1]}"}
        made = httpx.post(
            base + "/v1/renditions",
            headers=pipeline,
            files={"file": ("ai.jpg", _ai_upload(generator))},
            timeout=60,
        )
        assert made.status_code == 200, made.text
        durable_id = made.headers["x-aigc-durable-id"]
        served = provenance.read_credentials(
            made.content,
            "image/jpeg",
            provenance.Settings(operator_anchors=(str(platform.root_cert),)),
        )
        assert served.state == "trusted" and served.ai_class == "ai_generated"

        # downloaded and re-shared: 720 px, JPEG 75, no metadata
        image = Image.open(io.BytesIO(made.content)).convert("RGB")
        image = image.resize((720, round(720 * image.height / image.width)))
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=75)
        reshared = buf.getvalue()

        scan = httpx.post(
            base + "/v1/scan", headers=pipeline, files={"file": ("r.jpg", reshared)}, timeout=60
        ).json()
        decision = scan["decision"]
        assert decision["label"] == "ai_generated"
        assert [r["code"] for r in decision["reasons"]] == ["c2pa.recovered"]

        # a fact-checker without a key asks the open resolver about the same file
        found = httpx.post(
            base + "/c2pa/matches/byContent",
            content=reshared,
            headers={"content-type": "image/jpeg"},
            timeout=60,
        ).json()["matches"]
        assert found[0]["manifestId"] == made.headers["x-c2pa-manifest-id"]
        value = base64.b64encode(bytes.fromhex(durable_id)).decode()
        by_binding = httpx.get(
            base + "/c2pa/matches/byBinding",
            params={"alg": "org.aigc-provenance.keyed-tile.1", "value": value},
        ).json()
        assert by_binding["matches"][0]["manifestId"] == found[0]["manifestId"]
        store = httpx.get(base + f"/c2pa/manifests/{found[0]['manifestId']}")
        assert store.status_code == 200 and store.headers["content-type"] == "application/c2pa"
        assert np.frombuffer(store.content, np.uint8).size > 1000
