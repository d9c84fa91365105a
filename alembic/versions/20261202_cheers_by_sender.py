"""an index on who sent each cheer, and when

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 09:00:00.000000

A cheer's rate limit counts its sender's cheers of the last minute. Without this index that
count read through every cheer ever sent to find them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_encouragements_from_user', 'encouragements', ['from_user_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_encouragements_from_user', table_name='encouragements')
