"""each member's language

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 11:45:00.000000

Members who signed up before this revision read Cairn in English, as they always have.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite has dropped columns since 3.35): a batch
# rebuild would lose the table's AUTOINCREMENT (see 0005).
def upgrade() -> None:
    op.add_column('users', sa.Column('language', sa.String(length=16), nullable=False,
                                     server_default='en'))


def downgrade() -> None:
    op.execute('ALTER TABLE users DROP COLUMN language')
