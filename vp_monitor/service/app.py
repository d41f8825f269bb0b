"""The application object: settings, database, secrets, catalogue and a thread pool, built the
same way by the command line, `serve` and the web service."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeVar

from vp_monitor.config import Settings, load_settings, secret_key_location
from vp_monitor.probes.base import ProbeSettings
from vp_monitor.registry.secrets import SecretBox, open_secret_box
from vp_monitor.texts import Texts

DATABASE_THREADS = 4  # blocking database work run at once from the event loop
Result = TypeVar("Result")


class App:
    """What every face of vp-monitor needs, each part made on first use."""

    def __init__(self, settings: Settings, config_path: str | None = None, actor: str = "cli"):
        self.settings = settings
        self.config_path = config_path
        self.actor = actor

    @classmethod
    def from_settings(
        cls, settings: Settings, config_path: str | None = None, actor: str | None = None
    ) -> App:
        """The application on these settings; the actor defaults to $VP_ACTOR or $USER."""
        actor = actor or os.environ.get("VP_ACTOR") or os.environ.get("USER") or "cli"
        return cls(settings, config_path or os.environ.get("VP_CONFIG"), actor)

    @classmethod
    def from_config(
        cls, config_path: str | None, database_url: str | None = None, actor: str | None = None
    ) -> App:
        """The application on the configuration file (and VP_* variables), with an optional
        database URL that overrides both."""
        settings = load_settings(config_path)
        if database_url:
            settings = settings.model_copy(update={"database_url": database_url})
        return cls.from_settings(settings, config_path, actor)

    @cached_property
    def texts(self) -> Texts:
        """The catalogue in the configured language and display time zone."""
        return Texts(self.settings.language, self.settings.timezone)

    @property
    def probe_settings(self) -> ProbeSettings:
        """The `[probes]` section of the configuration, or the defaults."""
        return getattr(self.settings, "probes", None) or ProbeSettings()

    @cached_property
    def engine(self):
        """The database at the latest schema; a missing or empty one is an error, not created."""
        from vp_monitor.db import open_database

        return open_database(self.settings.database_url)

    @cached_property
    def secrets(self) -> SecretBox:
        """Camera password encryption; the key file follows the database or the config file."""
        return open_secret_box(secret_key_location(self.settings, self.config_path))

    @contextmanager
    def registry(self, actor: str | None = None) -> Iterator[Any]:
        """A Registry in one transaction, committed when the block succeeds."""
        from vp_monitor.db import session_factory, transaction
        from vp_monitor.registry.service import Registry

        with transaction(session_factory(self.engine)) as session:
            yield Registry(session, self.secrets, actor or self.actor)

    @cached_property
    def executor(self) -> ThreadPoolExecutor:
        """The bounded pool where blocking database work runs, off the event loop."""
        return ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="vp-database")

    async def run_blocking(self, function: Callable[..., Result], *args: Any) -> Result:
        """`function(*args)` in the database pool, awaited from the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(function, *args))

    async def in_registry(self, work: Callable[..., Result], *args: Any) -> Result:
        """`work(registry, *args)` in one transaction, in the database pool."""

        def run() -> Result:
            with self.registry() as registry:
                return work(registry, *args)

        return await self.run_blocking(run)

    async def in_session(self, work: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        """`work(session, *args, **kwargs)` in one transaction, in the database pool (for
        work that needs no Registry: sign-in, sessions)."""

        def run() -> Result:
            with self.registry() as registry:
                return work(registry.session, *args, **kwargs)

        return await self.run_blocking(run)

    def close(self) -> None:
        """Stop the pool and release the database connections."""
        if "executor" in self.__dict__:
            self.executor.shutdown(wait=True)
        if "engine" in self.__dict__:
            self.engine.dispose()


def build_monitor(app: App, role: str = "poller", on_change: Callable | None = None) -> Any:
    """A Monitor wired to the application's database, secrets, probe, vision and alert
    settings."""
    from vp_monitor.monitor.engine import Monitor
    from vp_monitor.monitor.settings import MonitorSettings

    settings = app.settings
    return Monitor(
        app.engine,
        getattr(settings, "monitor", None) or MonitorSettings(),
        probe_settings=getattr(settings, "probes", None),
        vision_settings=getattr(settings, "vision", None),
        alert_settings=settings.alerts,
        channel_settings=settings.channels,
        secrets=app.secrets,
        on_change=on_change,
        role=role,
    )
