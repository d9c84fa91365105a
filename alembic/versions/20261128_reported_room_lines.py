"""reported room lines

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import server.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reported_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('speaker_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('said_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_reported_lines_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['roleplay_rooms.id'], name=op.f('fk_reported_lines_room_id_roleplay_rooms'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['speaker_id'], ['users.id'], name=op.f('fk_reported_lines_speaker_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reported_lines')),
    sa.UniqueConstraint('room_id', 'line_id', name=op.f('uq_reported_lines_room_id_line_id'))
    )
    with op.batch_alter_table('reported_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reported_lines_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reported_lines_speaker_id'), ['speaker_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reported_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reported_lines_speaker_id'))
        batch_op.drop_index(batch_op.f('ix_reported_lines_group_id'))

    op.drop_table('reported_lines')
