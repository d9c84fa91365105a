"""credential checks remember the address they came from, and whether they are still running

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:10:00.000000

Sign-in, password change and account deletion share one limiter keyed by account and
address. Rows recorded before this revision have no address; they still count against the
account.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite has dropped columns since 3.35): a batch
# rebuild would lose the table's AUTOINCREMENT (see 0005).
def upgrade() -> None:
    op.add_column('login_failures', sa.Column('address', sa.String(length=64), nullable=True))
    op.add_column('login_failures', sa.Column('pending', sa.Boolean(), nullable=False,
                                              server_default=sa.false()))
    op.create_index('ix_login_failures_address_at', 'login_failures', ['address', 'at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_failures_address_at', table_name='login_failures')
    op.execute('ALTER TABLE login_failures DROP COLUMN pending')
    op.execute('ALTER TABLE login_failures DROP COLUMN address')
