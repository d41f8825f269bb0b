"""One Settings object: a TOML file plus VP_* environment overrides, validated at start-up."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from vp_monitor.accounts.settings import AccountSettings
from vp_monitor.alerts.channel_settings import ChannelSettings
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeSettings
from vp_monitor.redaction import validation_problems
from vp_monitor.section import Section, TimeZoneName
from vp_monitor.texts import Message, MessageError
from vp_monitor.vision.settings import VisionSettings
from vp_monitor.web.settings import WebSettings

DEFAULT_DATABASE_URL = "sqlite:///var/vp-monitor.db"
# Environment variables with the VP_ prefix that are not settings (VP_TEST_*: the test suite's).
NON_SETTING_ENV = {
    "VP_SECRET_KEY", "VP_CONFIG", "VP_ACTOR", "VP_TEST_DATABASE_URL", "VP_TEST_NATIVE_TEARDOWN",
}  # fmt: skip


class ConfigError(MessageError):
    """The configuration is invalid; the message names the key, the value and what was expected."""


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Minimum level of log lines written to standard error."
    )


class Settings(Section):
    """Every setting of vp-monitor; sections mirror the TOML file."""

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: SQLite file by default, postgresql+psycopg://... to scale.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File holding the key that encrypts camera passwords (created 0600 when "
        "first needed); relative to this file. Default: secret.key beside the SQLite database, "
        "else beside this file. VP_SECRET_KEY overrides it.",
    )
    language: Literal["fr", "en"] = Field(
        default="fr", description="Language of e-mails, reports and the user interface."
    )
    timezone: TimeZoneName = Field(
        default="Europe/Paris",
        description="Time zone of the dates and times shown to people (status wall, incidents, "
        "maintenance windows, demo console); --json output keeps ISO 8601 with the offset.",
    )
    log: LogSettings = Field(default_factory=LogSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    probes: ProbeSettings = Field(default_factory=ProbeSettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    accounts: AccountSettings = Field(default_factory=AccountSettings)
    web: WebSettings = Field(default_factory=WebSettings)


def _set_path(tree: dict[str, Any], path: list[str], value: str) -> None:
    for key in path[:-1]:
        node = tree.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError("config.not_a_section", path=".".join(path), key=key)
        tree = node
    tree[path[-1]] = value


def environment_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """VP_* variables as a nested dict: VP_LOG__LEVEL=DEBUG -> {"log": {"level": "DEBUG"}}."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("VP_") or name in NON_SETTING_ENV:
            continue
        path = [part.lower() for part in name[3:].split("__")]
        _set_path(tree, path, value)
    return tree


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def describe_errors(error: ValidationError, origin: str | Message) -> Message:
    """Readable lines naming each bad key and what was expected; secret values never shown."""
    lines = []
    for problem in validation_problems(error):
        if problem.unknown:
            lines.append(Message("validation.unknown_key", origin=origin, field=problem.field))
        elif problem.value is None:
            lines.append(
                Message(
                    "validation.line", origin=origin, field=problem.field, reason=problem.reason
                )
            )
        else:
            lines.append(Message(
                "validation.line_value", origin=origin, field=problem.field, value=problem.value,
                reason=problem.reason,
            ))  # fmt: skip
    return Message("lines", lines=lines)


def load_settings(
    path: Path | str | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Read the TOML file (if any), apply VP_* overrides, validate; raise ConfigError if bad."""
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get("VP_CONFIG")
    data: dict[str, Any] = {}
    origin: str | Message = Message("environment")
    if path:
        origin = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError("config.unreadable", path=path, reason=exc.strerror) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("config.not_toml", path=path, reason=exc) from exc
        if isinstance(data.get("secret_key_file"), str):  # relative to the file, not the cwd
            data["secret_key_file"] = str(Path(path).parent / data["secret_key_file"])
    data = _merge(data, environment_overrides(environ))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, origin)) from exc


def secret_key_location(settings: Settings, config_path: Path | str | None) -> Path | None:
    """The key file: as configured, else beside the SQLite database, else beside the
    configuration file (None: no default, VP_SECRET_KEY is needed)."""
    from vp_monitor.db import sqlite_path

    if settings.secret_key_file is not None:
        return settings.secret_key_file
    database = sqlite_path(settings.database_url)
    if database is not None:
        return database.parent / "secret.key"
    if config_path:
        return Path(config_path).parent / "secret.key"
    return None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple | frozenset | set):
        items = sorted(value) if isinstance(value, frozenset | set) else value
        return "[" + ", ".join(_toml_value(item) for item in items) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if hasattr(value, "value"):  # enums
        return _toml_value(value.value)
    return _toml_value(str(value))


def _example_section(model: BaseModel, path: str, lines: list[str]) -> None:
    nested = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            nested.append((name, value, info.description))
            continue
        lines.append(f"# {info.description or name}")
        if value is None:
            lines.append(f"# {name} =")
        elif hasattr(value, "get_secret_value"):
            lines.append(f'# {name} = "..."  (secret: prefer the environment variable)')
        else:
            lines.append(f"{name} = {_toml_value(value)}")
        lines.append("")
    for name, value, description in nested:
        section = f"{path}.{name}" if path else name
        lines.append(f"[{section}]")
        if description:
            lines.append(f"# {description}")
        lines.append("")
        _example_section(value, section, lines)


def example_toml() -> str:
    """The example configuration file: every key, its description and its default."""
    lines = [
        "# vp-monitor configuration. Every key is optional; the value shown is the default.",
        "# Generated by `vp-monitor config example`; a test keeps it in step with the code.",
        "# Any key can be overridden by an environment variable VP_<KEY>, sections joined by",
        "# a double underscore: VP_DATABASE_URL=..., VP_LOG__LEVEL=DEBUG.",
        "",
    ]
    _example_section(Settings(), "", lines)
    return "\n".join(lines).rstrip() + "\n"
