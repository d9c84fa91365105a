"""reports keep the words they are about

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:00:00.000000

A member can now edit a commitment until someone has responded to it, and withdraw it at any
time, so a report keeps a copy of the words it was about (`reported_words`) and whose they are
(`author_id`): what the moderators read stays what was reported. Reports made before this
revision take the words as they are now, where they are still there to take; private words
are never copied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# For each kind of thing a report names: the words and their author, as SQL about `reports`.
_SOURCES = {
    'commitment': ("SELECT {} FROM commitments t WHERE t.id = reports.target_id "
                   "AND t.group_id = reports.group_id AND t.visibility = 'group'", 't.text', 't.user_id'),
    'checkin': ("SELECT {} FROM checkins t JOIN commitments c ON c.id = t.commitment_id "
                "WHERE t.id = reports.target_id AND c.group_id = reports.group_id "
                "AND c.visibility = 'group'", 't.note', 'c.user_id'),
    'encouragement': ("SELECT {} FROM encouragements t WHERE t.id = reports.target_id "
                      "AND t.group_id = reports.group_id", 't.text', 't.from_user_id'),
    'scenario': ("SELECT {} FROM scenarios t WHERE t.id = reports.target_id "
                 "AND t.group_id = reports.group_id", "t.title || ': ' || t.situation", 't.created_by'),
    'roleplay_line': ("SELECT {} FROM reported_lines t WHERE t.id = reports.target_id "
                      "AND t.group_id = reports.group_id", 't.text', 't.speaker_id'),
}


def _reports_table():
    # On SQLite a new foreign key means a new table; keep its ids never handed out twice.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    return op.batch_alter_table('reports', recreate='always' if sqlite else 'auto',
                                table_kwargs={'sqlite_autoincrement': True})


def upgrade() -> None:
    with _reports_table() as batch_op:
        batch_op.add_column(sa.Column('reported_words', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('author_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reports_author_id_users'), 'users',
                                    ['author_id'], ['id'], ondelete='SET NULL')
    for target_type, (query, words, author) in _SOURCES.items():
        op.execute(sa.text(f"UPDATE reports SET reported_words = ({query.format(words)}), "
                           f"author_id = ({query.format(author)}) WHERE target_type = :kind")
                   .bindparams(kind=target_type))


def downgrade() -> None:
    with _reports_table() as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reports_author_id_users'), type_='foreignkey')
        batch_op.drop_column('author_id')
        batch_op.drop_column('reported_words')
