"""Accounts, API tokens, web sessions and logins, on a SQLAlchemy session.

Writes made by someone (adding an account, creating a token) take a `Registry`, whose actor
and audit trail they use; what a request does by itself (a login, a token or a cookie checked)
takes a plain session. Secrets are never stored: passwords as argon2 hashes, tokens and session
cookies as SHA-256 digests (they are long random values, a fast digest is enough), and none of
them is logged or written in an audit entry.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from vp_monitor.accounts.models import Account, ApiToken, LoginThrottle, WebSession
from vp_monitor.accounts.principal import Principal
from vp_monitor.accounts.schemas import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountInput,
    AccountUpdate,
    TokenInput,
)
from vp_monitor.accounts.settings import AccountSettings
from vp_monitor.db import insert_ignoring_duplicates, utcnow
from vp_monitor.registry.models import Maintainer
from vp_monitor.registry.service import Conflict, NotFound, Registry, RegistryError, record_audit

log = logging.getLogger(__name__)

HASHER = PasswordHasher()  # argon2id with argon2-cffi's current recommended parameters
TOKEN_START = "vpm_"  # says what a string found in a script or a log is
PREFIX_LENGTH = 12  # the part of a token kept in clear, shown by `token list`
SEEN_EVERY = timedelta(minutes=1)  # last use written at most this often: no write per request
KEY_LENGTH = 120  # throttle keys and audit keys are cut to the columns' size


class AccountError(RegistryError):
    """An account, token or login operation that cannot be done; the message says why."""


class AccountConflict(AccountError, Conflict):
    """Refused because of what is stored: a name already taken, the last administrator."""


class PasswordRefused(AccountError):
    """A password that may not be set (too short, too long)."""

    fields = ("password",)


class LoginRefused(AccountError):
    """Wrong name or password: one message, which does not say which of them was wrong."""


class LoginThrottled(AccountError):
    """Too many recent failures: no password is checked until `retry_after_s` has passed."""

    def __init__(self, key: str, retry_after_s: float, **values: Any) -> None:
        super().__init__(key, **values)
        self.retry_after_s = retry_after_s


def check_password(password: str) -> str:
    """The password if it may be set: MIN_PASSWORD_LENGTH characters at least (spaces
    around it not counted), MAX_PASSWORD_LENGTH at most."""
    if len(password.strip()) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused("password.too_short", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRefused("password.too_long", n=MAX_PASSWORD_LENGTH)
    return password


def digest(raw: str) -> str:
    """What is stored of a token or a session cookie."""
    return hashlib.sha256(raw.encode()).hexdigest()


# -- accounts ------------------------------------------------------------------------------------
def account_record(account: Account) -> dict[str, Any]:
    """The account as plain values (for output and audit); never its password hash."""
    return {
        "name": account.name,
        "role": account.role,
        "municipalities": list(account.municipalities or []),
        "maintainer": account.maintainer.name if account.maintainer else None,
        "language": account.language,
        "enabled": account.enabled,
        "created_at": _iso(account.created_at),
        "updated_at": _iso(account.updated_at),
        "last_login_at": _iso(account.last_login_at),
    }


def principal_of(account: Account, token: str | None = None) -> Principal:
    """The caller an account (or one of its tokens) makes."""
    return Principal(
        name=account.name,
        role=account.role,  # type: ignore[arg-type]  (validated on every write)
        municipalities=frozenset(account.municipalities or ()),
        maintainer=account.maintainer.name if account.maintainer else None,
        language=account.language,  # type: ignore[arg-type]
        token=token,
    )


def find_account(session: Session, name: str) -> Account | None:
    """The account of this name, whatever its case, or None."""
    query = select(Account).where(func.lower(Account.name) == name.strip().lower())
    return session.scalar(query.options(joinedload(Account.maintainer)))


def account(registry: Registry, name: str) -> Account:
    """The account of this name (any case), or NotFound."""
    found = find_account(registry.session, name)
    if found is None:
        raise NotFound("account.unknown", name=name)
    return found


def list_accounts(registry: Registry) -> list[dict[str, Any]]:
    """Every account as a record, by name."""
    query = select(Account).options(joinedload(Account.maintainer))
    return [account_record(a) for a in registry.session.scalars(query.order_by(Account.name))]


def add_account(
    registry: Registry, data: AccountInput, password: str, hasher: PasswordHasher = HASHER
) -> Account:
    """Create an account; its name must be new (whatever its case), its municipalities and
    maintainer company registered, its password long enough."""
    check_password(password)
    existing = find_account(registry.session, data.name)
    if existing is not None:
        raise AccountConflict("account.exists", name=existing.name)
    created = Account(name=data.name, password_hash=hasher.hash(password))
    _apply(registry, created, data)
    registry.session.add(created)
    registry.session.flush()
    registry.audit("create", "account", created.name, after=account_record(created))
    return created


def update_account(registry: Registry, name: str, changes: AccountUpdate) -> Account:
    """Apply the given (non-None) changes. A new role drops the scope fields it does not take
    unless they are given too (an operator made a municipality account needs --municipality).
    The last enabled administrator can be neither demoted nor disabled."""
    found = account(registry, name)
    before = account_record(found)
    given = changes.model_dump(exclude_none=True)
    current = {key: before[key] for key in AccountInput.model_fields}
    if given.get("role", found.role) != found.role:
        current["municipalities"], current["maintainer"] = [], None
    merged = AccountInput.model_validate({**current, **given, "name": found.name})
    if not (merged.role == "admin" and merged.enabled):
        _refuse_last_admin(registry.session, found)
    _apply(registry, found, merged)
    registry.session.flush()
    after = account_record(found)
    if {**after, "updated_at": None} != {**before, "updated_at": None}:
        registry.audit("update", "account", found.name, before, after)
    return found


def remove_account(registry: Registry, name: str) -> None:
    """Delete an account with its tokens and sessions (never the last administrator)."""
    found = account(registry, name)
    _refuse_last_admin(registry.session, found)
    registry.audit("delete", "account", found.name, before=account_record(found))
    registry.session.execute(delete(ApiToken).where(ApiToken.account_id == found.id))
    registry.session.execute(delete(WebSession).where(WebSession.account_id == found.id))
    registry.session.delete(found)


def set_password(
    registry: Registry, name: str, password: str, hasher: PasswordHasher = HASHER
) -> Account:
    """Give an account a new password; its web sessions end (its tokens stay)."""
    check_password(password)
    found = account(registry, name)
    found.password_hash = hasher.hash(password)
    registry.session.execute(delete(WebSession).where(WebSession.account_id == found.id))
    registry.audit("password", "account", found.name)
    return found


def scope_choices(registry: Registry) -> dict[str, list]:
    """What an account's scope may name: the registered municipalities (INSEE code, name)
    and maintainer companies, by name."""
    return {
        "municipalities": [(m.insee, m.name) for m in registry.municipalities()],
        "maintainers": list(registry.session.scalars(select(Maintainer.name).order_by(
            Maintainer.name))),
    }  # fmt: skip


def _apply(registry: Registry, target: Account, data: AccountInput) -> None:
    for insee in data.municipalities:
        registry.municipality(insee)  # NotFound names the unknown one
    maintainer = None
    if data.maintainer:
        query = select(Maintainer).where(Maintainer.name == data.maintainer)
        maintainer = registry.session.scalar(query)
        if maintainer is None:
            raise NotFound("maintainer.unknown", name=data.maintainer)
    target.role, target.language, target.enabled = data.role, data.language, data.enabled
    target.municipalities = list(data.municipalities)
    target.maintainer, target.maintainer_id = maintainer, maintainer.id if maintainer else None


def _refuse_last_admin(session: Session, leaving: Account) -> None:
    """Refused when `leaving` is the only enabled administrator: nobody could manage accounts
    from the web any more."""
    if not (leaving.role == "admin" and leaving.enabled):
        return
    others = select(func.count()).where(
        Account.role == "admin", Account.enabled, Account.id != leaving.id
    )
    if not session.scalar(others.select_from(Account)):
        raise AccountConflict("account.last_admin", name=leaving.name)


# -- API tokens ----------------------------------------------------------------------------------
def token_record(token: ApiToken) -> dict[str, Any]:
    """The token as plain values: its prefix, never the token or its digest."""
    return {
        "user": token.account.name,
        "name": token.name,
        "prefix": token.prefix + "…",
        "created_at": _iso(token.created_at),
        "expires_at": _iso(token.expires_at),
        "last_used_at": _iso(token.last_used_at),
        "revoked_at": _iso(token.revoked_at),
    }


def create_token(
    registry: Registry,
    data: TokenInput,
    now: datetime | None = None,
    timezone: str = "Europe/Paris",
) -> tuple[ApiToken, str]:
    """A new token for the account and the token itself, which only this call returns. With
    `expires_on`, it stops working at the start of that day (in `timezone`)."""
    now = now or utcnow()
    owner = account(registry, data.user)
    taken = select(ApiToken.id).where(ApiToken.account_id == owner.id, ApiToken.name == data.name)
    if registry.session.scalar(taken):
        raise AccountConflict("token.exists", user=owner.name, name=data.name)
    expires_at = _start_of(data.expires_on, timezone) if data.expires_on else None
    if expires_at is not None and expires_at <= now:
        raise AccountError("token.expires_past", day=data.expires_on.isoformat())
    raw = TOKEN_START + secrets.token_urlsafe(32)
    token = ApiToken(
        account=owner, account_id=owner.id, name=data.name, prefix=raw[:PREFIX_LENGTH],
        digest=digest(raw), created_at=now, expires_at=expires_at,
    )  # fmt: skip
    registry.session.add(token)
    registry.session.flush()
    registry.audit("create", "api_token", f"{owner.name}/{data.name}", after=token_record(token))
    return token, raw


def list_tokens(registry: Registry, user: str | None = None) -> list[dict[str, Any]]:
    """Tokens (of one account, or all) as records, by account and name."""
    query = select(ApiToken).join(Account).options(joinedload(ApiToken.account))
    if user is not None:
        query = query.where(ApiToken.account_id == account(registry, user).id)
    query = query.order_by(Account.name, ApiToken.name)
    return [token_record(token) for token in registry.session.scalars(query)]


def revoke_token(registry: Registry, user: str, name: str, now: datetime | None = None) -> ApiToken:
    """Stop a token from working from now on (revoking it again changes nothing)."""
    owner = account(registry, user)
    query = select(ApiToken).where(ApiToken.account_id == owner.id, ApiToken.name == name)
    token = registry.session.scalar(query)
    if token is None:
        raise NotFound("token.unknown", user=owner.name, name=name)
    if token.revoked_at is None:
        before = token_record(token)
        token.revoked_at = now or utcnow()
        registry.audit("revoke", "api_token", f"{owner.name}/{name}", before, token_record(token))
    return token


def principal_for_token(
    session: Session, raw: str, now: datetime | None = None
) -> Principal | None:
    """The caller a bearer token stands for; None for an unknown, revoked or expired one, or
    one of a disabled account."""
    now = now or utcnow()
    if not raw.startswith(TOKEN_START) or len(raw) > 100:
        return None
    query = (
        select(ApiToken)
        .where(ApiToken.digest == digest(raw))
        .options(joinedload(ApiToken.account).joinedload(Account.maintainer))
    )
    token = session.scalar(query)
    if token is None or token.revoked_at is not None or not token.account.enabled:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= SEEN_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return principal_of(token.account, token=token.name)


# -- logins and web sessions -------------------------------------------------------------------
def login(
    session: Session,
    name: str,
    password: str,
    source_address: str | None,
    now: datetime | None = None,
    *,
    settings: AccountSettings | None = None,
    previous_cookie: str | None = None,
    hasher: PasswordHasher = HASHER,
) -> tuple[str, str, Principal]:
    """Check a name and password; returns a new session's cookie value, its CSRF token and
    the caller. The session the browser had (`previous_cookie`) is deleted: a new one at each
    login.

    Refused with LoginRefused (one message whatever was wrong), or LoginThrottled while
    earlier failures of this name or this address make it wait or lock it out. A failure
    is committed before the error is raised, so that it counts whatever the caller does
    with its transaction. An unknown name costs the same argon2 verification as a known one;
    a disabled account is refused as a wrong password is.
    """
    now = now or utcnow()
    settings = settings or AccountSettings()
    keys = [("account", name.strip().lower()[:KEY_LENGTH]),
            ("address", (source_address or "unknown")[:KEY_LENGTH])]  # fmt: skip
    _refuse_while_throttled(session, keys, now)
    found = find_account(session, name) if name.strip() else None
    stored = found.password_hash if found is not None else _dummy_hash(hasher)
    if not (_verified(hasher, stored, password) and found is not None and found.enabled):
        _record_failure(session, keys, now, settings)
        record_audit(
            session, name[:KEY_LENGTH] or "?", "login_failed", "account", name[:KEY_LENGTH],
            after={"address": source_address},
        )  # fmt: skip
        session.commit()
        raise LoginRefused("login.refused")
    if hasher.check_needs_rehash(found.password_hash):  # parameters changed since it was set
        found.password_hash = hasher.hash(password)
    found.last_login_at = now
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.kind == "account", LoginThrottle.key == keys[0][1]
        )
    )
    _forget_stale(session, now, settings)
    if previous_cookie:
        session.execute(delete(WebSession).where(WebSession.digest == digest(previous_cookie)))
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        WebSession(
            account_id=found.id, digest=digest(cookie), csrf_token=csrf, created_at=now,
            expires_at=now + timedelta(hours=settings.session_hours), last_seen_at=now,
        )
    )  # fmt: skip
    record_audit(session, found.name, "login", "account", found.name,
                 after={"address": source_address})  # fmt: skip
    return cookie, csrf, principal_of(found)


def principal_for_session(
    session: Session, cookie: str, now: datetime | None = None
) -> tuple[Principal, str] | None:
    """The caller of a session cookie and the session's CSRF token; None for an unknown or
    expired session (an expired one is deleted), or one of a disabled account."""
    now = now or utcnow()
    if not cookie or len(cookie) > 100:
        return None
    query = (
        select(WebSession)
        .where(WebSession.digest == digest(cookie))
        .options(joinedload(WebSession.account).joinedload(Account.maintainer))
    )
    found = session.scalar(query)
    if found is None or not found.account.enabled:
        return None
    if found.expires_at <= now:
        session.execute(delete(WebSession).where(WebSession.id == found.id))
        return None
    if now - found.last_seen_at >= SEEN_EVERY:
        session.execute(
            update(WebSession).where(WebSession.id == found.id).values(last_seen_at=now)
        )
    return principal_of(found.account), found.csrf_token


def logout(session: Session, cookie: str) -> bool:
    """End the session of this cookie; whether there was one."""
    if not cookie or len(cookie) > 100:
        return False
    query = select(WebSession).where(WebSession.digest == digest(cookie))
    found = session.scalar(query.options(joinedload(WebSession.account)))
    if found is None:
        return False
    record_audit(session, found.account.name, "logout", "account", found.account.name)
    session.execute(delete(WebSession).where(WebSession.id == found.id))
    return True


def _verified(hasher: PasswordHasher, stored: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:  # never hash megabytes
        return False
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against for an unknown name, made with the same parameters."""
    return hasher.hash(secrets.token_urlsafe(16))


def _throttle_rows(session: Session, keys: list[tuple[str, str]], lock: bool = False):
    query = select(LoginThrottle).where(
        or_(*(and_(LoginThrottle.kind == kind, LoginThrottle.key == key) for kind, key in keys))
    )
    if lock:  # one process at a time counts this name's or address's failures
        query = query.with_for_update()
    return list(session.scalars(query.order_by(LoginThrottle.kind)))


def _refuse_while_throttled(session: Session, keys: list[tuple[str, str]], now: datetime) -> None:
    rows = _throttle_rows(session, keys)
    locked = [row.locked_until for row in rows if row.locked_until and row.locked_until > now]
    if locked:
        wait = (max(locked) - now).total_seconds()
        raise LoginThrottled("login.locked", wait, minutes=math.ceil(wait / 60))
    waiting = [row.not_before for row in rows if row.not_before and row.not_before > now]
    if waiting:
        wait = (max(waiting) - now).total_seconds()
        raise LoginThrottled("login.slow_down", wait, seconds=math.ceil(wait))


def _record_failure(
    session: Session, keys: list[tuple[str, str]], now: datetime, settings: AccountSettings
) -> None:
    """Count a failure for the name and the address: past the free ones each makes the next
    attempt wait twice as long, and `lockout_failures` within the window lock logins out."""
    for kind, key in keys:  # always in this order: two processes never wait on each other
        session.execute(
            insert_ignoring_duplicates(session, LoginThrottle).values(kind=kind, key=key)
        )
    window = timedelta(minutes=settings.window_minutes)
    for row in _throttle_rows(session, keys, lock=True):
        if row.window_started_at is None or now - row.window_started_at > window:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        if row.failures >= settings.lockout_failures:
            row.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            log.warning(
                "logins locked out for %s minutes: %s %r, %d failed logins",
                f"{settings.lockout_minutes:g}", row.kind, row.key, row.failures,
            )  # fmt: skip
            record_audit(
                session, "login throttle", "lockout", "login", f"{row.kind}:{row.key}",
                after={"failures": row.failures, "minutes": settings.lockout_minutes},
            )  # fmt: skip
            row.failures, row.window_started_at, row.not_before = 0, None, None
        elif row.failures > settings.free_failures:
            extra = row.failures - settings.free_failures - 1
            delay = min(settings.max_delay_s, settings.delay_s * 2**extra)
            row.not_before = now + timedelta(seconds=delay)


def _forget_stale(session: Session, now: datetime, settings: AccountSettings) -> None:
    """Delete expired sessions and throttle rows with nothing left to count."""
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    window_start = now - timedelta(minutes=settings.window_minutes)
    session.execute(
        delete(LoginThrottle).where(
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
            or_(LoginThrottle.not_before.is_(None), LoginThrottle.not_before <= now),
            or_(LoginThrottle.window_started_at.is_(None),
                LoginThrottle.window_started_at < window_start),
        )
    )  # fmt: skip


def _start_of(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
