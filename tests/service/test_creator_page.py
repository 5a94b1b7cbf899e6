"""The creator page in headless Chromium at 1280 px and 390 px against a real `aigc serve`:
signed in by a creator token (URL fragment or postMessage), the "no AI" answer respected,
an escalation's review explained with an appeal, visible focus, the answer brought into view.

Screenshots go to $AIGC_TEST_ARTIFACTS (default: the test's tmp folder)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from service.db import session_scope
from service.db.cases import CaseRow
from service.db.keys import create_key
from service.db.migrations import ensure_schema

from .conftest import SAMPLES
from .servers import serve
from .test_live_server import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip

SECRET = "test-creator-token-secret-0123456789abcdef"  # a test secret, named as such
ELECTION = "Queues at the polling station before the election"
CREATOR = "creator-page-test"


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("AIGC_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _decided_case(url: str) -> str:
    case_id = "a1" * 16
    with session_scope(url) as session:
        session.add(
            CaseRow(
                id=case_id,
                kind="upload",
                status="decided",
                verdict="unverified",
                priority=50,
                reasons=[],
                signals={},
                context={"creator_id": CREATOR},
                decision={"action": "escalate"},
                creator_id=CREATOR,
                created_at=datetime.now(UTC),
            )
        )
    return case_id


def _check(page, sample: str, disclosed: str = "", caption: str = "") -> None:
    page.set_input_files("#file", str(SAMPLES / sample))
    page.select_option("#disclosed", disclosed)
    page.fill("#caption", caption)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden]), #error:not([hidden])", timeout=60_000)
    assert page.is_hidden("#error"), page.inner_text("#error")


def _in_view_with_focus(page) -> bool:
    return page.evaluate(
        """() => {
            const box = document.getElementById('result').getBoundingClientRect();
            return document.activeElement.id === 'result' && box.top >= 0
                && box.top < window.innerHeight;
        }"""
    )


@pytest.mark.browser
def test_creator_page_with_a_token_at_desktop_and_phone_widths(tmp_path):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    url = f"sqlite:///{tmp_path / 'aigc.db'}"
    ensure_schema(url)
    pipeline = create_key("pipeline", url=url)[1]
    case_id = _decided_case(url)
    shots = _shots(tmp_path)
    env = dict(AIGC_DATABASE_URL=url, AIGC_CREATOR_TOKEN_SECRET=SECRET, AIGC_SCAN_CONCURRENCY="1")
    with serve(tmp_path, **env) as base:
        minted = httpx.post(
            base + "/v1/creator-tokens",
            json={"creator_id": CREATOR, "ttl": 600},
            headers={"Authorization": f"Bearer {pipeline}"},
        )
        assert minted.status_code == 201, minted.text
        token = minted.json()["token"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                _desktop(browser, base, token, case_id, shots)
                _phone(browser, base, token, shots)
                _embedded(browser, base, token)
            finally:
                browser.close()


def _desktop(browser, base, token, case_id, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/check#token={token}")
    assert "token" not in page.url  # taken out of the address bar and history
    assert page.is_hidden("#signin")

    # keyboard focus on the drop zone is visible
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file"
    outline = page.eval_on_selector("#drop", "e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    page.screenshot(path=str(shots / "creator-1280-focus.png"))

    # "No AI was used" with weak evidence: told what was found and what happens next
    _check(page, "metadata_hint_sd_parameters.png", disclosed="false")
    headline = page.inner_text("#headline")
    assert "You told us that no AI was used" in headline
    assert "please tell us whether" not in page.inner_text("#result").lower()
    assert page.inner_text("#badge").startswith("No label")
    page.screenshot(path=str(shots / "creator-1280-no-ai.png"), full_page=True)

    # an escalation: what review means, and an appeal of the creator's decided case
    _check(page, "ai_generated_credentials.jpg", caption=ELECTION)
    assert page.inner_text("#badge") == "Review before wide distribution"
    assert "What a review means" in page.inner_text("#review")
    page.click("#appeal-open")
    page.wait_for_selector(f"button.appeal[data-case-id='{case_id}']")
    page.fill("#appeal-reason", "It is my own photo of the queue.")
    page.click(f"button.appeal[data-case-id='{case_id}']")
    page.wait_for_selector("#case-list li:has-text('Appeal sent')")
    page.screenshot(path=str(shots / "creator-1280-review-appeal.png"), full_page=True)
    page.close()


def _phone(browser, base, token, shots):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(f"{base}/check#token={token}")
    _check(page, "ai_generated_credentials.jpg", disclosed="true")
    assert page.inner_text("#badge") == "Label: AI-generated"
    page.wait_for_function(
        """() => {
            const box = document.getElementById('result').getBoundingClientRect();
            return box.top >= 0 && box.top < window.innerHeight;
        }"""
    )
    assert _in_view_with_focus(page)
    # what viewers will be shown: the AI icon, the words, when, and who it rests on
    assert page.is_visible("#shown")
    assert page.inner_text("#shown-text") == "AI-generated"
    assert page.get_attribute("#shown-icon", "aria-label").startswith("the EU common icon")
    assert "first time" in page.inner_text("#shown-when")
    source = page.inner_text("#shown-source")
    assert source.startswith("Based on Content Credentials")
    page.screenshot(path=str(shots / "creator-390-answer.png"))
    page.close()


def _embedded(browser, base, token):
    """A platform's page embeds the creator page and hands it the token by postMessage."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/healthz")  # any page of another document to host the iframe
    page.set_content(f"<iframe id='f' src='{base}/check' width='900' height='800'></iframe>")
    frame = page.frame_locator("#f")
    frame.locator("#signin:not([hidden])").wait_for()  # no token yet
    page.evaluate(
        "t => document.getElementById('f').contentWindow.postMessage("
        "{type: 'aigc-creator-token', token: t}, '*')",
        token,
    )
    frame.locator("#signin[hidden]").wait_for(state="attached")
    page.close()
