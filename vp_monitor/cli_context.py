"""What every command needs: settings, database, registry, and output helpers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Coroutine, Iterable
from datetime import date, datetime
from functools import cached_property
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from vp_monitor.config import ConfigError, Settings
from vp_monitor.registry.secrets import SecretBox
from vp_monitor.service.app import App
from vp_monitor.texts import Message, MessageError, Texts

EXIT_BAD_INPUT = 2
Result = TypeVar("Result")


class Context:
    """The click face of the application: it holds the App, built on first use from the
    global options."""

    def __init__(self, config: str | None, database_url: str | None, actor: str | None):
        self.config_path = config
        self.database_url_option = database_url
        self.actor_option = actor

    @cached_property
    def app(self) -> App:
        """The application object, as `serve` and the web service build it."""
        return App.from_config(self.config_path, self.database_url_option, self.actor_option)

    @property
    def settings(self) -> Settings:
        """The validated settings."""
        return self.app.settings

    @property
    def actor(self) -> str:
        """Who is recorded in the audit trail."""
        return self.app.actor

    @property
    def texts(self) -> Texts:
        """The catalogue in the configured language."""
        return self.app.texts

    @property
    def engine(self):
        """The database engine."""
        return self.app.engine

    @property
    def secrets(self) -> SecretBox:
        """Camera password encryption."""
        return self.app.secrets

    def registry(self):
        """A Registry in one transaction, committed when the command succeeds."""
        return self.app.registry()

    def close(self) -> None:
        """Release the application's pool and connections, if it was built."""
        if "app" in self.__dict__:
            self.app.close()


def run_at_edge(work: Coroutine[Any, Any, Result]) -> Result:
    """Run a service command from the command line: its own event loop, and the decoder
    workers stopped after it."""
    from vp_monitor.probes.capture import close_decoder_pool

    try:
        return asyncio.run(work)
    finally:
        close_decoder_pool()


class ErrorsAsExitCodes(click.Group):
    """Turns domain errors into one clear line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from vp_monitor.service.errors import problem

        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = problem(exc, _database_url(ctx))
            if message is None:
                raise
            fail(message)


def _database_url(ctx: click.Context) -> str:
    context = ctx.find_object(Context)
    built = context is not None and "app" in context.__dict__  # settings that failed: no URL
    return context.settings.database_url if built else ""


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
