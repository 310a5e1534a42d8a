"""join the alerts and compliance branches

Revision ID: 0007
Revises: 0006a, 0006b
Create Date: 2026-11-24 14:38:34.654979
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | Sequence[str] | None = ('0006a', '0006b')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
