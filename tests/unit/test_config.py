"""Configuration: TOML file, VP_* overrides, and errors that name key, value and expectation."""

import pytest

from vp_monitor.config import ConfigError, Settings, load_settings


def test_defaults_without_file():
    """With no file and no environment, the embedded SQLite default is used."""
    settings = load_settings(None, environ={})
    assert settings.database_url == "sqlite:///var/vp-monitor.db"
    assert settings.language == "fr"


def test_environment_overrides_file(tmp_path):
    """VP_* variables override the TOML file, nested sections with a double underscore."""
    path = tmp_path / "c.toml"
    path.write_text('database_url = "sqlite:///a.db"\n[log]\nlevel = "INFO"\n')
    settings = load_settings(
        path, environ={"VP_DATABASE_URL": "sqlite:///b.db", "VP_LOG__LEVEL": "DEBUG"}
    )
    assert settings.database_url == "sqlite:///b.db"
    assert settings.log.level == "DEBUG"


@pytest.mark.parametrize(
    ("content", "environ", "expected"),
    [
        ('language = "de"\n', {}, "language = 'de'"),
        ("[log]\nlevel = 3\n", {}, "log.level = 3"),
        ('colour = "red"\n', {}, "unknown key 'colour'"),
        ("", {"VP_LOG__LEVL": "DEBUG"}, "unknown key 'log.levl'"),
        ("language = \n", {}, "not valid TOML"),
        # Every time zone setting is checked at load, not at the first report or quiet hour.
        ('timezone = "Mars/Olympus"\n', {}, "timezone = 'Mars/Olympus': unknown time zone"),
        ('[alerts]\ntimezone = "Europe/Pariss"\n', {}, "alerts.timezone = 'Europe/Pariss'"),
        ("", {"VP_CHANNELS__EMAIL__TIMEZONE": "UTC+2"}, "channels.email.timezone = 'UTC+2'"),
    ],
)
def test_bad_configuration_names_the_key(tmp_path, content, environ, expected):
    """Each bad configuration is refused with a message naming the key and the value."""
    path = tmp_path / "c.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ=environ)
    assert expected in str(error.value)


def test_missing_file_is_a_clear_error(tmp_path):
    """A configuration file that does not exist is named in the error."""
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_example_configuration_is_valid():
    """The documented example configuration loads as it is shipped, to the defaults."""
    from pathlib import Path

    example = Path(__file__).parents[2] / "config" / "vp-monitor.example.toml"
    assert load_settings(example, environ={}).model_dump() == Settings().model_dump()


def test_example_configuration_documents_every_key():
    """The shipped example is exactly what the code generates: every key, described."""
    from pathlib import Path

    from vp_monitor.config import example_toml

    example = Path(__file__).parents[2] / "config" / "vp-monitor.example.toml"
    assert example.read_text(encoding="utf-8") == example_toml(), (
        "regenerate with: vp-monitor config example > config/vp-monitor.example.toml"
    )
