"""The in-memory index every worker matches against, and lookups in it.

The index itself (`bank_version`, `load_bank`, `BankIndexCache`) is the
service's bank source (service/db/bank_source.py), which the labeler's match
signal reads through its `BankSource` interface; this is the one place the
bank package takes those names from.
"""

from __future__ import annotations

import matching

from ..db.bank_source import (
    BankIndexCache,
    bank_version,
    drop_caches,
    load_bank,
    mark_stale,
    shared_cache,
)
from ..db.base import database_url
from .errors import InvalidEntry


def index_cache(url: str | None = None) -> BankIndexCache:
    """This process's cache for a database, the same one the engine's bank source reads."""
    return shared_cache(url or database_url())


def drop_index_caches() -> None:
    drop_caches()


def lookup_pdq_hex(
    pdq_hex: str, *, radius: int | None = None, url: str | None = None
) -> list[matching.Match]:
    """Active entries within `radius` (default 31) of a PDQ hex hash, closest first."""
    try:
        code = matching.from_hex(pdq_hex, 32, "PDQ hash")
    except matching.InvalidHash as exc:
        raise InvalidEntry(str(exc)) from None
    if radius is not None and (not isinstance(radius, int) or not 0 <= radius <= 256):
        raise InvalidEntry("radius must be an integer within 0..256")
    return index_cache(url).current().lookup_pdq(code, radius)


__all__ = [
    "BankIndexCache",
    "bank_version",
    "drop_index_caches",
    "index_cache",
    "load_bank",
    "lookup_pdq_hex",
    "mark_stale",
]
