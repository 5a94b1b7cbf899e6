"""The service's errors as exceptions: every 4xx/5xx answer is `{"error": {"code", "message"}}`,
raised as `ApiError` (or the subclass for its status) with `code`, `message` and `status`."""

from __future__ import annotations


class ClientError(Exception):
    """Base of everything the client raises."""


class TransportError(ClientError):
    """The service could not be reached, or the connection broke (no HTTP answer)."""


class ApiError(ClientError):
    """An error answer of the service."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        # seconds the service asked to wait (429, 503), when it said
        self.retry_after = retry_after


class Unauthenticated(ApiError):
    """401: no key, or an unknown or revoked one."""


class Forbidden(ApiError):
    """403: the key's role may not call this (or the operator turned the feature off)."""


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409: conflicts with what is stored (a duplicate bank entry, a decided case)."""


class PayloadTooLarge(ApiError):
    """413."""


class UnsupportedMedia(ApiError):
    """415: not a supported image or video (sniffed from the bytes)."""


class Invalid(ApiError):
    """422: a field is missing or malformed, or the content is unusable."""


class RateLimited(ApiError):
    """429: see `retry_after`."""


class Unavailable(ApiError):
    """503: overloaded or not configured; see `retry_after`."""


BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMedia,
    422: Invalid,
    429: RateLimited,
    503: Unavailable,
}


def from_answer(status: int, body: object, retry_after: str | None) -> ApiError:
    """The exception for an error answer (a body not in the error shape still raises)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        code, message = error["code"], str(error.get("message", ""))
    else:
        code, message = "http_error", f"the service answered {status} without an error body"
    try:
        wait = float(retry_after) if retry_after is not None else None
    except ValueError:
        wait = None
    return BY_STATUS.get(status, ApiError)(status, code, message, wait)
