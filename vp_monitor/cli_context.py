"""What every command needs: settings, database, registry, and output helpers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from vp_monitor.config import (
    ConfigError,
    Settings,
    describe_errors,
    load_settings,
    secret_key_location,
)
from vp_monitor.registry.secrets import SecretBox, SecretKeyError, open_secret_box
from vp_monitor.texts import Message, MessageError, Texts

EXIT_BAD_INPUT = 2


class Context:
    """What every command needs: settings, the database and the acting person."""

    def __init__(self, config: str | None, database_url: str | None, actor: str | None):
        self.config_path = config
        self.database_url_option = database_url
        self.actor = actor or os.environ.get("VP_ACTOR") or os.environ.get("USER") or "cli"

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_path)
        if self.database_url_option:
            settings.database_url = self.database_url_option
        return settings

    @property
    def effective_config_path(self) -> str | None:
        """The configuration file read: --config, else VP_CONFIG."""
        return self.config_path or os.environ.get("VP_CONFIG")

    @cached_property
    def texts(self) -> Texts:
        """The catalogue in the configured language and display time zone."""
        return Texts(self.settings.language, self.settings.timezone)

    @cached_property
    def engine(self):
        """The database at the latest schema; a missing or empty one is an error, not created."""
        from vp_monitor.db import open_database

        return open_database(self.settings.database_url)

    @cached_property
    def secrets(self) -> SecretBox:
        """Camera password encryption; the key file follows the database or the config file."""
        key_file = secret_key_location(self.settings, self.effective_config_path)
        return open_secret_box(key_file)

    @contextmanager
    def registry(self) -> Iterator[Any]:
        """A Registry in one transaction, committed when the command succeeds."""
        from vp_monitor.db import session_factory, transaction
        from vp_monitor.registry.service import Registry

        with transaction(session_factory(self.engine)) as session:
            yield Registry(session, self.secrets, self.actor)


class ErrorsAsExitCodes(click.Group):
    """Turns domain errors into one clear line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError, IntegrityError

        from vp_monitor.db import DatabaseError, database_problem
        from vp_monitor.registry.service import RegistryError, integrity_message

        try:
            return super().invoke(ctx)
        except IntegrityError as exc:
            fail(integrity_message(exc))
        except DBAPIError as exc:  # the database failed while the command ran
            fail(database_problem(_database_url(ctx), exc))
        except ValidationError as exc:
            fail(describe_errors(exc, Message("input")))
        except (RegistryError, ConfigError, SecretKeyError, DatabaseError) as exc:
            fail(exc)


def _database_url(ctx: click.Context) -> str:
    context = ctx.find_object(Context)
    return context.settings.database_url if context is not None else ""


def fail(message: str | Message | MessageError) -> None:
    """Print an error in the interface language and exit with the bad-input code."""
    texts = current_texts()
    if isinstance(message, Message | MessageError):
        message = message.render(texts)
    click.echo(texts("error", message=message), err=True)
    sys.exit(EXIT_BAD_INPUT)


def warn(message: Message) -> None:
    """Print a warning in the interface language on stderr."""
    texts = current_texts()
    click.echo(texts("warning", message=message.render(texts)), err=True)


def current_texts() -> Texts:
    """The running command's catalogue (the defaults outside a command).

    Before the settings are read, or when they are wrong, VP_LANGUAGE's language, else the
    default.
    """
    ctx = click.get_current_context(silent=True)
    context = ctx.find_object(Context) if ctx else None
    try:
        return context.texts if context else _environment_texts()
    except ConfigError:
        return _environment_texts()


def _environment_texts() -> Texts:
    """The catalogue in VP_LANGUAGE's language, else the default: before the settings are read."""
    language = os.environ.get("VP_LANGUAGE", "")
    return Texts(language) if language in ("fr", "en") else Texts()


def json_value(value: Any) -> Any:
    """JSON for values the json module does not know: dates as ISO 8601 (with offset)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def print_json(data: Any) -> None:
    """Indented JSON for scripts, accents kept."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=json_value))


def print_records(records: list[dict[str, Any]], columns: Iterable[str], as_json: bool) -> None:
    """A table for people (headers and values from the catalogue), or JSON for scripts."""
    if as_json:
        print_json(records)
        return
    texts, columns = current_texts(), tuple(columns)
    table = Table(*(texts.header(c) for c in columns), show_lines=False)
    for record in records:
        table.add_row(*(texts.value(c, record.get(c)) for c in columns))
    table_console().print(table)


def table_console() -> Console:
    """A console for tables: the terminal's width, or unwrapped lines in a pipe or a file."""
    console = Console()
    return console if console.is_terminal else Console(width=1000)


def print_record(record: dict[str, Any], as_json: bool) -> None:
    """One record as key/value lines, or JSON."""
    if as_json:
        print_json(record)
        return
    texts = current_texts()
    lines = [(texts.header(key), texts.value(key, value)) for key, value in record.items()]
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        click.echo(f"{key.ljust(width)}  {value}")


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


pass_context = click.make_pass_decorator(Context)
