"""each member's cheers of the current minute, counted on their own row

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:00:00.000000

A cheer's rate limit no longer counts the sender's cheers of the last minute: the statement
that takes the sender's row counts them there, as the minute they began and how many came in
it. Members start this revision with nothing counted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import server.db
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases, as in 0013: a batch rebuild would lose the tables'
# AUTOINCREMENT.
def upgrade() -> None:
    op.add_column('users', sa.Column('cheers_since', server.db.UTCDateTime(timezone=True),
                                     nullable=True))
    op.add_column('users', sa.Column('cheers_counted', sa.Integer(), nullable=False,
                                     server_default='0'))


def downgrade() -> None:
    for column in ('cheers_counted', 'cheers_since'):
        op.execute(f'ALTER TABLE users DROP COLUMN {column}')
