"""roleplay rooms

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:27:29.829188
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import server.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('roleplay_rooms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_roleplay_rooms_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opened_by'], ['users.id'], name=op.f('fk_roleplay_rooms_opened_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roleplay_rooms'))
    )
    with op.batch_alter_table('roleplay_rooms', schema=None) as batch_op:
        batch_op.create_index('ix_roleplay_rooms_group_phase', ['group_id', 'phase'], unique=False)

    op.create_table('scenarios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('builtin_key', sa.String(length=40), nullable=True),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('situation', sa.Text(), nullable=False),
    sa.Column('opening_line', sa.Text(), nullable=False),
    sa.Column('intensities', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_scenarios_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_scenarios_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenarios')),
    sa.UniqueConstraint('builtin_key', name=op.f('uq_scenarios_builtin_key'))
    )
    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenarios_group_id'), ['group_id'], unique=False)

    op.create_table('roleplay_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('counterpart_id', sa.Integer(), nullable=True),
    sa.Column('scenario_id', sa.Integer(), nullable=True),
    sa.Column('intensity', sa.Integer(), nullable=False),
    sa.Column('boundary', sa.Text(), nullable=False),
    sa.Column('confidence_before', sa.Integer(), nullable=True),
    sa.Column('confidence_after', sa.Integer(), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['counterpart_id'], ['users.id'], name=op.f('fk_roleplay_rounds_counterpart_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_roleplay_rounds_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['users.id'], name=op.f('fk_roleplay_rounds_practitioner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['roleplay_rooms.id'], name=op.f('fk_roleplay_rounds_room_id_roleplay_rooms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'], name=op.f('fk_roleplay_rounds_scenario_id_scenarios'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roleplay_rounds')),
    sa.UniqueConstraint('room_id', 'number', name=op.f('uq_roleplay_rounds_room_id_number'))
    )
    with op.batch_alter_table('roleplay_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roleplay_rounds_practitioner_id'), ['practitioner_id'], unique=False)

    op.create_table('roleplay_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('style', sa.String(length=24), nullable=False),
    sa.Column('worked', sa.Text(), nullable=False),
    sa.Column('try_next', sa.Text(), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_roleplay_feedback_from_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['roleplay_rounds.id'], name=op.f('fk_roleplay_feedback_round_id_roleplay_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roleplay_feedback')),
    sa.UniqueConstraint('round_id', 'attempt', 'from_user_id', name=op.f('uq_roleplay_feedback_round_id_attempt_from_user_id'))
    )
    with op.batch_alter_table('roleplay_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roleplay_feedback_round_id'), ['round_id'], unique=False)

    op.create_table('roleplay_transcripts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['roleplay_rounds.id'], name=op.f('fk_roleplay_transcripts_round_id_roleplay_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_roleplay_transcripts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roleplay_transcripts'))
    )
    with op.batch_alter_table('roleplay_transcripts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roleplay_transcripts_round_id'), ['round_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('roleplay_transcripts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roleplay_transcripts_round_id'))

    op.drop_table('roleplay_transcripts')
    with op.batch_alter_table('roleplay_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roleplay_feedback_round_id'))

    op.drop_table('roleplay_feedback')
    with op.batch_alter_table('roleplay_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roleplay_rounds_practitioner_id'))

    op.drop_table('roleplay_rounds')
    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenarios_group_id'))

    op.drop_table('scenarios')
    with op.batch_alter_table('roleplay_rooms', schema=None) as batch_op:
        batch_op.drop_index('ix_roleplay_rooms_group_phase')

    op.drop_table('roleplay_rooms')
