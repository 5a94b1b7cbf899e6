"""Imports every table module so that `Base.metadata` knows the whole schema."""

from . import audit, keys  # noqa: F401  # isort: skip  (audit trail, API keys)
from . import bank  # noqa: F401  # isort: skip  (bank of known media, bank version)
from . import bank_video  # noqa: F401  # isort: skip  (video bank fingerprints)
from . import jobs  # noqa: F401  (batch scan jobs and per-file results)
from .base import Base

__all__ = ["Base"]


def ensure_schema(url: str | None = None) -> None:
    """Create or upgrade the schema (the service issue moves this to Alembic)."""
    from .base import get_engine

    Base.metadata.create_all(get_engine(url))
