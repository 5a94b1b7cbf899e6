"""The HMA-compatible lookup: hasher-matcher-actioner's `GET /m/lookup` answer."""

from __future__ import annotations

from .errors import InvalidEntry
from .index import lookup_pdq_hex


def hma_lookup(signal_type: str, signal: str, *, url: str | None = None) -> dict:
    """HMA's `/m/lookup` answer: {bank (our category): [{bank_content_id, distance}]}."""
    if signal_type != "pdq":
        raise InvalidEntry(f"signal_type {signal_type!r} is not supported (only 'pdq')")
    out: dict[str, list[dict]] = {}
    for m in lookup_pdq_hex(signal, url=url):
        # HMA sends distances as strings
        out.setdefault(m.category or "", []).append(
            {"bank_content_id": int(m.entry_id), "distance": str(m.distance)}
        )
    return out
