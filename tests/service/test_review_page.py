"""The reviewer page in a real headless Chromium against a real `aigc serve`:
queue -> case (image, reasons, evidence, context) -> verdict by keyboard ->
the re-upload of the media is removed."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from service.db.keys import create_key

from .conftest import SAMPLES
from .servers import serve
from .test_live_server import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip

AI_IMAGE = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()
CAPTION = "Queues at the polling station before the election"


def _crop(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    out = io.BytesIO()
    img.crop((int(0.05 * w), int(0.06 * h), int(0.94 * w), int(0.95 * h))).save(out, "JPEG")
    return out.getvalue()


def _scan(base: str, key: str, data: bytes, caption: str) -> dict:
    response = httpx.post(
        base + "/v1/scan",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": ("up.jpg", data, "image/jpeg")},
        data={"caption": caption, "creator_id": "c-42"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.browser
def test_reviewer_page_queue_case_verdict_then_the_re_upload_is_removed(tmp_path):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    url = f"sqlite:///{tmp_path / 'aigc.db'}"
    from service.db.migrations import ensure_schema

    ensure_schema(url)
    pipeline = create_key("pipeline", url=url)[1]
    reviewer = create_key("reviewer", url=url, organisation="Trust & Safety")[1]
    with serve(tmp_path, AIGC_DATABASE_URL=url, AIGC_SCAN_CONCURRENCY="1") as base:
        first = _scan(base, pipeline, AI_IMAGE, CAPTION)
        assert first["decision"]["action"] == "escalate" and first["case_id"]
        page_response = httpx.get(base + "/review")
        assert page_response.status_code == 200
        assert "default-src 'self'" in page_response.headers["content-security-policy"]

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 1000})
                page.goto(base + "/review")
                assert page.title().startswith("Review queue")
                # a wrong key says so and shows nothing
                page.fill("#key", "aigc_not-a-key")
                page.click("#key-save")
                page.wait_for_selector("#error:not([hidden])")
                assert "Could not load the queue" in page.inner_text("#error")

                page.fill("#key", reviewer)
                page.click("#key-save")
                page.wait_for_selector(f"#queue li[data-case-id='{first['case_id']}']")
                assert "elections" in page.inner_text("#queue")
                # the key lives in this tab's sessionStorage, not in the page
                assert page.evaluate("sessionStorage.getItem('aigc.reviewerKey')") == reviewer
                assert page.input_value("#key") == ""

                page.keyboard.press("j")
                page.wait_for_selector("#case:not([hidden])")
                page.wait_for_selector("#case-image:not([hidden])")
                natural = page.evaluate("document.getElementById('case-image').naturalWidth")
                assert 0 < natural <= 256
                assert "open" in page.inner_text("#case-title")
                reasons = page.inner_text("#reasons")
                assert "election" in reasons.lower() or "sensitive" in reasons.lower()
                assert "manifest (C2PA)" in page.inner_text("#signals")
                assert CAPTION in page.inner_text("#context")

                page.keyboard.press("c")
                # the page's CSP forbids string predicates: selectors only
                page.wait_for_selector("#case-title:has-text('in review')")
                page.fill("#note", "fabricated queue scene")
                page.click("body")  # leave the note field: shortcuts are off while typing
                page.keyboard.press("1")
                page.wait_for_selector("#decided:not([hidden])")
                assert "confirmed misleading" in page.inner_text("#decided")
                assert page.is_disabled("button[data-verdict='cleared']")
                # decided cases leave the waiting queue
                page.wait_for_selector("#queue li", state="detached")
                page.screenshot(path=str(tmp_path / "review-page.png"), full_page=True)
            finally:
                browser.close()

        again = _scan(base, pipeline, _crop(AI_IMAGE), "look at this")
        assert again["decision"]["action"] == "remove"
        case = httpx.get(
            f"{base}/v1/cases/{first['case_id']}",
            headers={"Authorization": f"Bearer {reviewer}"},
        ).json()
        assert (
            case["verdict"] == "confirmed_misleading" and case["note"] == "fabricated queue scene"
        )
