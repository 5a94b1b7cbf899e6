"""video bank entries: keyframes (ORB features) for cropped re-uploads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_video_keyframes',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('keyframes', sa.LargeBinary(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['bank_entries.id'], ),
    sa.PrimaryKeyConstraint('entry_id')
    )


def downgrade() -> None:
    op.drop_table('bank_video_keyframes')
