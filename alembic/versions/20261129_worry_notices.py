"""worry notices that wait for a moderator

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:00:00.000000

A member's shared words that worry Cairn leave a notice on the group's moderation page until
a moderator acknowledges it. Worries told before this revision went only to the moderators
online then; they are not recovered from the event log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('worries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('first_noticed_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('noticed_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], name=op.f('fk_worries_acknowledged_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_worries_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_worries_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worries')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('worries', schema=None) as batch_op:
        batch_op.create_index('ix_worries_group_acknowledged', ['group_id', 'acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_worries_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('worries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worries_user_id'))
        batch_op.drop_index('ix_worries_group_acknowledged')

    op.drop_table('worries')
