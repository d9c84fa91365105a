"""gentle reminders: members' choices, their devices, and the reminders sent

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:06:02.528574

All reminders are off until a member chooses them: no rows are made for existing members.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('push_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.Text(), nullable=False),
    sa.Column('p256dh', sa.String(length=128), nullable=False),
    sa.Column('auth', sa.String(length=64), nullable=False),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_devices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_devices')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_devices_endpoint')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('push_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_devices_user_id'), ['user_id'], unique=False)

    op.create_table('reminder_habits',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('morning', sa.String(length=5), nullable=True),
    sa.Column('evening', sa.String(length=5), nullable=True),
    sa.Column('quiet_from', sa.String(length=5), nullable=True),
    sa.Column('quiet_until', sa.String(length=5), nullable=True),
    sa.Column('snoozed_until', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminder_habits_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_reminder_habits')),
    sqlite_autoincrement=True
    )
    op.create_table('reminders_sent',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('nudge', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', sa.String(length=5), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('claimed_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("nudge IN ('morning', 'evening')", name=op.f('ck_reminders_sent_nudge_known')),
    sa.CheckConstraint("state IN ('claimed', 'sent')", name=op.f('ck_reminders_sent_state_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminders_sent_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'nudge', 'day', 'at', name=op.f('pk_reminders_sent')),
    sqlite_autoincrement=True
    )
    op.create_table('group_reminders',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('nudge', sa.String(length=16), nullable=False),
    sa.Column('at', sa.String(length=5), nullable=True),
    sa.CheckConstraint("nudge IN ('morning', 'evening')", name=op.f('ck_group_reminders_nudge_known')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_reminders_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_reminders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id', 'nudge', name=op.f('pk_group_reminders')),
    sqlite_autoincrement=True
    )


def downgrade() -> None:
    op.drop_table('group_reminders')
    op.drop_table('reminders_sent')
    op.drop_table('reminder_habits')
    with op.batch_alter_table('push_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_devices_user_id'))

    op.drop_table('push_devices')
