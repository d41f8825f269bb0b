"""The classifier of database outages and the health state, on real driver errors: SQLite
and psycopg raise them here, nothing is faked."""

from __future__ import annotations

import logging
import time

import pytest
from ports import free_port
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from vp_monitor.db import make_engine
from vp_monitor.db_health import DISK_ERROR, SERVER_GONE, health_of, outage_kind
from vp_monitor.texts import Texts


def error_of(engine, sql: str = "SELECT 1") -> SQLAlchemyError:
    with pytest.raises(SQLAlchemyError) as raised, engine.connect() as connection:
        connection.execute(text(sql))
    return raised.value


def test_outages_are_told_from_errors_of_one_statement(tmp_path):
    """A server refusing connections and an SQLite file that cannot be opened are outages; a bad
    statement, a missing table or a constraint is not."""
    refused = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port('127.0.0.1')}/x")
    missing = make_engine(f"sqlite:///{tmp_path}/missing/vp.db")
    fine = make_engine(f"sqlite:///{tmp_path}/vp.db")
    try:
        assert outage_kind(error_of(refused)) == SERVER_GONE
        assert outage_kind(error_of(missing)) == DISK_ERROR
        assert outage_kind(error_of(fine, "SELECT * FROM no_such_table")) is None
        assert outage_kind(error_of(fine, "SELEC 1")) is None
        with fine.begin() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        assert outage_kind(error_of(fine, "INSERT INTO t VALUES (1)")) is None  # IntegrityError
        assert outage_kind(ValueError("not a database error")) is None
        try:  # wrapped in another exception: the cause is followed
            raise RuntimeError("job failed") from error_of(refused)
        except RuntimeError as wrapped:
            assert outage_kind(wrapped) == SERVER_GONE
    finally:
        for engine in (refused, missing, fine):
            engine.dispose()


def test_a_statement_error_is_not_an_outage(engine):
    """On each backend: a division by zero and a missing table leave the database available."""
    assert outage_kind(error_of(engine, "SELECT 1 / 0 FROM no_such_table")) is None
    if engine.dialect.name == "postgresql":
        assert outage_kind(error_of(engine, "SELECT 1 / 0")) is None
    assert health_of(engine).available


def test_the_state_is_logged_once_when_it_goes_and_once_when_it_comes_back(tmp_path, caplog):
    """Every error of the engine reaches the state (the engine's handle_error hook): the first
    outage error is logged, the others are not; readiness has a reason meanwhile; the next write
    ends the outage, logged with its duration."""
    engine = make_engine(f"sqlite:///{tmp_path}/missing/vp.db")
    health = health_of(engine)
    assert health_of(engine) is health and health.available and health.problem() is None
    caplog.set_level(logging.INFO, logger="vp_monitor.db_health")
    try:
        for _ in range(5):
            error_of(engine)  # noticed by the hook, without the caller's help
        assert not health.available
        assert health.failed(error_of(engine)) is True
        assert health.failed(ValueError("a bug")) is False
        gone = [r.getMessage() for r in caplog.records]
        assert len(gone) == 1, gone
        assert gone[0].startswith(f"database {tmp_path}/missing/vp.db unavailable (disk error): ")
        assert "unable to open database file" in gone[0]
        problem = health.problem()
        assert problem.render(Texts("en")).startswith("database unavailable for ")
        assert problem.render(Texts("fr")).endswith("s (erreur du disque)")
        health.wrote(time.monotonic())
        health.wrote(time.monotonic())
        back = [r.getMessage() for r in caplog.records][1:]
        assert len(back) == 1 and back[0].endswith(" back after 0 s"), back
        assert health.available and health.problem() is None
    finally:
        engine.dispose()


def test_a_password_is_not_logged(caplog):
    port = free_port("127.0.0.1")
    engine = make_engine(f"postgresql+psycopg://vp:s3cret-pw@127.0.0.1:{port}/x")
    caplog.set_level(logging.INFO, logger="vp_monitor.db_health")
    try:
        error_of(engine)
        (line,) = [r.getMessage() for r in caplog.records]
        assert "s3cret-pw" not in line and "vp:***@127.0.0.1" in line, line
    finally:
        engine.dispose()


def test_a_write_begun_before_the_outage_does_not_end_it(tmp_path, caplog):
    """A server shutting down still commits the transactions it had: a write that began before
    the outage was noticed and committed after it says nothing of the server now (the outage
    was logged away, back 2 ms later, and away again)."""
    engine = make_engine(f"sqlite:///{tmp_path}/missing/vp.db")
    health = health_of(engine)
    caplog.set_level(logging.INFO, logger="vp_monitor.db_health")
    try:
        begun = time.monotonic()
        error_of(engine)
        health.wrote(begun)
        assert not health.available
        assert [r.getMessage() for r in caplog.records if " back after " in r.getMessage()] == []
        health.wrote(time.monotonic())
        assert health.available
    finally:
        engine.dispose()
