"""former members and unique ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:00:00.000000

The audit log learns whose name a target is (target_user_id) and which entries the server's
operator made (by_cairn), so an account's deletion can name its owner "a former member" or "a
former moderator" without making the operator's entries look like theirs.

On SQLite every table's integer key becomes AUTOINCREMENT, so an id once given is never given
again: without it the next row takes the highest deleted id, and a hidden mark, a report or an
event about the deleted row would then point at the new one. PostgreSQL's sequences never reuse
ids; there only the audit log changes.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table as of 0004, each after the tables it refers to.
TABLES = (
    'users', 'login_failures', 'sessions', 'groups', 'memberships', 'invites', 'commitments',
    'checkins', 'encouragements', 'events', 'scenarios', 'roleplay_rooms', 'roleplay_rounds',
    'roleplay_feedback', 'roleplay_transcripts', 'audit_log', 'hidden_content', 'reports',
    'reported_lines',
)
# Audit actions whose target is a member, named by their display name.
MEMBER_ACTIONS = ('remove', 'mute', 'unmute', 'promote', 'demote')


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('by_cairn', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('target_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_log_target_user_id_users'), 'users',
                                    ['target_user_id'], ['id'], ondelete='SET NULL')
    _fill_in_audit_log()
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_tables(_autoincrement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_tables(_reusable)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_log_target_user_id_users'), type_='foreignkey')
        batch_op.drop_column('target_user_id')
        batch_op.drop_column('by_cairn')


def _fill_in_audit_log() -> None:
    """What the old rows say, as far as they can tell.

    Until now only the operator wrote entries with no actor, and only promotions; any other
    entry without an actor was a moderator's who has since deleted their account, so the
    reason they wrote goes. A member's name is linked to them where exactly one member of the
    group (past or present) has it now; a name changed since, or a member already deleted,
    stays as it is.
    """
    audit = sa.table('audit_log', sa.column('actor_id', sa.Integer()), sa.column('action', sa.String()),
                     sa.column('by_cairn', sa.Boolean()), sa.column('reason', sa.Text()))
    op.execute(audit.update().where(audit.c.actor_id.is_(None), audit.c.action == 'promote')
               .values(by_cairn=sa.true()))
    op.execute(audit.update().where(audit.c.actor_id.is_(None), audit.c.action != 'promote')
               .values(reason=None))
    same_name = ("FROM memberships m JOIN users u ON u.id = m.user_id "
                 "WHERE m.group_id = audit_log.group_id AND u.display_name = audit_log.target")
    actions = ', '.join(f"'{action}'" for action in MEMBER_ACTIONS)
    op.execute(f"UPDATE audit_log SET target_user_id = (SELECT min(m.user_id) {same_name}) "
               f"WHERE action IN ({actions}) AND (SELECT count(*) {same_name}) = 1")


def _autoincrement(name: str, sql: str) -> str:
    sql = _once(rf',\s*CONSTRAINT pk_{name} PRIMARY KEY \(id\)', '', sql)
    return _once(r'(\(\s*id INTEGER NOT NULL)', rf'\1 CONSTRAINT pk_{name} PRIMARY KEY AUTOINCREMENT', sql)


def _reusable(name: str, sql: str) -> str:
    # A table a later migration rebuilt in batch mode has its key unnamed.
    sql = _once(rf'(?: CONSTRAINT pk_{name})? PRIMARY KEY AUTOINCREMENT', '', sql)
    if re.search(r',\s*CONSTRAINT ', sql):
        return _once(r',(\s*)CONSTRAINT ', rf',\1CONSTRAINT pk_{name} PRIMARY KEY (id),\1CONSTRAINT ', sql)
    return _once(r'(\s*)\)\s*$', rf', \n\tCONSTRAINT pk_{name} PRIMARY KEY (id)\1)', sql)


def _once(pattern: str, replacement: str, sql: str) -> str:
    changed, count = re.subn(pattern, replacement, sql, count=1)
    if count != 1:
        raise RuntimeError(f'unexpected table definition: {sql}')
    return changed


def _rebuild_tables(change) -> None:
    """Recreate every table with `change` made to its CREATE TABLE, keeping every row.

    SQLite changes a key only by recreating the table. Foreign keys are enforced here and
    cannot be turned off inside the migration's transaction, and dropping a table that others
    refer to would delete or orphan their rows. So: every table steps aside under an old name
    at once (references follow it), the new tables are made and filled parents first, and the
    old ones are dropped children first, when nothing refers to them any more.
    """
    conn = op.get_bind()

    def column(sql: str, *params: str) -> list:
        return [row[0] for row in conn.exec_driver_sql(sql, params).fetchall()]

    tables = {}
    for name in TABLES:
        [sql] = column("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", name)
        indexes = column("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                      "AND sql IS NOT NULL", name)
        columns = ', '.join(f'"{c}"' for c in column("SELECT name FROM pragma_table_info(?)", name))
        tables[name] = (change(name, sql), indexes, columns)
    for name in TABLES:
        conn.exec_driver_sql(f'ALTER TABLE "{name}" RENAME TO "_old_{name}"')
    for name, (sql, _, columns) in tables.items():
        conn.exec_driver_sql(sql)
        conn.exec_driver_sql(f'INSERT INTO "{name}" ({columns}) SELECT {columns} FROM "_old_{name}"')
    for name in reversed(TABLES):
        conn.exec_driver_sql(f'DROP TABLE "_old_{name}"')
    for _, indexes, _ in tables.values():
        for sql in indexes:
            conn.exec_driver_sql(sql)
    broken = conn.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
    if broken:
        raise RuntimeError(f'rows lost their parent while rebuilding the tables: {broken}')
