"""accounts: enabled (an administrator can disable one without removing it) and last login

Revision ID: 0013_account_enabled
Revises: 0012_list_indexes
Create Date: 2026-12-02 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0013_account_enabled"
down_revision = "0012_list_indexes"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: SQLite's batch mode copies the table and would lose the
# expression index uq_account_name_lower (it cannot reflect it). SQLite adds a NOT NULL
# column with a default, and drops columns since 3.35.
def upgrade() -> None:
    op.add_column(
        "account", sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column(
        "account",
        sa.Column("last_login_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("account", "last_login_at")
    op.drop_column("account", "enabled")
