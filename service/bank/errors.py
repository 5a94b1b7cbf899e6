"""The bank's one exception family: each error carries its own `code` and HTTP status,
so the HTTP layer maps them without a table of its own."""

from __future__ import annotations


class BankStoreError(Exception):
    code = "bank_error"
    http_status = 400


class InvalidEntry(BankStoreError):
    code = "invalid_entry"
    http_status = 422


class InvalidMedia(BankStoreError):
    code = "unsupported_media"
    http_status = 415


class LowQuality(BankStoreError):
    code = "low_quality_hash"
    http_status = 422


class EntryNotFound(BankStoreError):
    code = "entry_not_found"
    http_status = 404


class DuplicateEntry(BankStoreError):
    code = "duplicate_entry"
    http_status = 409
