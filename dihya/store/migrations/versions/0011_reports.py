"""generated operations reports (issue 17)

Revision ID: 0011_reports
Revises: 0010_webhooks
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_reports'
down_revision: str | Sequence[str] | None = '0010_webhooks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ops_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=300), nullable=False),
        sa.Column('locale', sa.String(length=8), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('period_key', sa.String(length=340), nullable=True),
        sa.Column('since_us', sa.BigInteger(), nullable=False),
        sa.Column('until_us', sa.BigInteger(), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('markdown', sa.Text(), nullable=False),
        sa.Column('png', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_reports')),
        sa.UniqueConstraint('period_key', name=op.f('uq_ops_reports_period_key')),
    )
    op.create_index(op.f('ix_ops_reports_created_us'), 'ops_reports', ['created_us'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ops_reports_created_us'), table_name='ops_reports')
    op.drop_table('ops_reports')
