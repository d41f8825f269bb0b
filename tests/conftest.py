"""Fixtures shared by every test: databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from vp_monitor.db import make_engine, upgrade

POSTGRES_URL = os.environ.get("VP_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _postgres_database() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"vp_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """An empty database URL for each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vp-monitor.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """An engine on a database migrated to the latest schema."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def secret_key(monkeypatch) -> str:
    """A fresh encryption key in VP_SECRET_KEY."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("VP_SECRET_KEY", key)
    return key
