"""the moderators' own event stream

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:00:00.000000

A group's events travel in streams, each with its own gapless seq: "group" for what every
member may see and "moderators" for what only moderators may see (reports, worries, who
moderates). Until now moderator-only events sat in the shared sequence and everyone else got a
placeholder with the same seq and time, which told them that something private had happened.

Moderator-only events already logged move to the moderators' stream, numbered from 1 in their
order; the shared stream keeps the gaps they leave (a replay skips a gap; nothing is sent for it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

events = sa.table('events', sa.column('id', sa.Integer()), sa.column('group_id', sa.Integer()),
                  sa.column('seq', sa.Integer()), sa.column('stream', sa.String()),
                  sa.column('audience', sa.String()))
groups = sa.table('groups', sa.column('id', sa.Integer()), sa.column('moderators_seq', sa.Integer()))


def _events_table(**kw):
    sqlite = op.get_bind().dialect.name == 'sqlite'
    return op.batch_alter_table('events', recreate='always' if sqlite else 'auto',
                                table_kwargs={'sqlite_autoincrement': True}, **kw)


def upgrade() -> None:
    op.add_column('groups', sa.Column('moderators_seq', sa.Integer(), server_default='0', nullable=False))
    with _events_table() as batch_op:
        batch_op.add_column(sa.Column('stream', sa.String(length=16), server_default='group', nullable=False))
    conn = op.get_bind()
    moved = conn.execute(sa.select(events.c.id, events.c.group_id).where(events.c.audience.is_not(None))
                         .order_by(events.c.group_id, events.c.seq)).all()
    counts: dict[int, int] = {}
    for event_id, group_id in moved:
        counts[group_id] = counts.get(group_id, 0) + 1
        conn.execute(events.update().where(events.c.id == event_id)
                     .values(stream='moderators', seq=counts[group_id]))
    for group_id, count in counts.items():
        conn.execute(groups.update().where(groups.c.id == group_id).values(moderators_seq=count))
    with _events_table() as batch_op:
        batch_op.drop_constraint('uq_events_group_id_seq', type_='unique')
        batch_op.create_unique_constraint('uq_events_group_id_stream_seq', ['group_id', 'stream', 'seq'])
        batch_op.drop_column('audience')


def downgrade() -> None:
    # The moderators' events go: they cannot rejoin the shared sequence without taking seqs
    # that members have already been given.
    with _events_table() as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=16), nullable=True))
    conn = op.get_bind()
    conn.execute(events.delete().where(events.c.stream != 'group'))
    with _events_table() as batch_op:
        batch_op.drop_constraint('uq_events_group_id_stream_seq', type_='unique')
        batch_op.create_unique_constraint('uq_events_group_id_seq', ['group_id', 'seq'])
        batch_op.drop_column('stream')
    # Not a batch: recreating `groups` would take every row that refers to it along.
    op.execute('ALTER TABLE groups DROP COLUMN moderators_seq')
