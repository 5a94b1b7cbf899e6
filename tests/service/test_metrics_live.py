"""/metrics of a real `aigc serve` after real traffic: per-stage histograms, hits by
watermark owner, bank category, reason code and credentials state, batch files,
rate-limit rejections; no `_created` series; one endpoint label for every series."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from service.client import Client, RateLimited
from service.db.keys import create_key
from service.db.migrations import ensure_schema

from .conftest import SAMPLES
from .servers import metric_sample, serve

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_after_real_traffic(tmp_path):
    url = f"sqlite:///{tmp_path / 'aigc.db'}"
    ensure_schema(url)
    banked = subprocess.run(
        [sys.executable, "-m", "service.cli", "bank", "import", str(ROOT / "demo/known-fakes.csv")],
        env=dict(os.environ, AIGC_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert banked.returncode == 0, banked.stderr
    admin = create_key("admin", url=url)[1]
    settings = {
        "AIGC_DATABASE_URL": url,
        "AIGC_WATERMARK_KEYS": str(ROOT / "demo" / "watermark-keys.yaml"),
        "AIGC_METRICS_OPEN": "true",
        "AIGC_LABEL_CHECK_LIMIT": "1",
        "AIGC_LABEL_CHECK_WINDOW_S": "600",
        "AIGC_SCAN_CONCURRENCY": "1",
        "AIGC_BATCH_WORKERS": "1",
    }
    names = ("ai_generated_credentials.jpg", "watermarked_partner_generator.jpg")
    names += ("reupload_known_deepfake.jpg", "no_credentials.jpg")
    with serve(tmp_path, **settings) as base, Client(base, admin) as aigc:
        actions = {name: aigc.scan(SAMPLES / name).decision.action for name in names}
        assert actions["reupload_known_deepfake.jpg"] == "escalate"
        assert actions["watermarked_partner_generator.jpg"] == "label"
        aigc.label_check(SAMPLES / "no_credentials.jpg")
        try:
            aigc.label_check(SAMPLES / "no_credentials.jpg")
            raise AssertionError("the second label check should be rate limited")
        except RateLimited:
            pass
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.write(SAMPLES / "no_credentials.jpg", "ok1.jpg")
            zf.write(SAMPLES / "ai_generated_credentials.jpg", "ok2.jpg")
            zf.writestr("broken.jpg", (SAMPLES / "no_credentials.jpg").read_bytes()[:300])
        job = aigc.batch_wait(aigc.batch_start(archive.getvalue()).id, timeout=300)
        assert (job.done, job.failed) == (3, 1), job
        text = httpx.get(base + "/metrics").text

    def value(name: str, **labels) -> float | None:
        return metric_sample(text, name, **labels)

    scans = len(names) + 1  # the label check that was not refused went through the engine too
    for stage in ("decode", "credentials", "watermark", "match", "policy"):
        assert value("aigc_stage_duration_seconds_count", stage=stage) == scans, stage
        assert value("aigc_stage_duration_seconds_sum", stage=stage) > 0, stage
    owner = "Demo AI image generator (partner)"
    assert value("aigc_watermark_detections_total", owner=owner) == 1
    assert value("aigc_bank_matches_total", category="misleading_deepfake") == 1
    assert value("aigc_decision_reasons_total", endpoint="/v1/scan", code="c2pa.ai_generated") == 1
    assert value("aigc_credentials_total", state="valid") == 1
    assert value("aigc_credentials_total", state="absent") == scans - 1
    assert value("aigc_batch_files_total", outcome="decided") == 2
    assert value("aigc_batch_files_total", outcome="failed") == 1
    assert value("aigc_rate_limited_total", endpoint="/v1/label-check") == 1
    assert "_created" not in text
    # one endpoint scheme: every endpoint a decision names is one the HTTP metric names too
    http = set(re.findall(r'aigc_http_requests_total\{[^}]*endpoint="([^"]+)"', text))
    decided = set(re.findall(r'aigc_decisions_total\{[^}]*endpoint="([^"]+)"', text))
    assert decided == {"/v1/scan", "/v1/label-check"} and decided <= http
    assert value("aigc_decisions_total", endpoint="/v1/scan", action="escalate") == 1
