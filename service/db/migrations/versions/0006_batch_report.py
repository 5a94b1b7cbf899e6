"""batch results: the input's creator id and the file's PDQ (near-duplicate groups)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batch_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('creator_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('pdq', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batch_results', schema=None) as batch_op:
        batch_op.drop_column('pdq')
        batch_op.drop_column('creator_id')
