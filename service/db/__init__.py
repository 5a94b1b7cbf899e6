"""One SQLAlchemy schema for the service, the bank, the audit trail and batch jobs.

Each table group lives in its own module on the shared `Base`; import
`service.db.models` to register them all (`service.db.migrations.ensure_schema`
brings a database to it).
"""

from .base import Base, database_url, get_engine, session_scope

__all__ = ["Base", "database_url", "get_engine", "session_scope"]
