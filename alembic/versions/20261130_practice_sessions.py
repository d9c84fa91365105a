"""planned sessions that open themselves, and the practice reminder

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 07:30:00.000000

A planned session's room now opens itself at the planned time; each session it opened is kept
with what became of it. Members may ask to be reminded before a session: off for everyone
until they choose it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_NUDGES = "nudge IN ('morning', 'evening')"
NEW_NUDGES = "nudge IN ('morning', 'evening', 'practice')"


def _nudges(condition: str) -> None:
    for table in ('group_reminders', 'reminders_sent'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_nudge_known'), type_='check')
            batch_op.create_check_constraint('nudge_known', condition)


def upgrade() -> None:
    op.create_table('practice_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('decided_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('seen_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("outcome IN ('open', 'held', 'not_held')", name=op.f('ck_practice_sessions_outcome_known')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_practice_sessions_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['practice_plans.id'], name=op.f('fk_practice_sessions_plan_id_practice_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['roleplay_rooms.id'], name=op.f('fk_practice_sessions_room_id_roleplay_rooms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_sessions')),
    sa.UniqueConstraint('plan_id', 'starts_at', name=op.f('uq_practice_sessions_plan_id_starts_at')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_practice_sessions_group_id'), 'practice_sessions', ['group_id'], unique=False)
    # Not a batch: recreating reminder_habits for one column is needless.
    op.add_column('reminder_habits', sa.Column('practice', sa.Boolean(), server_default=sa.false(),
                                               nullable=False))
    _nudges(NEW_NUDGES)


def downgrade() -> None:
    op.execute("DELETE FROM group_reminders WHERE nudge = 'practice'")
    op.execute("DELETE FROM reminders_sent WHERE nudge = 'practice'")
    _nudges(OLD_NUDGES)
    with op.batch_alter_table('reminder_habits') as batch_op:
        batch_op.drop_column('practice')
    op.drop_index(op.f('ix_practice_sessions_group_id'), table_name='practice_sessions')
    op.drop_table('practice_sessions')
