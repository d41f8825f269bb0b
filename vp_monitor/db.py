"""Engine and session factory: SQLite (WAL) by default, PostgreSQL by URL; schema by Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from vp_monitor.texts import Message, MessageError

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


# The supported URLs, as error messages give them.
SUPPORTED_DATABASES = Message("database.supported")
_SUPPORTED_DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}
CONNECT_TIMEOUT_S = 5  # an unreachable server is reported at once, not after minutes


class DatabaseError(MessageError):
    """The database cannot be used: bad URL, unsupported driver, unreachable, missing or empty."""


def shown_url(url: str) -> str:
    """The URL as it may be shown: any password masked."""
    from vp_monitor.redaction import redact_url

    return redact_url(url) or ""


def parse_database_url(url: str) -> URL:
    """The parsed URL; DatabaseError if it is malformed or names an unsupported driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            "database.not_a_url", url=shown_url(url), supported=SUPPORTED_DATABASES
        ) from None
    if (parsed.get_backend_name(), parsed.get_driver_name()) not in _SUPPORTED_DRIVERS:
        raise DatabaseError(
            "database.unsupported", url=shown_url(url), driver=parsed.drivername,
            supported=SUPPORTED_DATABASES,
        )  # fmt: skip
    return parsed


def database_problem(url: str, exc: Exception) -> DatabaseError:
    """A database driver's error as one line naming the (masked) URL."""
    from vp_monitor.redaction import redact

    reason = str(getattr(exc, "orig", None) or exc)
    try:
        password = make_url(url).password
    except ArgumentError:
        password = None
    reason = redact(reason, [str(password or "")])
    reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
    return DatabaseError("database.problem", url=shown_url(url), reason=reason)


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite database URL (None for in-memory, other or malformed URLs)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _count_database_errors(engine: Engine) -> Engine:
    """Count every error the driver raises on this engine (vp_database_errors_total) and note
    an outage in the engine's health state (db_health): the one place all database work goes
    through, the monitor's, the web's and the command line's."""
    from vp_monitor.db_health import health_of
    from vp_monitor.metrics import record_database_error

    health = health_of(engine)

    @event.listens_for(engine, "handle_error")
    def _count(context) -> None:
        if not context.is_pre_ping:  # a stale pooled connection, replaced at once
            error = context.sqlalchemy_exception or context.original_exception
            record_database_error(type(error).__name__)
            health.failed(error)

    return engine


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy time-out."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _count_database_errors(create_engine(parsed, connect_args={"timeout": 30}))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLite's lower() folds ASCII only: searches need É as é, as on PostgreSQL.
            dbapi_connection.create_function("vp_lower", 1, _lower, deterministic=True)

        return engine
    return _count_database_errors(
        create_engine(
            parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
    )


def _missing(url: str, key: str) -> DatabaseError:
    path = sqlite_path(url)
    where = path.absolute() if path is not None else shown_url(url)
    return DatabaseError(key, where=where)


def open_database(url: str, *, create: bool = False) -> Engine:
    """An engine on a database at the latest schema, migrated if older.

    Only `create=True` (`db upgrade`, `demo`) makes a new database: a mistyped path must not
    silently give an empty registry. Every problem is a DatabaseError naming the masked URL.
    """
    path = sqlite_path(parse_database_url(url))
    if path is not None and not create and not path.is_file():
        raise _missing(url, "database.missing")
    if path is not None and create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise database_problem(url, exc) from exc
    from alembic.util import CommandError

    engine = make_engine(url)
    try:
        if current_revision(engine) is None and not create:
            raise _missing(url, "database.empty")
        ensure_schema(engine)
    except (SQLAlchemyError, CommandError) as exc:  # CommandError: schema of a newer version
        engine.dispose()
        raise database_problem(url, exc) from exc
    except DatabaseError:
        engine.dispose()
        raise
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine):
    """Alembic configuration pointing at the packaged migrations and this engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None: no vp-monitor schema)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade the schema to the latest revision unless it is there already."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current_revision(engine) != head:
        upgrade(engine)


def _dialect_insert(session: Session, model: type):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        return None
    return dialect_insert(model)


def insert_ignoring_duplicates(session: Session, model: type):
    """INSERT that skips rows another writer inserted meanwhile (unique or primary key)."""
    statement = _dialect_insert(session, model)
    return insert(model) if statement is None else statement.on_conflict_do_nothing()


def insert_or_replace(
    session: Session, model: type, key: tuple[str, ...], columns: tuple[str, ...]
):
    """INSERT whose rows replace `columns` of the row already there with the same `key`."""
    statement = _dialect_insert(session, model)
    if statement is None:
        raise NotImplementedError(f"no upsert on {session.get_bind().dialect.name}")
    replaced = {name: statement.excluded[name] for name in columns}
    return statement.on_conflict_do_update(index_elements=list(key), set_=replaced)


def observed_until(end: datetime, now: datetime | None = None) -> datetime:
    """Where a period ending at `end` stops being measured: now, if `end` is still to come."""
    return min(end, now or utcnow())
