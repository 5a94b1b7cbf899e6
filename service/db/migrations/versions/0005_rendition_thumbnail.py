"""manifest repository: the upload's thumbnail for aligned fingerprint checks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('manifest_repository') as batch:
        batch.add_column(sa.Column('thumbnail', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('manifest_repository') as batch:
        batch.drop_column('thumbnail')
