"""A Python client of the HTTP API (httpx): typed results, the service's errors as exceptions.

from service.client import Client, ApiError

with Client("http://127.0.0.1:8000", api_key) as aigc:
    result = aigc.scan("photo.jpg")
"""

from .client import Client
from .errors import (
    ApiError,
    ClientError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    TransportError,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
)
from .models import ApiKey, BankEntry, BankPage, BatchJob, Decision, LabelCheck, Reason, ScanResult

__all__ = [
    "ApiError",
    "ApiKey",
    "BankEntry",
    "BankPage",
    "BatchJob",
    "Client",
    "ClientError",
    "Conflict",
    "Decision",
    "Forbidden",
    "Invalid",
    "LabelCheck",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Reason",
    "ScanResult",
    "TransportError",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMedia",
]
