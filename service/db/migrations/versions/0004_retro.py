"""retroactive matching jobs, flood counts, bank entry quarantine

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retro_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('entry_ids', sa.JSON(), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cursor_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cursor_id', sa.String(length=32), nullable=True),
    sa.Column('scanned', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('retro_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_retro_jobs_state', ['state', 'id'], unique=False)

    op.create_table('bank_match_counts',
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('matches', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', 'hour')
    )
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('quarantine_case_id', sa.String(length=32), nullable=True))
    # the look back walks the recent scans in time order
    with op.batch_alter_table('scan_audit', schema=None) as batch_op:
        batch_op.create_index('ix_scan_audit_created', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scan_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_audit_created')
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.drop_column('quarantine_case_id')
        batch_op.drop_column('quarantined_at')
    op.drop_table('bank_match_counts')
    with op.batch_alter_table('retro_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_retro_jobs_state')
    op.drop_table('retro_jobs')
