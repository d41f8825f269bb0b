"""Database and key-file problems on the command line: one `error:` line, exit 2, nothing made."""

from __future__ import annotations

import socket
import sqlite3
import time

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from vp_monitor.cli import main
from vp_monitor.config import load_settings, secret_key_location

# These tests match the English messages.
pytestmark = pytest.mark.usefixtures("english")

PASSWORD = "Db-S3cretPW"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Run `vp-monitor` in an empty directory without VP_* variables: (exit code, out, err)."""
    for name in ("VP_SECRET_KEY", "VP_DATABASE_URL", "VP_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args, input=None):
        result = runner.invoke(main, list(args), input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


def assert_one_error_line(code: int, out: str, err: str, *expected: str) -> None:
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert PASSWORD not in out + err


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


def test_malformed_url(run):
    assert_one_error_line(*run("--database-url", "foo", "status"), "'foo'", "not a URL")


def test_unsupported_driver_names_the_supported_ones(run):
    url = f"mysql://vp:{PASSWORD}@db.example/vp"
    for command in (["status"], ["config", "check"]):
        assert_one_error_line(
            *run("--database-url", url, *command),
            "mysql", "unsupported", "sqlite:///", "postgresql+psycopg://",
        )  # fmt: skip


def test_unreachable_postgresql_fails_fast_with_the_url_masked(run):
    url = f"postgresql+psycopg://vp:{PASSWORD}@127.0.0.1:{closed_port()}/vp"
    for command in (["status"], ["config", "check"], ["camera", "list"]):
        started = time.monotonic()
        assert_one_error_line(
            *run("--database-url", url, *command), "postgresql+psycopg://********@127.0.0.1"
        )
        assert time.monotonic() - started < 10


def test_empty_postgresql_database_is_not_used_until_upgraded(run, database_url, engine):
    from sqlalchemy import text

    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL case (set VP_TEST_DATABASE_URL)")
    with engine.begin() as connection:  # the database exists but holds no vp-monitor schema
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    assert_one_error_line(*run("--database-url", database_url, "status"), "empty database")
    assert run("--database-url", database_url, "db", "upgrade")[0] == 0
    assert run("--database-url", database_url, "status")[0] == 0


def test_mistyped_sqlite_path_creates_nothing(run, tmp_path):
    missing = tmp_path / "nonexistent" / "dir" / "x.db"
    assert_one_error_line(
        *run("--database-url", f"sqlite:///{missing}", "status"),
        f"no database at {missing}", "vp-monitor db upgrade",
    )  # fmt: skip
    assert not (tmp_path / "nonexistent").exists()


def test_default_database_in_another_directory_creates_nothing(run, tmp_path):
    for command in (["status"], ["municipality", "list"], ["config", "check"]):
        assert_one_error_line(*run(*command), f"no database at {tmp_path / 'var'}")
    assert list(tmp_path.iterdir()) == []


def test_empty_sqlite_file_is_not_used_until_upgraded(run, tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    url = f"sqlite:///{path}"
    assert_one_error_line(*run("--database-url", url, "status"), "empty database", str(path))
    code, out, _err = run("--database-url", url, "db", "upgrade")
    assert code == 0 and "up to date" in out
    assert run("--database-url", url, "status")[0] == 0


def test_db_upgrade_creates_the_database_then_commands_work(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'vp.db'}"
    assert run("--database-url", url, "db", "upgrade")[0] == 0
    assert (
        run("--database-url", url, "municipality", "add", "--insee", "92012", "--name", "B")[0] == 0
    )
    code, out, _err = run("--database-url", url, "config", "check")
    assert code == 0 and "valid" in out


def test_database_error_while_a_command_runs(run, tmp_path):
    path = tmp_path / "vp.db"
    assert run("--database-url", f"sqlite:///{path}", "db", "upgrade")[0] == 0
    with sqlite3.connect(path) as connection:  # the schema says latest, a table is gone
        connection.execute("DROP TABLE municipality")
    assert_one_error_line(
        *run("--database-url", f"sqlite:///{path}", "municipality", "list"),
        f"database sqlite:///{path}", "no such table",
    )  # fmt: skip


def add_camera(run, url: str, code: str) -> None:
    for args in (
        ["municipality", "add", "--insee", "92012", "--name", "Boulogne-Billancourt"],
        ["site", "add", "Mairie", "--municipality", "92012"],
    ):
        run("--database-url", url, *args)
    code_, out, err = run(
        "--database-url", url, "camera", "add", code, "--site", "Mairie",
        "--municipality", "92012", "--onvif", "127.0.0.1:1", "--no-probe",
        "--user", "admin", "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert code_ == 0, (out, err)


def test_key_file_beside_the_sqlite_database_and_named_when_it_does_not_fit(run, tmp_path):
    database = tmp_path / "data" / "vp.db"  # the command runs in tmp_path
    url = f"sqlite:///{database}"
    assert run("--database-url", url, "db", "upgrade")[0] == 0
    add_camera(run, url, "CAM-1")
    key_file = database.parent / "secret.key"
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "var").exists()

    key_file.write_bytes(Fernet.generate_key())  # another key: stored passwords do not open
    assert_one_error_line(
        *run("--database-url", url, "camera", "update", "CAM-1", "--password-stdin",
             input="other\n"),
        str(key_file), "cannot be decrypted",
    )  # fmt: skip
    key_file.unlink()  # lost: a new key would not open them either, so none is made
    assert_one_error_line(
        *run("--database-url", url, "camera", "update", "CAM-1", "--password-stdin",
             input="other\n"),
        f"no key file at {key_file}",
    )  # fmt: skip
    assert not key_file.exists()


def test_read_only_commands_create_no_key_file(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'vp.db'}"
    assert run("--database-url", url, "db", "upgrade")[0] == 0
    assert run("--database-url", url, "status")[0] == 0
    assert run("--database-url", url, "camera", "list")[0] == 0
    assert not (tmp_path / "secret.key").exists()


def test_key_file_follows_the_configuration_file(tmp_path, monkeypatch):
    monkeypatch.delenv("VP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    config = config_dir / "vp.toml"
    config.write_text('database_url = "postgresql+psycopg://vp@db.example/vp"\n')
    settings = load_settings(config, environ={})
    assert secret_key_location(settings, config) == config_dir / "secret.key"
    config.write_text('secret_key_file = "keys/vp.key"\n')
    settings = load_settings(config, environ={})
    assert secret_key_location(settings, config) == config_dir / "keys" / "vp.key"
    # Without a configuration file, a PostgreSQL database has no default key file.
    settings = load_settings(None, environ={"VP_DATABASE_URL": "postgresql+psycopg://vp@h/vp"})
    assert secret_key_location(settings, None) is None


def test_database_of_an_unknown_schema_version(run, tmp_path):
    path = tmp_path / "vp.db"
    assert run("--database-url", f"sqlite:///{path}", "db", "upgrade")[0] == 0
    with sqlite3.connect(path) as connection:  # as written by a newer vp-monitor
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    assert_one_error_line(
        *run("--database-url", f"sqlite:///{path}", "status"), f"sqlite:///{path}", "'9999'"
    )
