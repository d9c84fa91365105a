"""planned practice sessions and calendar links

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 05:37:49.897279

No plans and no calendar links exist until moderators and members make them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('show_group_names', sa.Boolean(), nullable=False),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash')),
    sa.UniqueConstraint('user_id', name=op.f('uq_calendar_feeds_user_id')),
    sqlite_autoincrement=True
    )
    op.create_table('practice_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('starts', sa.String(length=5), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=True),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('planned_by', sa.Integer(), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(on_date IS NULL) <> (weekday IS NULL)', name=op.f('ck_practice_plans_once_or_weekly')),
    sa.CheckConstraint('minutes BETWEEN 5 AND 480', name=op.f('ck_practice_plans_minutes_range')),
    sa.CheckConstraint('weekday IS NULL OR weekday BETWEEN 0 AND 6', name=op.f('ck_practice_plans_weekday_range')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_practice_plans_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['planned_by'], ['users.id'], name=op.f('fk_practice_plans_planned_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_plans')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('practice_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_plans_group_id'), ['group_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('practice_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_plans_group_id'))

    op.drop_table('practice_plans')
    op.drop_table('calendar_feeds')
