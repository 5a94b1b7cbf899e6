"""One error shape for every failure: {"error": {"code": ..., "message": ...}}.

Bad input must never surface as a bare 500: the labeler's typed errors map to
4xx here, and FastAPI's own validation and HTTP errors are reshaped to match.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from labeler import LabelerError, MediaDecodeError, MediaTooLarge, UnsupportedMedia
from labeler.errors import redact_addresses

from .analysis import AnalysisFailed, AnalysisMemory, AnalysisTimeout, Overloaded
from .schemas import NO_NUL

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def __reduce__(self):
        # raised in analysis processes too: it must cross the pipe whole
        return (type(self), (self.status, self.code, self.message, self.headers))


def error_body(code: str, message: str) -> dict:
    # every error leaves through here, so this is the one place to keep
    # process internals (object addresses) out of what callers read
    return {"error": {"code": code, "message": redact_addresses(message)}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


# (status, code) for each labeler error; pixels over the limit are 422 because
# the bytes were acceptable: the request was fine, the content is not.
_LABELER = {
    UnsupportedMedia: (415, "unsupported_media"),
    MediaTooLarge: (422, "media_too_large"),
    MediaDecodeError: (422, "media_undecodable"),
}


def labeler_error(exc: LabelerError) -> ApiError:
    for cls, (status, code) in _LABELER.items():
        if isinstance(exc, cls):
            return ApiError(status, code, str(exc))
    return ApiError(422, "media_rejected", str(exc))


# A field refused by its declared bounds keeps the code its route used before
# the bound was declared (clients match on codes); others are invalid_request.
_FIELD_CODES = {
    "role": "invalid_role",
    "payload": "invalid_payload",
    "alg": "unsupported_algorithm",
    "value": "invalid_value",
    "creator_id": "invalid_context",
    "creator_disclosed_ai": "invalid_context",
    "caption": "invalid_context",
    "hashtags": "invalid_context",
    "sensitive_topics": "invalid_context",
    "creator_history": "invalid_context",
    "verdict": "invalid_verdict",
}


def _validation_code(errors: list[dict]) -> str:
    codes = {_FIELD_CODES.get(str((item.get("loc") or ("",))[-1])) for item in errors}
    return codes.pop() if len(codes) == 1 and None not in codes else "invalid_request"


def _explain(item: dict) -> str:
    # the NUL pattern reads as a riddle when quoted; say what it means
    if (item.get("ctx") or {}).get("pattern") == NO_NUL:
        return "must not contain a NUL character"
    return str(item.get("msg"))


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media",
    422: "invalid_request",
    429: "rate_limited",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(LabelerError)
    async def _labeler_error(_request: Request, exc: LabelerError) -> JSONResponse:
        err = labeler_error(exc)
        return error_response(err.status, err.code, err.message)

    @app.exception_handler(AnalysisTimeout)
    async def _timeout(_request: Request, exc: AnalysisTimeout) -> JSONResponse:
        # the upload itself is the likely cause (a hostile or pathological file)
        return error_response(422, "analysis_timeout", str(exc))

    @app.exception_handler(AnalysisMemory)
    async def _memory(_request: Request, exc: AnalysisMemory) -> JSONResponse:
        return error_response(422, "analysis_memory", str(exc))

    @app.exception_handler(AnalysisFailed)
    async def _failed(_request: Request, exc: AnalysisFailed) -> JSONResponse:
        return error_response(422, "analysis_failed", f"the file could not be analysed: {exc}")

    @app.exception_handler(Overloaded)
    async def _overloaded(_request: Request, exc: Overloaded) -> JSONResponse:
        return error_response(503, "overloaded", str(exc), {"Retry-After": "10"})

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        errors = list(exc.errors())
        for item in errors:
            where = ".".join(
                str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path")
            )
            parts.append(f"{where}: {_explain(item)}" if where else _explain(item))
        message = "; ".join(parts) or "invalid request"
        return error_response(422, _validation_code(errors), message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # a body that is not the JSON or multipart it claims to be: bad input
            # like any other, so the same 422 and shape as a refused field
            detail = exc.detail if isinstance(exc.detail, str) else "malformed body"
            message = f"the request body is malformed: {detail}"
            return error_response(422, "invalid_request", message)
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: logged with its traceback, answered in the same shape.
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; it has been logged")
