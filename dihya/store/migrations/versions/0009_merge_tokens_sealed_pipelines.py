"""join the API tokens, sealed columns and pipeline runs branches (one head again)

Revision ID: 0009
Revises: 0008_api_tokens, 0008s, 0008p
Create Date: 2026-12-02 05:40:00
"""

from collections.abc import Sequence

revision: str = '0009'
down_revision: str | Sequence[str] | None = ('0008_api_tokens', '0008s', '0008p')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
