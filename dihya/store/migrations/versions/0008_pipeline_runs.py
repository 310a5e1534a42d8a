"""pipeline runs: CI/CD runs triggered from chat or reported by webhooks (issue 15)

Revision ID: 0008p
Revises: 0007
Create Date: 2026-12-02 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008p'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pipeline_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('project', sa.String(length=300), nullable=False),
    sa.Column('run_id', sa.String(length=100), nullable=False),
    sa.Column('pipeline', sa.String(length=100), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=255), nullable=False),
    sa.Column('sha', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('stages', sa.Text(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('default_branch', sa.String(length=255), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_runs')),
    sa.UniqueConstraint('provider', 'project', 'run_id', name=op.f('uq_pipeline_runs_provider'))
    )
    op.create_index(op.f('ix_pipeline_runs_created_us'), 'pipeline_runs', ['created_us'], unique=False)
    op.create_index(op.f('ix_pipeline_runs_job_id'), 'pipeline_runs', ['job_id'], unique=False)
    op.create_index(op.f('ix_pipeline_runs_pipeline'), 'pipeline_runs', ['pipeline'], unique=False)
    op.create_index(op.f('ix_pipeline_runs_service'), 'pipeline_runs', ['service'], unique=False)


def downgrade() -> None:
    op.drop_table('pipeline_runs')
