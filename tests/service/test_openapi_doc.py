"""/docs, /redoc and /openapi.json against a real `aigc serve`: offline assets only,
the bearer scheme that Swagger UI's Authorize button uses, and examples that are
true (they validate against their schemas, the error codes are ones the service
returns, the success examples are what the service answers today)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import jsonschema
import pytest

from labeler.policy import load_default_policy
from service.app import openapi_doc
from service.db.keys import create_key
from service.db.migrations import ensure_schema

from .conftest import SAMPLES
from .servers import serve
from .test_live_server import CHROMIUM, CHROMIUM_ARGS, _chromium_or_skip

SERVICE = Path(__file__).resolve().parents[2] / "service"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("openapi")
    url = f"sqlite:///{folder / 'aigc.db'}"
    ensure_schema(url)
    admin = create_key("admin", url=url)[1]
    creator = create_key("creator", url=url)[1]
    with serve(folder, AIGC_DATABASE_URL=url, AIGC_SCAN_CONCURRENCY="1") as base:
        yield base, {"admin": admin, "creator": creator}


def _references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


def test_docs_and_redoc_reference_only_the_servers_own_assets(live):
    base, _keys = live
    for page in ("/docs", "/redoc"):
        response = httpx.get(base + page)
        assert response.status_code == 200
        html = response.text
        refs = _references(html)
        assert refs, page
        assert "cdn" not in html.lower() and "googleapis" not in html
        assert not re.search(r"https?://", html), page
        # and the browser may fetch nothing from elsewhere, whatever the bundles hold
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "img-src 'self' data:" in csp
        assert "http" not in csp
        for ref in refs:
            target = urljoin(base + page, ref)
            assert urlsplit(target).netloc == urlsplit(base).netloc, (page, ref)
            asset = httpx.get(target)
            assert asset.status_code == 200, (page, ref)
            assert len(asset.content) > 1000
            if ref.endswith(".css"):
                # no stylesheet pulls a font or image from elsewhere
                assert not re.search(r"""url\(\s*["']?https?:""", asset.text)
                assert "@import" not in asset.text


def _resolve(doc: dict, schema: dict) -> dict:
    """The schema with every $ref resolvable inside it (components copied in)."""
    return {**schema, "components": doc["components"]}


def _examples(doc: dict):
    """(where, schema, example) of every example the document states."""
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                for media in response.get("content", {}).values():
                    schema = media.get("schema")
                    if schema is None:
                        continue
                    if "example" in media:
                        yield f"{method} {path} {status}", schema, media["example"]
                    for name, item in media.get("examples", {}).items():
                        yield f"{method} {path} {status} {name}", schema, item["value"]
    for name, schema in doc["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            for example in sub.get("examples", []):
                yield f"schema {name}.{prop}", sub, example


def test_every_example_validates_against_its_schema(live):
    base, _keys = live
    doc = httpx.get(base + "/openapi.json", timeout=60).json()
    checked = 0
    for where, schema, example in _examples(doc):
        validator = jsonschema.Draft202012Validator(_resolve(doc, schema))
        errors = list(validator.iter_errors(example))
        assert not errors, (where, errors[0].message)
        checked += 1
    assert checked > 50
    text = json.dumps(doc)
    assert "additionalProp1" not in text
    assert "default-1" not in text and "(trusted)" not in text


def _service_codes() -> set[str]:
    """Every error code literal in the service's source, outside the examples' own module."""
    codes = set()
    for path in SERVICE.rglob("*.py"):
        if path.name == "openapi_doc.py":
            continue
        codes.update(re.findall(r'"([a-z][a-z0-9]*(?:_[a-z0-9]+)*)"', path.read_text()))
    return codes


def test_error_examples_are_per_status_and_use_codes_the_service_returns(live):
    base, _keys = live
    doc = httpx.get(base + "/openapi.json", timeout=60).json()
    known = _service_codes()
    seen: dict[str, set[str]] = {}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                if int(status) < 400:
                    continue
                media = response.get("content", {}).get("application/json", {})
                if "ErrorBody" not in json.dumps(media.get("schema", {})):
                    continue  # e.g. /readyz's 503 is its own report
                examples = media.get("examples", {})
                assert examples, f"{method} {path} {status}: no error example"
                for item in examples.values():
                    code = item["value"]["error"]["code"]
                    assert code in known, f"{method} {path} {status}: {code} is never returned"
                    seen.setdefault(status, set()).add(code)
    # not one code for everything: each status has its own
    assert seen["401"] == {"unauthenticated"} and seen["403"] >= {"forbidden"}
    assert "unsupported_media" in seen["415"] and "unsupported_media" not in seen["401"]
    assert {"media_undecodable", "invalid_request"} <= seen["422"]


def test_error_examples_match_the_live_answers(live):
    base, keys = live
    # the first scans start analysis processes on a loaded machine: not httpx's 5 s
    http = httpx.Client(timeout=120)
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    creator = {"Authorization": f"Bearer {keys['creator']}"}

    def first(path: str, status: int) -> dict:
        code, message = openapi_doc.error_examples(path, status)[0]
        return {"error": {"code": code, "message": message}}

    assert http.post(base + "/v1/scan").json() == first("/v1/scan", 401)
    assert http.post(base + "/v1/scan", headers=creator).json() == first("/v1/scan", 403)
    assert http.post(base + "/v1/scan", headers=admin).json() == first("/v1/scan", 422)
    wrong = http.post(base + "/v1/scan", headers=admin, files={"file": ("hostname", b"plain text")})
    assert wrong.status_code == 415
    assert wrong.json()["error"]["code"] == first("/v1/scan", 415)["error"]["code"]
    missing = "00000000000000000000000000000000"
    answer = http.get(f"{base}/v1/scans/{missing}", headers=admin)
    assert answer.status_code == 404 and answer.json() == first("/v1/scans/{scan_id}", 404)
    job = http.get(f"{base}/v1/batch/{missing}", headers=admin)
    assert job.status_code == 404 and job.json() == first("/v1/batch/{job_id}", 404)
    page = http.get(base + "/v1/cases?page=abc", headers=admin)
    assert page.status_code == 422 and page.json() == first("/v1/cases", 422)


def test_success_examples_are_todays_answers(live):
    base, keys = live
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    examples = openapi_doc.success_examples()
    data = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()
    files = {"file": ("ai_generated_credentials.jpg", data, "image/jpeg")}
    scan = httpx.post(base + "/v1/scan", headers=admin, files=files, timeout=120).json()
    shown = examples["POST /v1/scan"]
    # what changes per call (ids, timings) aside, the example is the answer
    for key in ("action", "label", "label_source", "distribution", "policy_version", "reasons"):
        assert shown["decision"][key] == scan["decision"][key], key
    assert set(shown["decision"]["signals"]) == set(scan["decision"]["signals"])
    assert shown["decision"]["policy_version"] == load_default_policy().version
    check = httpx.post(base + "/v1/label-check", headers=admin, files=files, timeout=120).json()
    shown = examples["POST /v1/label-check"]
    assert {k: v for k, v in shown.items() if k != "check_id"} == {
        k: v for k, v in check.items() if k != "check_id"
    }
    doc = httpx.get(base + "/openapi.json", timeout=60).json()
    assert doc["components"]["schemas"]["DecisionModel"]["properties"]["policy_version"][
        "examples"
    ] == [load_default_policy().version]


def test_bearer_scheme_on_keyed_operations_and_request_bodies_named(live):
    base, _keys = live
    doc = httpx.get(base + "/openapi.json", timeout=60).json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            keyed = "401" in op["responses"]
            assert (op.get("security") == [{"bearer": []}]) == keyed, (method, path)
    assert "security" not in doc["paths"]["/healthz"]["get"]
    names = set(doc["components"]["schemas"])
    assert not [n for n in names if n.startswith("Body_")]
    assert {"ScanUpload", "BatchStart", "LabelCheckUpload"} <= names
    batch = doc["paths"]["/v1/batch"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert batch["schema"]["$ref"] == "#/components/schemas/BatchStart"
    assert "HTTPValidationError" not in json.dumps(doc)
    for op in (doc["paths"]["/v1/keys"]["get"], doc["paths"]["/v1/keys"]["post"]):
        assert op["summary"] not in ("List Keys", "Create Key")


@pytest.mark.browser
def test_swagger_ui_offline_authorize_and_try_it_out(live, tmp_path):
    """In Chromium with every request off this machine refused: the page renders,
    Authorize takes the key, and "Try it out" sends it (GET /v1/keys answers 200)."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    base, keys = live
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})

            def guard(route):
                if urlsplit(route.request.url).netloc != urlsplit(base).netloc:
                    outside.append(route.request.url)
                    return route.abort()
                return route.continue_()

            page.route("**/*", guard)
            page.goto(base + "/docs")
            page.wait_for_selector("button.authorize")
            page.click("button.authorize")
            page.fill(".auth-container input", keys["admin"])
            page.click(".auth-btn-wrapper button.authorize")
            page.click("button.btn-done")
            block = page.locator("#operations-keys-list_keys_v1_keys_get")
            block.locator(".opblock-summary").click()
            block.locator("button.try-out__btn").click()
            block.locator("button.execute").click()
            status = block.locator(".live-responses-table .response .response-col_status")
            status.first.wait_for()
            assert status.first.inner_text().strip().startswith("200")
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
            page.goto(base + "/redoc")
            page.wait_for_selector("text=AIGC provenance")
        finally:
            browser.close()
    assert outside == []
