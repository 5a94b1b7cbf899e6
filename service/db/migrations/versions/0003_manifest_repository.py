"""the manifest repository: renditions by durable id

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:28:59.933450
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('manifest_repository',
    sa.Column('durable_id', sa.String(length=16), nullable=False),
    sa.Column('manifest_id', sa.String(length=128), nullable=False),
    sa.Column('manifest_store', sa.LargeBinary(), nullable=False),
    sa.Column('mime', sa.String(length=32), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('rendition_sha256', sa.String(length=64), nullable=False),
    sa.Column('scan_id', sa.String(length=64), nullable=True),
    sa.Column('credentials', sa.JSON(), nullable=False),
    sa.Column('decision', sa.JSON(), nullable=False),
    sa.Column('ai_class', sa.String(length=32), nullable=True),
    sa.Column('label', sa.String(length=16), nullable=True),
    sa.Column('origin', sa.Text(), nullable=True),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('pdq_quality', sa.Integer(), nullable=True),
    sa.Column('pdq_unboxed', sa.String(length=64), nullable=True),
    sa.Column('phash', sa.String(length=16), nullable=True),
    sa.Column('features', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('durable_id')
    )
    with op.batch_alter_table('manifest_repository', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_repository_manifest_id'), ['manifest_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_manifest_repository_pdq'), ['pdq'], unique=False)
        batch_op.create_index(batch_op.f('ix_manifest_repository_source_sha256'), ['source_sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('manifest_repository', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_repository_source_sha256'))
        batch_op.drop_index(batch_op.f('ix_manifest_repository_pdq'))
        batch_op.drop_index(batch_op.f('ix_manifest_repository_manifest_id'))

    op.drop_table('manifest_repository')
