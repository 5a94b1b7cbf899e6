"""The bank store: known manipulated media in the service's database, and the
in-memory index every worker matches against.

Function API (for the CLI, the HTTP service and batch jobs; every function
takes an optional `url`, default `service.db.base.database_url()`):

    add_entry(data=None, *, filename=None, pdq_hex=None, category, severity=None,
              note=None, source=None, added_by=None, external_id=None) -> Entry
        From media bytes (decoded, hashed: PDQ + dihedrals + unboxed + pHash +
        ORB features) or from a bare PDQ hex hash. Raises InvalidEntry (bad
        category / hash / media), LowQuality (too flat to identify),
        DuplicateEntry (the same media is already active).
    get_entry(entry_id) -> Entry                        EntryNotFound
    list_entries(*, category=None, source=None, active=True, page=1,
                 per_page=50) -> EntryPage           active=None lists removed too
    remove_entry(entry_id, *, removed_by=None) -> Entry  soft delete; EntryNotFound
    import_entries(path_or_text, fmt=None, *, added_by=None, defaults...) -> ImportReport
    export_entries(path, fmt=None, *, include_inactive=False) -> int
    bank_version() -> int
    lookup_pdq_hex(hex, *, radius=None) -> list[matching.Match]   (InvalidEntry on bad hex)
    hma_lookup(signal_type, signal) -> {category: [{"bank_content_id", "distance"}]}
        HMA's `GET /m/lookup?signal_type=pdq&signal=HEX` answer (banks are our categories).
    index_cache(url=None) -> BankIndexCache    one per process and URL
    BankIndexCache.current() -> matching.Bank   rebuilt when bank_version() moves

The index side (`bank_version`, `load_bank`, `BankIndexCache`) lives with
the labeler (a floor below), because it matches every upload against it;
`index.py` is the one module here that takes those names from it.

Modules by role: `errors` (the exception family), `validation` (categories,
severities, hashes, bounded text), `media` (hashes and video fingerprints
computed from media bytes), `store` (entries in the database and the bank
version), `transfer` (import/export formats), `index` (the in-memory index
and PDQ lookups), `hma` (the HMA-compatible lookup).

Every error is a BankStoreError with `.code` (snake_case) and `.http_status`
(400, 404, 409, 415, 422) so the HTTP layer maps them without a table of
its own. Entries as returned never carry feature blobs; `Entry.to_dict()`
is the JSON form used by the API and `aigc bank list --json`.

Import/export formats are documented in matching/README.md.
"""

from .errors import (
    BankStoreError,
    DuplicateEntry,
    EntryNotFound,
    InvalidEntry,
    InvalidMedia,
    LowQuality,
)
from .hma import hma_lookup
from .index import (
    BankIndexCache,
    bank_version,
    drop_index_caches,
    index_cache,
    load_bank,
    lookup_pdq_hex,
)
from .media import hash_media
from .store import Entry, EntryPage, add_entry, get_entry, list_entries, remove_entry
from .transfer import EXPORT_FIELDS, ImportReport, export_entries, import_entries
from .validation import CATEGORIES, SEVERITIES, SOURCES, check_category, check_severity

__all__ = [
    "CATEGORIES",
    "EXPORT_FIELDS",
    "SEVERITIES",
    "SOURCES",
    "BankIndexCache",
    "BankStoreError",
    "DuplicateEntry",
    "Entry",
    "EntryNotFound",
    "EntryPage",
    "ImportReport",
    "InvalidEntry",
    "InvalidMedia",
    "LowQuality",
    "add_entry",
    "bank_version",
    "check_category",
    "check_severity",
    "drop_index_caches",
    "export_entries",
    "get_entry",
    "hash_media",
    "hma_lookup",
    "import_entries",
    "index_cache",
    "list_entries",
    "load_bank",
    "lookup_pdq_hex",
    "remove_entry",
]
