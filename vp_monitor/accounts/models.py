"""Account tables: accounts, API tokens, web sessions and the login throttle's counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vp_monitor.db import Base, UTCDateTime, utcnow
from vp_monitor.registry.models import Maintainer, Timestamped


class Account(Timestamped, Base):
    """A person (or a script's identity) who signs in to the web service."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    # INSEE codes a municipality account sees (each one a registered municipality).
    municipalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    maintainer_id: Mapped[int | None] = mapped_column(ForeignKey("maintainer.id"), index=True)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    password_hash: Mapped[str] = mapped_column(String(255))
    # A disabled account keeps its settings and tokens but nothing of it signs in.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    maintainer: Mapped[Maintainer | None] = relationship()


# Names are unique whatever their case: "Martin" and "martin" are the same login.
Index("uq_account_name_lower", func.lower(Account.name), unique=True)


class ApiToken(Base):
    """A script's credential acting as an account; only its SHA-256 digest is kept."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_api_token_account_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))  # the token's start, to recognise it
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class WebSession(Base):
    """A signed-in browser: the cookie's SHA-256 digest and the session's CSRF token."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()


class LoginThrottle(Base):
    """Recent failed logins of one account name or one source address, shared by every web
    process through the database."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_login_throttle_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "account" or "address"
    key: Mapped[str] = mapped_column(String(120))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
