"""accounts: people and scripts of the web service, their sessions and the login throttle

Revision ID: 0010_accounts
Revises: 0009_oneway
Create Date: 2026-12-02 01:30:00
"""

import sqlalchemy as sa
from alembic import op

import vp_monitor.db  # noqa: F401  (custom column types)

revision = "0010_accounts"
down_revision = "0009_oneway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_before", vp_monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", vp_monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("kind", "key", name="uq_login_throttle_kind_key"),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("municipalities", sa.JSON(), nullable=False),
        sa.Column("maintainer_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["maintainer_id"], ["maintainer.id"], name=op.f("fk_account_maintainer_id_maintainer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_maintainer_id"), ["maintainer_id"], unique=False
        )
    # Names are unique whatever their case.
    op.create_index("uq_account_name_lower", "account", [sa.text("lower(name)")], unique=True)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_api_token_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("account_id", "name", name="uq_api_token_account_name"),
        sa.UniqueConstraint("digest", name=op.f("uq_api_token_digest")),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", vp_monitor.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_web_session_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("digest", name=op.f("uq_web_session_digest")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_session_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_web_session_account_id"))

    op.drop_table("web_session")
    op.drop_table("api_token")
    op.drop_index("uq_account_name_lower", table_name="account")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_maintainer_id"))

    op.drop_table("account")
    op.drop_table("login_throttle")
