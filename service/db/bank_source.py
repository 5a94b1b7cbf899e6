"""The bank as the labeler reads it: the service's implementation of `labeler.stores.BankSource`.

The labeler declares what the match signal needs (the bank's current image
and video indexes, and their version); this module reads them from the
service's own tables (service/db/bank.py, service/db/bank_video.py) through
the service's engine (service/db/base.py). Each worker keeps one in-memory
`matching.Bank` per database and rebuilds it when `bank_state.version`
moves, which every change to the bank bumps in the same transaction (works
across processes and machines on PostgreSQL, like HMA's bank checkpoints).

`from_env` is registered as the `aigc_provenance.bank_source` entry point,
so `labeler.Engine.from_env()` finds the bank without importing the service.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError

import matching
from matching.video import Keyframes, VideoFingerprint, VideoIndex

from .bank import BankEntryRow, BankStateRow
from .bank_video import BankVideoKeyframesRow, BankVideoRow
from .base import database_url, get_engine

log = logging.getLogger(__name__)

ENTRIES = BankEntryRow.__table__
STATE = BankStateRow.__table__
VIDEOS = BankVideoRow.__table__
KEYFRAMES = BankVideoKeyframesRow.__table__


def _exists(url: str) -> bool:
    # reading must not create an empty SQLite file as a side effect
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return Path(url.removeprefix("sqlite:///")).exists()
    return True


def bank_version(url: str | None = None) -> int:
    """The bank's version; 0 when the database or its bank tables do not exist yet."""
    url = url or database_url()
    if not _exists(url):
        return 0
    try:
        with get_engine(url).connect() as conn:
            version = conn.scalar(select(STATE.c.version).where(STATE.c.id == 1))
    except (OperationalError, ProgrammingError):
        return 0  # no bank_state table: nothing was ever banked here
    return int(version or 0)


def load_bank(
    url: str | None = None, config: matching.MatchConfig | None = None
) -> tuple[matching.Bank, int]:
    """A matching.Bank of every active entry, and the bank version it reflects."""
    url = url or database_url()
    bank = matching.Bank(config or matching.MatchConfig())
    if bank_version(url) == 0:
        return bank, 0
    engine = get_engine(url)
    if not inspect(engine).has_table(ENTRIES.name):
        return bank, 0
    c = ENTRIES.c
    active = c.active.is_(True)
    with engine.connect() as conn, conn.begin():
        # the version read in the same transaction as the rows it describes
        version = int(conn.scalar(select(STATE.c.version).where(STATE.c.id == 1)) or 0)
        query = (
            select(c.id, c.pdq, c.pdq_unboxed, c.phash, c.category, c.severity)
            .where(active)
            .order_by(c.id)
        )
        # plain DBAPI tuples: SQLAlchemy's Row objects cost ~1 s per 10^6 rows and
        # none of these columns needs a result processor (ids, text)
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        # only entries added from media carry features: a second, small query
        blobs = conn.execute(select(c.id, c.features).where(active, c.features.is_not(None))).all()
    if rows:
        bank.add_entries(**_columns(rows, blobs))
        # the second stage's index too, before anyone looks up with this bank
        bank.warm()
    return bank, version


def _columns(rows, blobs) -> dict:
    """Bank.add_entries arguments from (id, pdq, pdq_unboxed, phash, category, severity) rows.

    Hex columns are decoded in bulk (matching.codes.from_hex_column). A row
    whose PDQ does not parse is left out (a hand-edited row must not take
    the whole bank down); a bad unboxed PDQ or pHash only loses that hash.
    """
    # an object array transposes 10^6 rows about twice as fast as zip(*rows)
    table = np.array(rows, dtype=object).reshape(len(rows), 6)
    ids, pdq_hex, unboxed_hex, phash_hex, categories, severities = (
        table[:, j].tolist() for j in range(6)
    )
    pdq, ok = matching.codes.from_hex_column(pdq_hex, matching.codes.PDQ_BYTES)
    unboxed, has_unboxed = matching.codes.from_hex_column(unboxed_hex, matching.codes.PDQ_BYTES)
    phash, has_phash = matching.codes.from_hex_column(phash_hex, matching.codes.PHASH_BYTES)
    features = {}
    if blobs:
        row_of = {eid: i for i, eid in enumerate(ids)}
        for eid, blob in blobs:
            # a corrupt blob costs the second stage, not the entry
            with contextlib.suppress(matching.InvalidFeatures):
                if eid in row_of:
                    features[row_of[eid]] = matching.LocalFeatures.from_blob(blob)
    keep = None if ok.all() else np.flatnonzero(ok)
    if keep is not None:
        position = np.full(len(ids), -1, np.int64)
        position[keep] = np.arange(len(keep))
        features = {int(position[r]): f for r, f in features.items() if position[r] >= 0}
        ids, categories, severities = (
            [col[i] for i in keep.tolist()] for col in (ids, categories, severities)
        )
        pdq, unboxed, has_unboxed = pdq[keep], unboxed[keep], has_unboxed[keep]
        phash, has_phash = phash[keep], has_phash[keep]
    return dict(
        entry_ids=ids,
        pdq=pdq,
        pdq_unboxed=unboxed,
        unboxed_mask=has_unboxed,
        phash=phash,
        phash_mask=has_phash,
        categories=categories,
        severities=severities,
        features=features,
    )


class BankIndexCache:
    """A worker's in-memory bank, rebuilt when the database's bank version moves.

    The version is read at most every `check_interval` seconds (one primary
    key SELECT), so `current()` is cheap enough for every upload. When another
    process moved the version, the new bank is built on a thread of its own
    (seconds at 10^6 entries) while every upload goes on with the bank it has;
    it is swapped in whole when ready. After a change this process made
    (`mark_stale`, `refresh`) the next `current()` waits for the new bank, so
    a caller reads its own write.
    """

    def __init__(
        self,
        url: str | None = None,
        config: matching.MatchConfig | None = None,
        check_interval: float = 1.0,
    ):
        self.url = url or database_url()
        self.config = config or matching.MatchConfig()
        self.check_interval = check_interval
        self._bank: matching.Bank | None = None
        self._version = -1
        self._checked = 0.0
        self._wait_for_next = False
        self._building: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        return self._version

    def current(self) -> matching.Bank:
        if self._bank is not None and time.monotonic() - self._checked < self.check_interval:
            return self._bank
        if self._bank is None or self._wait_for_next:
            return self._load_now()
        # one thread checks at a time; the others go on with the bank they have
        if not self._lock.acquire(blocking=False):
            return self._bank
        try:
            if time.monotonic() - self._checked >= self.check_interval:
                version = bank_version(self.url)
                self._checked = time.monotonic()
                if version != self._version and self._building is None:
                    self._building = threading.Thread(
                        target=self._build, name="aigc-bank-rebuild", daemon=True
                    )
                    self._building.start()
            return self._bank
        finally:
            self._lock.release()

    def _load_now(self) -> matching.Bank:
        with self._lock:
            if self._bank is None or self._wait_for_next:
                self._wait_for_next = False
                if self._bank is None or bank_version(self.url) != self._version:
                    self._swap(*load_bank(self.url, self.config))
                self._checked = time.monotonic()
            return self._bank

    def _build(self) -> None:
        try:
            bank, version = load_bank(self.url, self.config)
        except Exception:  # the old bank stays; the next check tries again
            log.exception("rebuilding the bank index of %s failed", self.url)
            bank = None
        with self._lock:
            if bank is not None:
                self._swap(bank, version)
            self._building = None

    def _swap(self, bank: matching.Bank, version: int) -> None:
        # versions only grow: a slower build of an older version never replaces a newer one
        if self._bank is None or version >= self._version:
            self._bank, self._version = bank, version

    def mark_stale(self) -> None:
        """This process changed the bank: the next `current()` waits for the new one."""
        self._wait_for_next = True
        self._checked = 0.0

    def refresh(self) -> matching.Bank:
        """Check the version now and wait for the new bank (after a change this process made)."""
        self.mark_stale()
        return self.current()


_caches: dict[str, BankIndexCache] = {}
_caches_lock = threading.Lock()


def shared_cache(url: str | None = None) -> BankIndexCache:
    """This process's one cache per database, shared by the engine and the service."""
    url = url or database_url()
    with _caches_lock:
        if url not in _caches:
            _caches[url] = BankIndexCache(url)
        return _caches[url]


def mark_stale(url: str | None = None) -> None:
    """After this process changed the bank: make the next `current()` check at once."""
    url = url or database_url()
    with _caches_lock:
        cache = _caches.get(url)
    if cache is not None:
        cache.mark_stale()


def drop_caches() -> None:
    """Forget every cached bank and video index (they are rebuilt on next use)."""
    with _caches_lock:
        _caches.clear()
    with _video_lock:
        _video_cache.clear()
    with _confirmed_lock:
        _confirmed_cache.clear()


def load_video_index(url: str) -> tuple[VideoIndex, dict[str, tuple[str, str | None]]]:
    """Every active video entry: the index and each entry's (category, severity)."""
    index, meta = VideoIndex(), {}
    if not _exists(url):
        return index, meta
    engine = get_engine(url)
    tables = inspect(engine)
    if not tables.has_table(VIDEOS.name):
        return index, meta
    query = (
        select(VIDEOS.c.entry_id, VIDEOS.c.fingerprint, ENTRIES.c.category, ENTRIES.c.severity)
        .join(ENTRIES, ENTRIES.c.id == VIDEOS.c.entry_id)
        .where(ENTRIES.c.active.is_(True))
        .order_by(VIDEOS.c.entry_id)
    )
    if tables.has_table(KEYFRAMES.name):
        query = query.add_columns(KEYFRAMES.c.keyframes).outerjoin(
            KEYFRAMES, KEYFRAMES.c.entry_id == VIDEOS.c.entry_id
        )
    with engine.connect() as conn:
        for entry_id, text, category, severity, *rest in conn.execute(query):
            keyframes = _keyframes(entry_id, rest[0] if rest else None)
            try:
                index.add(str(entry_id), VideoFingerprint.from_dict(json.loads(text)), keyframes)
            except (ValueError, TypeError):
                continue  # a corrupt row must not take the whole bank down
            meta[str(entry_id)] = (category, severity)
    return index, meta


def _keyframes(entry_id, blob: bytes | None) -> Keyframes | None:
    """A stored keyframes blob, or None (older entries, or a corrupt blob: vPDQ still works)."""
    if blob is None:
        return None
    try:
        return Keyframes.from_blob(bytes(blob))
    except matching.InvalidFeatures:
        log.warning("video entry %s: unreadable keyframes, matched by vPDQ alone", entry_id)
        return None


# url -> (bank version, index, meta): rebuilt when the image cache's version moves
_video_cache: dict[str, tuple[int, VideoIndex, dict]] = {}
_video_lock = threading.Lock()


# url -> (bank version, ids of confirmed active entries); a verdict moves the version
_confirmed_cache: dict[str, tuple[int, frozenset[str]]] = {}
_confirmed_lock = threading.Lock()


def load_confirmed(url: str) -> frozenset[str]:
    """Ids of the active entries a person confirmed (few: one per confirmed verdict)."""
    if not _exists(url):
        return frozenset()
    c = ENTRIES.c
    # a quarantined entry stops removing at once: its matches escalate to a person
    query = select(c.id).where(
        c.active.is_(True), c.confirmed_at.is_not(None), c.quarantined_at.is_(None)
    )
    try:
        with get_engine(url).connect() as conn:
            return frozenset(str(i) for i in conn.scalars(query))
    except (OperationalError, ProgrammingError):
        return frozenset()  # no bank table yet


class DatabaseBankSource:
    """`labeler.stores.BankSource` on the database at `url` (this process's shared caches)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()

    @property
    def cache(self) -> BankIndexCache:
        return shared_cache(self.url)

    def version(self) -> int:
        return self.cache.version

    def image_index(self) -> matching.Bank:
        return self.cache.current()

    def is_confirmed(self, entry_id: str) -> bool:
        """`labeler.stores.ConfirmedEntries`: a person's verdict confirmed this entry."""
        cache = self.cache
        cache.current()  # refreshes `cache.version` when the bank moved
        version = cache.version
        with _confirmed_lock:
            cached = _confirmed_cache.get(self.url)
            if cached is None or cached[0] != version:
                _confirmed_cache[self.url] = cached = (version, load_confirmed(self.url))
        return entry_id in cached[1]

    def video_index(self) -> tuple[VideoIndex, dict[str, tuple[str, str | None]]]:
        cache = self.cache
        cache.current()  # refreshes `cache.version` when the bank moved
        version = cache.version
        with _video_lock:
            cached = _video_cache.get(self.url)
            if cached is None or cached[0] != version:
                index, meta = load_video_index(self.url)
                _video_cache[self.url] = cached = (version, index, meta)
        return cached[1], cached[2]


def from_env() -> DatabaseBankSource:
    """The bank of the database named by AIGC_DATABASE_URL; loaded on first use.

    Cheap when there is no bank: no database file is created, and an empty
    bank makes the match signal return at once without hashing.
    """
    return DatabaseBankSource(database_url())
