"""Imports every table module so that `Base.metadata` knows the whole schema."""

from . import audit, keys  # noqa: F401  # isort: skip  (audit trail, API keys)
from . import bank  # noqa: F401  # isort: skip  (bank of known media, bank version)
from . import bank_video  # noqa: F401  # isort: skip  (video bank fingerprints)
from . import jobs  # noqa: F401  (batch scan jobs and per-file results)
from .base import Base

__all__ = ["Base"]


def ensure_schema(url: str | None = None) -> None:
    """Bring the database to the newest schema: Alembic's upgrade to head.

    The migrations live in service/db/migrations; this is cheap when the
    database is already current (one SELECT of its version), so callers may
    call it before every use.
    """
    from . import migrations

    if not migrations.is_current(url):
        migrations.upgrade(url)
