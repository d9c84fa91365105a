"""an index on the commitment each cheer is about

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 09:00:00.000000

Whether a commitment keeps its words asks, for each of the reader's own commitments on the
group's day, whether anyone has cheered it; and withdrawing a commitment lets the cheers about
it stay, setting their commitment to NULL. Without this index both read through every cheer
its author ever received, or every cheer there is.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_encouragements_commitment', 'encouragements', ['commitment_id'])


def downgrade() -> None:
    op.drop_index('ix_encouragements_commitment', table_name='encouragements')
