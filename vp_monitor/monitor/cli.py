"""`vp-monitor serve`: run the monitor (poller) and, later, the web interface."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

import click

from vp_monitor.cli_context import Context, pass_context
from vp_monitor.monitor.events import CameraChange
from vp_monitor.monitor.settings import MonitorSettings
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


def build_monitor(context: Context) -> object:
    """A Monitor wired to the configured database, probes, vision and alert settings."""
    from vp_monitor.monitor.engine import Monitor

    settings = context.settings
    return Monitor(
        context.engine,
        getattr(settings, "monitor", None) or MonitorSettings(),
        probe_settings=getattr(settings, "probes", None),
        vision_settings=getattr(settings, "vision", None),
        alert_settings=settings.alerts,
        channel_settings=settings.channels,
        secrets=context.secrets,
        on_change=change_printer(context.texts),
    )


async def _serve(context: Context, role: str, once: bool) -> None:
    if role in ("all", "web"):
        log.warning("the web interface is not built yet: nothing served on HTTP")
    if role == "web" and once:
        return
    monitor = build_monitor(context) if role in ("all", "poller") else None
    if monitor is not None and once:
        count = await monitor.run_once()
        click.echo(context.texts("serve.checks_run", count=count))
        return
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    if monitor is not None:
        await monitor.start()
    try:
        await stopping.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if monitor is not None:
            await monitor.stop()


@click.command()
@click.option("--config", type=click.Path(dir_okay=False), help="TOML configuration file.")
@click.option(
    "--role",
    type=click.Choice(["all", "poller", "web"]),
    default="all",
    show_default=True,
    help="poller: run checks; web: the web interface (not built yet); all: both.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Web interface address.")
@click.option("--port", default=8080, show_default=True, type=int, help="Web interface port.")
@click.option("--once", is_flag=True, help="Run every due (or never run) check once, then exit.")
@pass_context
def serve(context: Context, config: str | None, role: str, host: str, port: int, once: bool):
    """Check the camera fleet on schedule until SIGINT/SIGTERM; print each state change."""
    if config:
        context.config_path = config
    level = getattr(getattr(context.settings, "log", None), "level", "INFO")
    logging.getLogger("vp_monitor").setLevel(level)
    del host, port  # used by the web interface (later issue)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(context, role, once))
