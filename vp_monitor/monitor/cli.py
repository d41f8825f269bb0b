"""`vp-monitor serve`: run the monitor (poller), the web service, or both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

import click

from vp_monitor.cli_context import Context, fail, json_option, pass_context, print_records
from vp_monitor.monitor.events import CameraChange
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.service.app import build_monitor
from vp_monitor.texts import Texts

log = logging.getLogger(__name__)


def change_line(code: str, change: CameraChange, texts: Texts | None = None) -> str:
    """One terminal line for a state change: local time to the second, camera, old → new
    state, conditions, in the catalogue's language."""
    texts = texts or Texts()
    conditions = texts.conditions(sorted(change.conditions))
    marks = "".join(
        (
            f" [{texts.state('maintenance')}]" if change.in_maintenance else "",
            f" [{texts.condition('flapping')}]" if change.flapping else "",
        )
    )
    at = texts.moment(change.at).rpartition(" ")[2]  # the time of day: the console runs live
    found = f" ({conditions})" if conditions else ""
    return (f"{at} {code}{texts('colon')}{texts.state(change.previous_state)} → "
            f"{texts.state(change.state)}{found}{marks}")  # fmt: skip


def change_printer(texts: Texts) -> Callable[[str, CameraChange], None]:
    """A callback printing a line when a camera's state or confirmed conditions changed."""

    def print_change(code: str, change: CameraChange) -> None:
        if change.changed:
            click.echo(change_line(code, change, texts))

    return print_change


def monitor_settings(context: Context) -> MonitorSettings:
    """The `[monitor]` settings (heartbeat, node name), defaults when absent."""
    return getattr(context.settings, "monitor", None) or MonitorSettings()


async def _beat_forever(context: Context, role: str) -> None:
    """The heartbeat of a node that runs no monitor (`--role web`)."""
    from vp_monitor.db import session_factory
    from vp_monitor.db_health import health_of
    from vp_monitor.monitor.nodes import Heartbeat

    settings = monitor_settings(context)
    heartbeat = Heartbeat(session_factory(context.engine), settings.node_name(), role)
    database = health_of(context.engine)
    try:
        while True:
            try:
                started = time.monotonic()
                await asyncio.to_thread(heartbeat.beat)
                database.wrote(started)
            except Exception as exc:  # the database may be away for a while: try again next time
                if not database.failed(exc):  # an outage is logged once, by its health state
                    log.warning("heartbeat not written", exc_info=True)
            await asyncio.sleep(settings.heartbeat_s)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(heartbeat.leave)


async def _serve(context: Context, role: str, once: bool, host: str, port: int) -> None:
    if role == "web" and once:
        return
    on_change = change_printer(context.texts)
    monitor = build_monitor(context.app, role, on_change) if role in ("all", "poller") else None
    if monitor is not None and once:
        count = await monitor.run_once()
        click.echo(context.texts("serve.checks_run", count=count))
        return
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    beating = web = None
    if role in ("all", "web"):
        from vp_monitor.web.server import start_web

        web = await start_web(context.app, host, port, monitor)
        click.echo(context.texts("serve.web", url=f"http://{host}:{port}/"))
    if monitor is not None:
        await monitor.start()
    else:
        beating = asyncio.create_task(_beat_forever(context, role))
    try:
        await stopping.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if monitor is not None:
            await monitor.stop()  # checks under way finish, the others are given back
        if beating is not None:
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)
        if web is not None:
            await web.cleanup()


@click.command()
@click.option("--config", type=click.Path(dir_okay=False), help="TOML configuration file.")
@click.option(
    "--role",
    type=click.Choice(["all", "poller", "web"]),
    default="all",
    show_default=True,
    help="poller: run checks; web: the web service (API); all: both.",
)
@click.option("--host", help="Web service address (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Web service port (default: 8080).")
@click.option("--once", is_flag=True, help="Run every due (or never run) check once, then exit.")
@pass_context
def serve(
    context: Context, config: str | None, role: str, host: str | None, port: int | None, once: bool
):
    """Check the camera fleet on schedule until SIGINT/SIGTERM; print each state change."""
    if config:
        context.config_path = config
    level = getattr(getattr(context.settings, "log", None), "level", "INFO")
    logging.getLogger("vp_monitor").setLevel(level)
    host = host or context.settings.web.host
    port = port or context.settings.web.port
    from vp_monitor.monitor.nodes import NodeRunning, hold_single_node, running_message

    node_id = monitor_settings(context).node_name()
    try:  # SQLite serves one node: refuse a second one before it opens the database
        database_lock = hold_single_node(context.settings.database_url, node_id)
    except NodeRunning as exc:
        fail(running_message(context.engine, exc.holder))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(context, role, once, host, port))
    finally:
        if database_lock is not None:
            database_lock.close()


@click.command()
@json_option
@pass_context
def nodes(context: Context, as_json: bool) -> None:
    """List the serve nodes sharing this database: live, or stale when not seen lately."""
    from vp_monitor.db import session_factory, utcnow
    from vp_monitor.monitor.nodes import node_records

    with session_factory(context.engine)() as session:
        records = node_records(session, utcnow(), monitor_settings(context).node_stale_s)
    columns = ("id", "status", "host", "pid", "role", "version", "started_at", "last_seen_at",
               "checks_per_minute")  # fmt: skip
    print_records(records, columns, as_json)
