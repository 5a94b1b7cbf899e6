"""Imports every table module so that `Base.metadata` knows the whole schema.

Only declarations: bringing a database to this schema is service/db/migrations'
(`ensure_schema`), which imports this module, never the other way round.
"""

from . import audit, keys  # noqa: F401  # isort: skip  (audit trail, API keys)
from . import bank  # noqa: F401  # isort: skip  (bank of known media, bank version)
from . import bank_video  # noqa: F401  # isort: skip  (video bank fingerprints)
from . import jobs  # noqa: F401  # isort: skip  (batch scan jobs and per-file results)
from . import cases, outbox  # noqa: F401  # isort: skip  (review cases, negative bank, outbox)
from . import manifests  # noqa: F401  # isort: skip  (the manifest repository of renditions)
from . import retro  # noqa: F401  # isort: skip  (retroactive jobs, flood counts)
from .base import Base

__all__ = ["Base"]
