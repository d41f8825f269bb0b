"""Accounts on SQLite and PostgreSQL: argon2 passwords, the login throttle, API tokens, web
sessions, validation of roles and scopes, and the audit trail."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import select, text

from vp_monitor.accounts import service
from vp_monitor.accounts.models import Account, ApiToken, WebSession
from vp_monitor.accounts.schemas import AccountInput, AccountUpdate, TokenInput
from vp_monitor.accounts.settings import AccountSettings
from vp_monitor.db import session_factory, transaction
from vp_monitor.registry.models import AuditEntry
from vp_monitor.registry.schemas import MunicipalityInput
from vp_monitor.registry.secrets import SecretBox
from vp_monitor.registry.service import NotFound, Registry

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery"
# Cheap parameters so that tests hash quickly; the code's default is argon2-cffi's.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
STRONGER = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
THROTTLE = AccountSettings(free_failures=2, delay_s=1, max_delay_s=60, lockout_failures=5,
                           lockout_minutes=15, window_minutes=15)  # fmt: skip


@pytest.fixture
def registry_in(engine):
    """Run `work(registry)` in one committed transaction as the administrator "root"."""

    def run(work, actor="root"):
        with transaction(session_factory(engine)) as session:
            return work(Registry(session, SecretBox(Fernet.generate_key()), actor))

    def setup(registry):
        registry.add_municipality(MunicipalityInput(insee="92012", name="Boulogne-Billancourt"))
        registry.add_municipality(MunicipalityInput(insee="78646", name="Versailles"))
        registry.maintainer("Acme")
        service.add_account(registry, AccountInput(name="root", role="admin"), PASSWORD, FAST)
        service.add_account(registry, AccountInput(name="Martin", role="operator"), PASSWORD, FAST)

    run(setup)
    return run


@pytest.fixture
def session_in(engine):
    """Run `work(session)` in one committed transaction, as each web request does."""

    def run(work, *args, **kwargs):
        with transaction(session_factory(engine)) as session:
            return work(session, *args, **kwargs)

    return run


def attempt(session_in, name, password, address="127.0.0.5", at=T0, **options):
    options = {"settings": THROTTLE, "hasher": FAST, **options}
    return session_in(service.login, name, password, address, at, **options)


def audit_trail(session_in) -> list[tuple[str, str, str]]:
    entries = session_in(lambda s: list(s.scalars(select(AuditEntry).order_by(AuditEntry.id))))
    return [(e.actor, e.action, e.entity_key) for e in entries]


def everything_stored(session_in) -> str:
    """Every row of the account tables and the audit trail, as text."""
    tables = ("account", "api_token", "web_session", "login_throttle", "audit_entry")
    return repr(session_in(lambda s: [list(s.execute(text(f"SELECT * FROM {t}"))) for t in tables]))


# -- passwords ------------------------------------------------------------------------------
def test_password_stored_as_argon2_hash_and_checked(registry_in, session_in):
    """The stored password is an argon2id hash; the right password signs in, a wrong one not."""
    stored = session_in(lambda s: service.find_account(s, "martin").password_hash)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    cookie, csrf, principal = attempt(session_in, "MARTIN", PASSWORD)
    assert (principal.name, principal.role) == ("Martin", "operator")
    with pytest.raises(service.LoginRefused):
        attempt(session_in, "martin", PASSWORD + "x")


def test_rehashed_at_login_when_parameters_change(registry_in, session_in):
    """A hash made with older parameters is replaced by one with the hasher's own at the next
    successful login, and then left alone."""
    before = session_in(lambda s: service.find_account(s, "martin").password_hash)
    assert STRONGER.check_needs_rehash(before)
    attempt(session_in, "martin", PASSWORD, hasher=STRONGER)
    after = session_in(lambda s: service.find_account(s, "martin").password_hash)
    assert after != before and "t=2" in after and not STRONGER.check_needs_rehash(after)
    attempt(session_in, "martin", PASSWORD, hasher=STRONGER)
    assert session_in(lambda s: service.find_account(s, "martin").password_hash) == after
    with pytest.raises(service.LoginRefused):  # a failed login never rehashes
        attempt(session_in, "martin", "wrong-password-123", hasher=FAST)
    assert session_in(lambda s: service.find_account(s, "martin").password_hash) == after


@pytest.mark.parametrize("password", ["", "short", " " * 20, "eleven-char"])
def test_short_or_empty_password_refused(registry_in, password):
    """Fewer than 12 characters (spaces around not counted) is refused, and says so."""
    new = AccountInput(name="dupont", role="operator")
    with pytest.raises(service.AccountError, match="at least 12 characters"):
        registry_in(lambda r: service.add_account(r, new, password, FAST))
    with pytest.raises(service.AccountError, match="at least 12 characters"):
        registry_in(lambda r: service.set_password(r, "martin", password, FAST))


def test_bad_credentials_one_message_and_unknown_name_verified_too(registry_in, session_in):
    """A wrong password and an unknown name get the same message, and the unknown name costs
    an argon2 verification with the same parameters as a known one."""

    class CountingHasher(PasswordHasher):
        verified: list[str] = []

        def verify(self, hash, password):  # noqa: A002 (argon2's own parameter name)
            self.verified.append(hash)
            return super().verify(hash, password)

    counting = CountingHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.raises(service.LoginRefused) as wrong:
        attempt(session_in, "martin", "not-the-password", hasher=counting)
    with pytest.raises(service.LoginRefused) as unknown:
        attempt(session_in, "nobody", "not-the-password", address="127.0.0.6", hasher=counting)
    assert str(wrong.value) == str(unknown.value) == "wrong user name or password"
    known_hash, dummy_hash = counting.verified
    assert known_hash.split("$")[3] == dummy_hash.split("$")[3]  # same m, t, p


def test_unknown_name_costs_about_a_known_one(registry_in, session_in):
    """Timing: with real argon2 parameters, refusing an unknown name takes as long as
    refusing a wrong password (no shortcut tells names that exist)."""
    import time

    strong = PasswordHasher(time_cost=2, memory_cost=32768, parallelism=1)
    registry_in(lambda r: service.set_password(r, "martin", PASSWORD, strong))

    def cost(name, address):
        start = time.perf_counter()
        with pytest.raises(service.LoginRefused):
            attempt(session_in, name, "not-the-password", address=address, hasher=strong)
        return time.perf_counter() - start

    cost("warm-up", "127.0.0.9")
    known, unknown = cost("martin", "127.0.0.7"), cost("nobody", "127.0.0.8")
    assert unknown > 0.5 * known, (known, unknown)


# -- throttle ---------------------------------------------------------------------------------
def test_failures_slow_down_then_lock_then_unlock(registry_in, session_in, caplog):
    """Past the free failures each one makes the next attempt wait twice as long; the
    lockout_failures-th locks logins out for lockout_minutes (logged, no password); then the
    right password works again."""
    caplog.set_level(logging.WARNING, logger="vp_monitor.accounts")
    wrong = "wrong-password-1"
    for _ in range(THROTTLE.free_failures):
        with pytest.raises(service.LoginRefused):
            attempt(session_in, "martin", wrong)
    with pytest.raises(service.LoginRefused):  # 3rd: the next one waits 1 s
        attempt(session_in, "martin", wrong)
    with pytest.raises(service.LoginThrottled, match=r"try again in 1 s") as waiting:
        attempt(session_in, "martin", PASSWORD, at=T0 + timedelta(seconds=0.5))
    assert waiting.value.retry_after_s == pytest.approx(0.5)
    with pytest.raises(service.LoginRefused):  # 4th, once the wait is over: next waits 2 s
        attempt(session_in, "martin", wrong, at=T0 + timedelta(seconds=1))
    with pytest.raises(service.LoginThrottled, match=r"try again in 2 s"):
        attempt(session_in, "martin", PASSWORD, at=T0 + timedelta(seconds=1.5))
    with pytest.raises(service.LoginRefused):  # 5th: locked out
        attempt(session_in, "martin", wrong, at=T0 + timedelta(seconds=3))
    locked_at = T0 + timedelta(seconds=3)
    with pytest.raises(service.LoginThrottled, match=r"logins locked for 15 min"):
        attempt(session_in, "martin", PASSWORD, at=locked_at + timedelta(seconds=1))
    with pytest.raises(service.LoginThrottled, match=r"locked for 1 min"):
        attempt(session_in, "martin", PASSWORD, at=locked_at + timedelta(minutes=14, seconds=30))
    attempt(session_in, "martin", PASSWORD, at=locked_at + timedelta(minutes=15, seconds=1))
    logged = caplog.text
    assert "locked out for 15 minutes" in logged and "'martin'" in logged
    assert wrong not in logged and PASSWORD not in logged
    actions = [action for _, action, _ in audit_trail(session_in)]
    assert actions.count("login_failed") == 5 and actions.count("lockout") == 2  # name, address
    assert wrong not in everything_stored(session_in)


def test_throttle_per_source_address(registry_in, session_in):
    """Failures from one address under many names lock that address out, for every account;
    the same account from another address still signs in."""
    per_address = THROTTLE.model_copy(update={"free_failures": 10, "lockout_failures": 3})
    for n in range(3):
        with pytest.raises(service.LoginRefused):
            attempt(session_in, f"guess{n}", "wrong-password", "127.0.0.66",
                    settings=per_address)  # fmt: skip
    with pytest.raises(service.LoginThrottled, match="locked"):
        attempt(session_in, "martin", PASSWORD, "127.0.0.66", settings=per_address)
    attempt(session_in, "martin", PASSWORD, "127.0.0.67", settings=per_address)


def test_old_failures_are_forgotten_after_the_window(registry_in, session_in):
    """Failures older than window_minutes do not count towards a delay or a lockout."""
    for n in range(4):  # 4 failures, one per 20 minutes: each starts a new window
        with pytest.raises(service.LoginRefused):
            attempt(session_in, "martin", "wrong-password", at=T0 + timedelta(minutes=20 * n))
    attempt(session_in, "martin", PASSWORD, at=T0 + timedelta(minutes=60, seconds=1))


def test_throttle_shared_between_processes(registry_in, engine, database_url):
    """The throttle lives in the database: failures counted by one engine (one web process)
    slow down the next attempt made through another."""
    from vp_monitor.db import make_engine

    other = make_engine(database_url)
    try:
        for n in range(THROTTLE.free_failures + 1):
            with transaction(session_factory(engine if n % 2 else other)) as session:
                with pytest.raises(service.LoginRefused):
                    service.login(session, "martin", "wrong-password", "127.0.0.5", T0,
                                  settings=THROTTLE, hasher=FAST)  # fmt: skip
        with transaction(session_factory(other)) as session:
            with pytest.raises(service.LoginThrottled):
                service.login(session, "martin", PASSWORD, "127.0.0.5", T0,
                              settings=THROTTLE, hasher=FAST)  # fmt: skip
    finally:
        other.dispose()


# -- tokens -----------------------------------------------------------------------------------
def test_token_shown_once_stored_hashed_and_scoped_like_its_account(registry_in, session_in):
    """create_token returns the token once; the database holds its SHA-256 digest and a short
    prefix; the token acts as its account, named in the actor; its use is recorded."""
    registry_in(lambda r: service.add_account(r, AccountInput(
        name="ville", role="municipality", municipalities=["92012"]), PASSWORD, FAST))  # fmt: skip
    token, raw = registry_in(
        lambda r: service.create_token(r, TokenInput(user="ville", name="script"), now=T0)
    )
    assert raw.startswith("vpm_") and len(raw) > 40
    stored = session_in(lambda s: s.scalars(select(ApiToken)).one())
    assert stored.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(stored.prefix) and len(stored.prefix) < len(raw) / 3
    assert raw not in everything_stored(session_in)
    listed = registry_in(lambda r: service.list_tokens(r))
    assert raw not in repr(listed) and listed[0]["prefix"] == stored.prefix + "…"
    principal = session_in(service.principal_for_token, raw, T0 + timedelta(hours=1))
    assert principal.role == "municipality" and principal.municipalities == {"92012"}
    assert principal.actor == "ville (token script)"
    assert principal.scope.municipalities == {"92012"}
    used = session_in(lambda s: s.scalars(select(ApiToken)).one().last_used_at)
    assert used == T0 + timedelta(hours=1)


def test_expired_revoked_unknown_tokens_give_nobody(registry_in, session_in):
    """A token past its expiry day, a revoked one, an unknown or malformed one: None."""
    _, lasting = registry_in(lambda r: service.create_token(
        r, TokenInput(user="martin", name="lasting"), now=T0))  # fmt: skip
    _, expiring = registry_in(lambda r: service.create_token(
        r, TokenInput(user="martin", name="short", expires_on=date(2026, 12, 3)), now=T0,
        timezone="Europe/Paris"))  # fmt: skip
    day_before = datetime(2026, 12, 2, 22, 59, tzinfo=UTC)  # 23:59 in Paris
    assert session_in(service.principal_for_token, expiring, day_before) is not None
    assert (
        session_in(service.principal_for_token, expiring, day_before + timedelta(minutes=1)) is None
    )
    assert session_in(service.principal_for_token, lasting, T0) is not None
    registry_in(lambda r: service.revoke_token(r, "martin", "lasting", now=T0))
    assert session_in(service.principal_for_token, lasting, T0) is None
    assert session_in(service.principal_for_token, lasting[:-1] + "x", T0) is None
    assert session_in(service.principal_for_token, "not a token", T0) is None
    with pytest.raises(service.AccountError, match="has passed"):
        registry_in(
            lambda r: service.create_token(
                r, TokenInput(user="martin", name="late", expires_on=date(2026, 11, 30)), now=T0
            )
        )
    with pytest.raises(service.AccountError, match="already has a token named 'short'"):
        registry_in(lambda r: service.create_token(r, TokenInput(user="martin", name="short")))


# -- web sessions -----------------------------------------------------------------------------
def test_session_cookie_stored_hashed_rotated_at_login_and_expiring(registry_in, session_in):
    """A login gives a new session (the one the browser had is deleted); the cookie is stored
    as a digest; a session ends after session_hours, at logout, or with a new password."""
    first, csrf, _ = attempt(session_in, "martin", PASSWORD)
    assert first not in everything_stored(session_in)
    principal, same_csrf = session_in(service.principal_for_session, first, T0)
    assert principal.name == "Martin" and same_csrf == csrf
    second, other_csrf, _ = attempt(session_in, "martin", PASSWORD, previous_cookie=first)
    assert second != first and other_csrf != csrf
    assert session_in(service.principal_for_session, first, T0) is None
    assert session_in(lambda s: len(list(s.scalars(select(WebSession))))) == 1
    end = T0 + timedelta(hours=THROTTLE.session_hours)
    assert session_in(service.principal_for_session, second, end - timedelta(seconds=1))
    assert session_in(service.principal_for_session, second, end) is None
    assert session_in(lambda s: list(s.scalars(select(WebSession)))) == []  # expired: deleted
    third, _, _ = attempt(session_in, "martin", PASSWORD)
    assert session_in(service.logout, third) is True
    assert session_in(service.principal_for_session, third, T0) is None
    fourth, _, _ = attempt(session_in, "martin", PASSWORD)
    registry_in(lambda r: service.set_password(r, "martin", "another-long-password", FAST))
    assert session_in(service.principal_for_session, fourth, T0) is None


# -- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"role": "municipality"}, "municipalities", "needs at least one municipality"),
        ({"role": "operator", "municipalities": ["92012"]}, "municipalities",
         "only a municipality account"),
        ({"role": "maintainer"}, "maintainer", "needs its company"),
        ({"role": "admin", "maintainer": "Acme"}, "maintainer", "only a maintainer account"),
        ({"role": "municipality", "municipalities": ["9201"]}, "municipalities.0", "INSEE"),
        ({"role": "root"}, "role", "'admin'"),
        ({"role": "admin", "language": "de"}, "language", "'fr'"),
        ({"role": "admin", "name": "a b"}, "name", "letters, digits"),
    ],
)  # fmt: skip
def test_role_and_scope_validation_names_the_field(fields, field, reason):
    """Each role takes its own scope: the error names the field and says what is expected."""
    from vp_monitor.redaction import validation_problems

    with pytest.raises(ValidationError) as caught:
        AccountInput.model_validate({"name": "dupont", **fields})
    problem = validation_problems(caught.value)[0]
    assert problem.field == field and reason in str(problem.reason)


def test_scope_must_exist_and_names_are_unique(registry_in):
    """Municipalities and the maintainer company must be registered; a name is taken whatever
    its case; the last administrator stays."""
    add = service.add_account
    with pytest.raises(NotFound, match="unknown municipality '75056'"):
        registry_in(
            lambda r: add(
                r,
                AccountInput(name="paris", role="municipality", municipalities=["92012", "75056"]),
                PASSWORD,
                FAST,
            )
        )
    with pytest.raises(NotFound, match="unknown maintainer 'Zeta'"):
        registry_in(lambda r: add(r, AccountInput(name="z", role="maintainer", maintainer="Zeta"),
                                  PASSWORD, FAST))  # fmt: skip
    with pytest.raises(service.AccountError, match="already exists"):
        registry_in(lambda r: add(r, AccountInput(name="MARTIN", role="admin"), PASSWORD, FAST))
    with pytest.raises(service.AccountError, match="last administrator"):
        registry_in(lambda r: service.remove_account(r, "root"))
    with pytest.raises(service.AccountError, match="last administrator"):
        registry_in(lambda r: service.update_account(r, "root", AccountUpdate(role="operator")))
    acme = registry_in(
        lambda r: (
            add(
                r, AccountInput(name="acme", role="maintainer", maintainer="Acme"), PASSWORD, FAST
            ).maintainer_id
        )
    )
    assert acme is not None


def test_new_role_drops_the_scope_it_does_not_take(registry_in, session_in):
    """Making a municipality account an operator drops its municipalities; the reverse needs
    them given."""
    registry_in(lambda r: service.add_account(r, AccountInput(
        name="ville", role="municipality", municipalities=["92012"]), PASSWORD, FAST))  # fmt: skip
    registry_in(lambda r: service.update_account(r, "ville", AccountUpdate(role="operator")))
    assert session_in(lambda s: service.find_account(s, "ville").municipalities) == []
    with pytest.raises(ValidationError):
        registry_in(
            lambda r: service.update_account(r, "ville", AccountUpdate(role="municipality"))
        )
    both = AccountUpdate(role="municipality", municipalities=["78646", "92012"])
    registry_in(lambda r: service.update_account(r, "ville", both))
    assert session_in(lambda s: service.find_account(s, "ville").municipalities) == [
        "78646", "92012"]  # fmt: skip


def test_disabled_account_signs_in_by_nothing_and_last_admin_stays_enabled(registry_in, session_in):
    """A disabled account is refused at login as a wrong password is, and neither its
    sessions nor its tokens sign in until it is enabled again; the last enabled
    administrator cannot be disabled; a login records its moment."""
    cookie, _, _ = attempt(session_in, "martin", PASSWORD)
    assert session_in(lambda s: service.find_account(s, "martin").last_login_at) == T0
    _, raw = registry_in(lambda r: service.create_token(r, TokenInput(user="martin", name="ci")))
    registry_in(lambda r: service.update_account(r, "martin", AccountUpdate(enabled=False)))
    with pytest.raises(service.LoginRefused):
        attempt(session_in, "martin", PASSWORD)
    assert session_in(service.principal_for_session, cookie, T0) is None
    assert session_in(service.principal_for_token, raw) is None
    registry_in(lambda r: service.update_account(r, "martin", AccountUpdate(enabled=True)))
    assert session_in(service.principal_for_token, raw).name == "Martin"
    with pytest.raises(service.AccountConflict, match="last administrator"):
        registry_in(lambda r: service.update_account(r, "root", AccountUpdate(enabled=False)))
    registry_in(lambda r: service.update_account(r, "martin", AccountUpdate(role="admin")))
    registry_in(lambda r: service.update_account(r, "root", AccountUpdate(enabled=False)))
    with pytest.raises(service.AccountConflict, match="last administrator"):
        registry_in(lambda r: service.remove_account(r, "martin"))  # root is disabled


# -- audit ------------------------------------------------------------------------------------
def test_writes_logins_and_failures_in_the_audit_trail(registry_in, session_in):
    """Every write names who made it; logins and failed logins name the account and the
    address; no password, hash, token or cookie is in any entry."""
    _, raw = registry_in(lambda r: service.create_token(r, TokenInput(user="martin", name="ci")))
    registry_in(lambda r: service.revoke_token(r, "martin", "ci"), actor="chef")
    english = AccountUpdate(language="en")
    registry_in(lambda r: service.update_account(r, "martin", english), actor="chef")
    registry_in(lambda r: service.set_password(r, "martin", "another-long-password", FAST))
    cookie, _, _ = attempt(session_in, "martin", "another-long-password")
    with pytest.raises(service.LoginRefused):
        attempt(session_in, "nobody", "a-guessed-password")
    session_in(service.logout, cookie)
    registry_in(lambda r: service.remove_account(r, "martin"), actor="chef")
    trail = [entry for entry in audit_trail(session_in) if entry[2] not in ("92012", "78646",
                                                                          "Acme")]  # fmt: skip
    assert trail == [
        ("root", "create", "root"),
        ("root", "create", "Martin"),
        ("root", "create", "Martin/ci"),
        ("chef", "revoke", "Martin/ci"),
        ("chef", "update", "Martin"),
        ("root", "password", "Martin"),
        ("Martin", "login", "Martin"),
        ("nobody", "login_failed", "nobody"),
        ("Martin", "logout", "Martin"),
        ("chef", "delete", "Martin"),
    ]
    entries = session_in(lambda s: list(s.scalars(select(AuditEntry))))
    dumped = repr([(e.before, e.after) for e in entries])
    assert "127.0.0.5" in dumped
    for secret in (PASSWORD, "another-long-password", "a-guessed-password", raw, cookie,
                   "$argon2"):  # fmt: skip
        assert secret not in dumped
    assert session_in(lambda s: list(s.scalars(select(Account).where(Account.name == "Martin"))))\
        == []  # fmt: skip
