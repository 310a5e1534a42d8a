"""numeric server ids for the API's serveurs/{id} (issue 13): stable, assigned at insert, never reused

Revision ID: 0012_server_ids
Revises: 0011_reports
Create Date: 2026-12-02 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_server_ids'
down_revision: str | Sequence[str] | None = '0011_reports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id', sa.Integer(), nullable=True))
    conn = op.get_bind()
    names = conn.execute(sa.text("SELECT name FROM servers ORDER BY name")).scalars().all()
    for number, name in enumerate(names, start=1):  # existing servers: 1..n in name order
        conn.execute(sa.text("UPDATE servers SET id = :id WHERE name = :name"), {"id": number, "name": name})
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.alter_column('id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_servers_id', ['id'])
    op.create_table(
        'server_id_counter',
        sa.Column('name', sa.String(length=16), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    conn.execute(sa.text("INSERT INTO server_id_counter (name, last) VALUES ('servers', :n)"), {"n": len(names)})


def downgrade() -> None:
    op.drop_table('server_id_counter')
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.drop_constraint('uq_servers_id', type_='unique')
        batch_op.drop_column('id')
