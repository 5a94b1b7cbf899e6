"""The match signal: the upload against the bank of known manipulated media.

The bank lives in the service's database (written by `service/bank.py`,
tables in `service/db/bank.py`). The labeler sits below the service, so it
reads those tables through SQLAlchemy Core by name: the columns below are
the read contract, and tests/labeler/test_signal_match.py checks them
against the service's ORM models. Each worker keeps one in-memory
`matching.Bank` and rebuilds it when `bank_state.version` moves, which every
change to the bank bumps in the same transaction (works across processes
and machines on PostgreSQL, like HMA's bank checkpoints).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
)
from sqlalchemy.exc import OperationalError, ProgrammingError

import matching

from .media import Media
from .signals import MatchSignal

# the read contract with service/db/bank.py (never used to create tables)
_meta = MetaData()
ENTRIES = Table(
    "bank_entries",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("category", String),
    Column("severity", String),
    Column("active", Boolean),
    Column("pdq", String),
    Column("pdq_unboxed", String),
    Column("phash", String),
    Column("features", LargeBinary),
)
STATE = Table(
    "bank_state", _meta, Column("id", Integer, primary_key=True), Column("version", Integer)
)


def _database_url() -> str:
    import os

    url = os.environ.get("AIGC_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path.cwd() / 'data' / 'aigc.db'}"


def _exists(url: str) -> bool:
    # reading must not create an empty SQLite file as a side effect
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return Path(url.removeprefix("sqlite:///")).exists()
    return True


@lru_cache(maxsize=8)
def _engine(url: str):
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def bank_version(url: str | None = None) -> int:
    """The bank's version; 0 when the database or its bank tables do not exist yet."""
    url = url or _database_url()
    if not _exists(url):
        return 0
    try:
        with _engine(url).connect() as conn:
            version = conn.scalar(select(STATE.c.version).where(STATE.c.id == 1))
    except (OperationalError, ProgrammingError):
        return 0  # no bank_state table: nothing was ever banked here
    return int(version or 0)


def load_bank(
    url: str | None = None, config: matching.MatchConfig | None = None
) -> tuple[matching.Bank, int]:
    """A matching.Bank of every active entry, and the bank version it reflects."""
    url = url or _database_url()
    bank = matching.Bank(config or matching.MatchConfig())
    if bank_version(url) == 0:
        return bank, 0
    engine = _engine(url)
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
    key SELECT), so `current()` is cheap enough for every upload. A rebuild
    swaps the new Bank in whole; callers holding the old one finish with it.
    """

    def __init__(
        self,
        url: str | None = None,
        config: matching.MatchConfig | None = None,
        check_interval: float = 1.0,
    ):
        self.url = url or _database_url()
        self.config = config or matching.MatchConfig()
        self.check_interval = check_interval
        self._bank: matching.Bank | None = None
        self._version = -1
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        return self._version

    def current(self) -> matching.Bank:
        if self._bank is not None and time.monotonic() - self._checked < self.check_interval:
            return self._bank
        # while one thread checks or rebuilds (seconds at 10^6 entries), the
        # others go on with the bank they have instead of queueing behind it
        if not self._lock.acquire(blocking=self._bank is None):
            return self._bank
        try:
            if self._bank is None or time.monotonic() - self._checked >= self.check_interval:
                version = bank_version(self.url)
                if self._bank is None or version != self._version:
                    self._bank, self._version = load_bank(self.url, self.config)
                self._checked = time.monotonic()
            return self._bank
        finally:
            self._lock.release()

    def refresh(self) -> matching.Bank:
        """Check the version now (after a change this process made, say)."""
        self._checked = 0.0
        return self.current()


_caches: dict[str, BankIndexCache] = {}
_caches_lock = threading.Lock()


def shared_cache(url: str | None = None) -> BankIndexCache:
    """This process's one cache per database, shared by the engine and the service."""
    url = url or _database_url()
    with _caches_lock:
        if url not in _caches:
            _caches[url] = BankIndexCache(url)
        return _caches[url]


def mark_stale(url: str | None = None) -> None:
    """After this process changed the bank: make the next `current()` check at once."""
    url = url or _database_url()
    with _caches_lock:
        cache = _caches.get(url)
    if cache is not None:
        cache._checked = 0.0


def drop_caches() -> None:
    """Forget every cached bank (they are rebuilt on next use)."""
    with _caches_lock:
        _caches.clear()


def bank_from_env() -> BankIndexCache:
    """The bank of the database named by AIGC_DATABASE_URL; loaded on first use.

    Cheap when there is no bank: no database file is created, and an empty
    bank makes `gather` return at once without hashing.
    """
    return shared_cache(_database_url())


@dataclass(frozen=True)
class BankShape:
    """What the upload's side of a lookup must know of the bank: which hashes to compute.

    It lets the hashing run where the bank is not (an analysis process) while
    the lookup runs where the bank index lives, loaded once per worker.
    """

    # active entries of the upload's kind; none: nothing to hash
    entries: int = 0
    # some entry carries local features, so the query brings its own (second stage)
    features: bool = False


@dataclass(frozen=True)
class MatchQuery:
    """The upload's side of a bank lookup, computed from its pixels alone."""

    kind: str
    shape: BankShape
    hashes: matching.Hashes | None = None
    # sampled frames' fingerprint (videos)
    video: Any = None


def _bank(source) -> matching.Bank:
    return source.current() if hasattr(source, "current") else source


def shape(source, kind: str) -> BankShape | None:
    """The bank's shape for an upload of `kind`; None when no bank is configured."""
    if source is None:
        return None
    if kind == "video":
        # imported here: it pulls in PyAV
        from . import video_match

        videos = video_match.entries(source)
        return None if videos is None else BankShape(entries=videos)
    bank = _bank(source)
    return BankShape(entries=len(bank), features=bank.wants_features if len(bank) else False)


def prepare(media: Media, bank: BankShape | None) -> MatchQuery | None:
    """Hash the upload for a bank of this shape (no bank access; safe in any process)."""
    if bank is None or not media.frames or media.kind not in ("image", "video"):
        return None
    if not bank.entries:
        return MatchQuery(media.kind, bank)
    if media.kind == "video":
        from . import video_match

        return MatchQuery(media.kind, bank, video=video_match.prepare(media))
    wants = bank.features
    hashes = matching.compute_hashes(
        media.frames[0], features=wants, mirrored_features=wants, for_query=True
    )
    return MatchQuery(media.kind, bank, hashes=hashes)


def resolve(query: MatchQuery | None, source) -> MatchSignal | None:
    """The lookup of a prepared query in the bank (where the bank index lives)."""
    if query is None or source is None:
        return None
    if not query.shape.entries:
        return MatchSignal()
    if query.kind == "video":
        from . import video_match

        return video_match.resolve(query.video, source)
    hashes = query.hashes
    return to_signal(_bank(source).lookup(hashes), query_pdq=hashes.pdq_hex)


def gather(media: Media, engine) -> MatchSignal | None:
    source = getattr(engine, "bank", None)
    return resolve(prepare(media, shape(source, media.kind)), source)


def to_signal(result: matching.LookupResult, query_pdq: str | None = None) -> MatchSignal:
    """The flat summary the policy reads: the best match, else the nearest near match."""
    hit = result.best or (result.near[0] if result.near else None)
    if hit is not None:
        return MatchSignal(
            matched=result.best is not None,
            entry_id=hit.entry_id,
            category=hit.category,
            severity=hit.severity,
            distance=hit.distance,
            hash_type=hit.hash_type,
            stage=hit.stage,
            near_match=result.best is None,
            low_quality=result.low_quality,
            query_pdq=query_pdq,
        )
    return MatchSignal(low_quality=result.low_quality, query_pdq=query_pdq)
