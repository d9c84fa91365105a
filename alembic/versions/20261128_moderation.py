"""moderation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:40:47.074310
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import server.db

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_audit_log_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_group_at', ['group_id', 'at'], unique=False)

    op.create_table('hidden_content',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('hidden_by', sa.Integer(), nullable=True),
    sa.Column('at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_hidden_content_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hidden_by'], ['users.id'], name=op.f('fk_hidden_content_hidden_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hidden_content')),
    sa.UniqueConstraint('target_type', 'target_id', name=op.f('uq_hidden_content_target_type_target_id'))
    )
    with op.batch_alter_table('hidden_content', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hidden_content_group_id'), ['group_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f('ck_reports_status_known')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_reports_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_reports_resolved_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_group_status', ['group_id', 'status'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=16), nullable=True))

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('muted_until', server.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('mute_reason', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('mute_reason')
        batch_op.drop_column('muted_until')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('audience')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_group_status')

    op.drop_table('reports')
    with op.batch_alter_table('hidden_content', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hidden_content_group_id'))

    op.drop_table('hidden_content')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_group_at')

    op.drop_table('audit_log')
