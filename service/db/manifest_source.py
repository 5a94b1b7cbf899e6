"""The manifest repository as the labeler reads it: `labeler.stores.ManifestRepository`.

The recovery signal asks for one durable id per upload that carries the
platform's mark (most carry none and never ask), so a lookup is one primary-key
SELECT with no cache: a rendition made by another worker a moment ago is found.

`from_env` is registered as the `aigc_provenance.manifest_repository` entry
point, so `labeler.Engine.from_env()` finds the repository without importing
the service.
"""

from __future__ import annotations

from labeler.stores import StoredRendition

from .base import database_url, session_scope
from .manifests import ManifestRow, get_record


def stored(row: ManifestRow) -> StoredRendition:
    return StoredRendition(
        durable_id=row.durable_id,
        manifest_id=row.manifest_id,
        ai_class=row.ai_class,
        label=row.label,
        origin=row.origin,
        pdq=row.pdq,
        pdq_unboxed=row.pdq_unboxed,
        phash=row.phash,
        features=row.features,
        thumbnail=row.thumbnail,
    )


class DatabaseRepository:
    """Renditions in the service's database (`manifest_repository`)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()

    def lookup(self, durable_id: str) -> StoredRendition | None:
        # a failure is not "nothing found": the engine reports it in signals.errors
        with session_scope(self.url) as session:
            row = get_record(session, durable_id)
            return stored(row) if row is not None else None


def from_env() -> DatabaseRepository:
    return DatabaseRepository()
