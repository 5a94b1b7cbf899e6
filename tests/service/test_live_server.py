"""A real `aigc serve` (uvicorn) on 127.0.0.1: health during scans, the CLI, the creator page
in a real headless browser."""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from .conftest import SAMPLES
from .servers import serve

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "scraper-token-for-the-live-server"
CHROMIUM = os.environ.get("AIGC_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def svc_server(tmp_path_factory):
    """`aigc serve` in a subprocess: (base url, environment it runs with)."""
    folder = tmp_path_factory.mktemp("server")
    settings = {
        "AIGC_DATABASE_URL": f"sqlite:///{folder / 'aigc.db'}",
        "AIGC_CREATOR_PAGE_OPEN": "1",
        "AIGC_SCAN_CONCURRENCY": "1",
        "AIGC_METRICS_TOKEN": METRICS_TOKEN,
    }
    with serve(folder, **settings) as base:
        yield base, dict(os.environ, **settings)


def _aigc(env: dict, *args: str) -> tuple[int, str, str]:
    """The `aigc` command in this process (typer's runner), against the server's database."""
    from typer.testing import CliRunner

    from service.cli import app

    result = CliRunner().invoke(
        app, list(args), env={"AIGC_DATABASE_URL": env["AIGC_DATABASE_URL"]}
    )
    return result.exit_code, result.stdout, result.stderr


def test_keys_cli_creates_lists_and_revokes_keys(svc_server):
    base, env = svc_server
    code, out, err = _aigc(env, "keys", "create", "--role", "analyst")
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("aigc_") and len(key) > 40
    assert "cannot be shown again" in err
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(base + "/v1/scans/nothing", headers=headers).status_code == 404
    code, listed, _ = _aigc(env, "keys", "list", "--json")
    assert code == 0 and key not in listed  # only a hint; the key itself is not stored
    rows = [json.loads(line) for line in listed.splitlines()]
    mine = [r for r in rows if key.startswith(r["hint"])]
    assert len(mine) == 1 and mine[0]["role"] == "analyst" and mine[0]["revoked_at"] is None
    assert _aigc(env, "keys", "revoke", mine[0]["id"])[0] == 0
    assert httpx.get(base + "/v1/scans/nothing", headers=headers).status_code == 401
    code, _, err = _aigc(env, "keys", "create", "--role", "root")
    assert code == 2 and "unknown role" in err
    assert _aigc(env, "keys", "revoke", "no-such-id")[0] == 1


def _heavy_jpeg() -> bytes:
    # 12 MP of noise: slow to decode and hash, so scans are surely still running
    rgb = np.random.default_rng(7).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_healthz_stays_fast_while_scans_run(svc_server):
    base, env = svc_server
    from service.db.keys import create_key

    key = create_key("pipeline", url=env["AIGC_DATABASE_URL"])[1]
    data = _heavy_jpeg()
    results: list[int] = []

    def scan():
        response = httpx.post(
            base + "/v1/scan",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("big.jpg", data)},
            timeout=300,
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=scan) for _ in range(3)]
    for t in threads:
        t.start()
    # wait until the server reports a scan in progress (answering this is already
    # the event loop staying responsive)
    deadline = time.monotonic() + 60
    in_flight = 0.0
    while time.monotonic() < deadline and in_flight < 1:
        text = httpx.get(
            base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        ).text
        line = next(x for x in text.splitlines() if x.startswith("aigc_scans_in_flight "))
        in_flight = float(line.split()[1])
        time.sleep(0.02)
    assert in_flight >= 1, "no scan was seen in progress"
    latencies = []
    for _ in range(5):
        start = time.perf_counter()
        response = httpx.get(base + "/healthz", timeout=10)
        latencies.append(time.perf_counter() - start)
        assert response.status_code == 200
    still_running = sum(t.is_alive() for t in threads)
    for t in threads:
        t.join(timeout=300)
    assert results == [200, 200, 200]
    assert still_running >= 1, "scans finished before health was checked"
    # generous bound for a shared 2-core machine; a blocked loop would wait for a whole scan
    assert max(latencies) < 1.0, latencies


def _chromium_or_skip():
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no chromium binary at {CHROMIUM} (apt-get install chromium)")


@pytest.mark.browser
def test_creator_page_in_a_real_browser(svc_server, tmp_path):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    base, _env = svc_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1000})
            page.goto(base + "/check")
            assert page.title().startswith("Check your upload")
            assert page.is_hidden("#signin")  # the server runs the page open: no sign-in asked
            assert page.is_disabled("#submit")

            page.set_input_files("#file", str(SAMPLES / "ai_generated_credentials.jpg"))
            page.select_option("#disclosed", "false")
            page.fill("#caption", "my picture")
            page.click("#submit")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            assert page.inner_text("#badge") == "Label: AI-generated"
            assert "AI-generated" in page.inner_text("#headline")
            assert "Content Credentials" in page.inner_text("#why")
            page.screenshot(path=str(tmp_path / "creator-page.png"), full_page=True)
            if os.environ.get("AIGC_SCREENSHOT"):
                page.screenshot(path=os.environ["AIGC_SCREENSHOT"], full_page=True)

            page.set_input_files("#file", str(SAMPLES / "no_credentials.jpg"))
            page.click("#submit")
            page.wait_for_selector("#badge.none", timeout=30_000)
            assert "No AI label" in page.inner_text("#headline")

            bogus = tmp_path / "notes.jpg"
            bogus.write_bytes(b"just some text, not an image")
            page.set_input_files("#file", str(bogus))
            page.click("#submit")
            page.wait_for_selector("#error:not([hidden])", timeout=30_000)
            assert "not a supported image or video" in page.inner_text("#error")
            assert page.is_hidden("#result")
        finally:
            browser.close()
