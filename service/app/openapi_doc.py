"""The OpenAPI document as the service really behaves: the bearer scheme on every
operation that needs a key, error examples per status with the codes and
messages the service answers, success examples copied from real answers, and
request bodies named for what they are.

FastAPI builds the document from the routes; `install(app)` replaces
`app.openapi` with that document post-processed once here. The examples in
`openapi_examples.json` were captured from a live server scanning
`samples/ai_generated_credentials.jpg` (tests/service/test_openapi_doc.py checks
them against a fresh answer and against their schemas).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

BEARER = "bearer"

# (code, message) per status: what the service answers, copied from real answers;
# the first is the example a viewer shows first
ERROR_EXAMPLES: dict[int, list[tuple[str, str]]] = {
    400: [("invalid_value", "the value is not valid for this query")],
    401: [
        (
            "unauthenticated",
            "an API key is required (Authorization: Bearer <key>; role admin, pipeline)",
        ),
        ("unauthenticated", "unknown or revoked API key"),
    ],
    403: [("forbidden", "a creator key may not call this endpoint; it needs role admin, pipeline")],
    404: [("not_found", "no scan with id '00000000000000000000000000000000'")],
    409: [("conflict", "the case was changed by someone else; reload it")],
    413: [("payload_too_large", "the request body is larger than 52428800 bytes")],
    415: [
        (
            "unsupported_media",
            "not a supported image or video (hostname): expected JPEG, PNG, WebP, GIF, TIFF, "
            "MP4 or MOV",
        )
    ],
    422: [
        (
            "invalid_request",
            "page: Input should be a valid integer, unable to parse string as an integer",
        )
    ],
    429: [("rate_limited", "too many label checks; try again in 12 s")],
    503: [
        (
            "overloaded",
            "the server is busy: the analysis did not start within 30 s",
        )
    ],
}

# what an upload endpoint answers with 422 (the bytes were taken, the content is unusable)
UPLOAD_422 = [
    ("invalid_request", "file: Field required"),
    ("media_undecodable", "could not read the image/jpeg header: Truncated File Read"),
    ("media_too_large", "10000 x 8000 pixels is more than the limit of 50000000"),
]
UPLOADS = (
    "/v1/scan",
    "/v1/label-check",
    "/v1/bank/entries",
    "/v1/watermark/embed",
    "/v1/renditions",
    "/c2pa/matches/byContent",
)

# routes whose answers for a status differ from the general ones above
ROUTE_ERRORS: dict[tuple[str, int], list[tuple[str, str]]] = {
    **{(path, 422): UPLOAD_422 for path in UPLOADS},
    ("/v1/batch", 403): [
        ("forbidden", "a creator key may not call this endpoint; it needs role admin, analyst"),
        ("paths_disabled", "server-side paths are off (the operator sets AIGC_BATCH_ROOT)"),
    ],
    ("/v1/batch/{job_id}", 404): [
        ("job_not_found", "no batch job '00000000000000000000000000000000'")
    ],
    ("/v1/batch/{job_id}/report", 404): [
        ("job_not_found", "no batch job '00000000000000000000000000000000'")
    ],
    ("/v1/bank/entries", 409): [
        ("duplicate_entry", "this media is already in the bank as entry 1")
    ],
    ("/v1/cases/{case_id}", 404): [
        ("not_found", "no case with id '00000000000000000000000000000000'")
    ],
    ("/v1/cases/{case_id}/verdict", 422): [
        (
            "invalid_verdict",
            "verdict: Input should be 'confirmed_misleading', 'unverified', 'ai_label_only' "
            "or 'cleared'",
        )
    ],
    ("/v1/watermark/embed", 503): [
        ("watermark_not_configured", "this server has no platform watermark key")
    ],
}

# FastAPI's generated names of multipart bodies -> what they are
BODY_TITLES = {
    "Body_scan_v1_scan_post": "ScanUpload",
    "Body_label_check_v1_label_check_post": "LabelCheckUpload",
    "Body_start_batch_v1_batch_post": "BatchStart",
    "Body_add_entry_v1_bank_entries_post": "BankEntryUpload",
    "Body_embed_v1_watermark_embed_post": "WatermarkEmbedUpload",
    "Body_make_rendition_v1_renditions_post": "RenditionUpload",
}

# operations whose summary FastAPI derived from the function name
SUMMARIES = {
    ("get", "/v1/keys"): "List API keys (ids, roles, hints; never the secrets)",
    ("post", "/v1/keys"): "Create an API key (the secret is in this answer only)",
    ("delete", "/v1/keys/{key_id}"): "Revoke an API key (401 for it from then on)",
}


def success_examples() -> dict[str, Any]:
    """`{"METHOD path": example}` of answers captured from a live server."""
    text = resources.files("service.app").joinpath("openapi_examples.json").read_text("utf-8")
    return json.loads(text)


def error_examples(path: str, status: int) -> list[tuple[str, str]]:
    return ROUTE_ERRORS.get((path, status)) or ERROR_EXAMPLES.get(status, [])


def _examples_for(path: str, status: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code, message in error_examples(path, status):
        name = code if code not in out else f"{code}_{len(out)}"
        out[name] = {"summary": code, "value": {"error": {"code": code, "message": message}}}
    return out


def _rename(doc: dict[str, Any]) -> None:
    schemas = doc.get("components", {}).get("schemas", {})
    for old, new in BODY_TITLES.items():
        if old in schemas:
            schemas[new] = dict(schemas.pop(old), title=new)
    text = json.dumps(doc)
    for old, new in BODY_TITLES.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    doc.clear()
    doc.update(json.loads(text))


def _operation(path: str, method: str, op: dict[str, Any], examples: dict[str, Any]) -> None:
    responses = op.get("responses", {})
    if "401" in responses:
        op["security"] = [{BEARER: []}]
    if (method, path) in SUMMARIES:
        op["summary"] = SUMMARIES[(method, path)]
    for status, response in responses.items():
        content = response.get("content", {}).get("application/json")
        if content is None:
            continue
        if int(status) >= 400 and "ErrorBody" in json.dumps(content.get("schema", {})):
            found = _examples_for(path, int(status))
            if found:
                content.pop("example", None)
                content["examples"] = found
        elif f"{method.upper()} {path}" in examples and int(status) < 300:
            content["example"] = examples[f"{method.upper()} {path}"]


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    _rename(doc)
    doc.setdefault("components", {})["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `aigc keys create --role ROLE`, sent as "
            "`Authorization: Bearer <key>`; the operation's description names the roles.",
        }
    }
    examples = success_examples()
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            _operation(path, method, op, examples)
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
