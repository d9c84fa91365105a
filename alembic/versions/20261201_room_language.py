"""each practice room's language, and each plan's

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 09:00:00.000000

A room is opened in one language, so everyone in it reads the same scenario card; a planned
session opens its room in its plan's language. Rooms opened before this revision read their
cards in English, as they always did; plans made before it take their planner's language.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases, as in 0013: a batch rebuild would lose the tables'
# AUTOINCREMENT.
def upgrade() -> None:
    for table in ('roleplay_rooms', 'practice_plans'):
        op.add_column(table, sa.Column('language', sa.String(length=16), nullable=False,
                                       server_default='en'))
    op.execute("UPDATE practice_plans SET language = (SELECT users.language FROM users "
               "WHERE users.id = practice_plans.planned_by) WHERE planned_by IS NOT NULL")


def downgrade() -> None:
    for table in ('practice_plans', 'roleplay_rooms'):
        op.execute(f'ALTER TABLE {table} DROP COLUMN language')
