"""`vp-monitor demo`: the demo fleet simulated, registered and monitored, with local sinks.

Everything runs in one process on the embedded default (SQLite under var/demo/): the simulator
serves the cameras of config/demo-fleet.toml (some fail on a script), the monitor checks them,
and the notifications it sends are caught by a local webhook receiver and a local SMTP server
that print what they receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import signal
import socket
import tempfile
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import click
from aiohttp import web

from vp_monitor.config import Settings
from vp_monitor.db import open_database
from vp_monitor.registry.schemas import ContactInput, MunicipalityInput
from vp_monitor.registry.service import NotFound, Registry
from vp_monitor.registry.transfer import apply_import, plan_import, read_rows
from vp_monitor.texts import Texts

DEFAULT_FLEET = Path(__file__).resolve().parents[1] / "config" / "demo-fleet.toml"
DEMO_DIR = Path("var/demo")
DEMO_MAINTAINER = "Maintenance Démo"
WEBHOOK_SECRET = "demo-signing-key"
log = logging.getLogger(__name__)


def demo_settings(smtp_port: int) -> Settings:
    """Short intervals so the scripted faults show within a minute or two."""
    return Settings.model_validate(
        {
            "database_url": f"sqlite:///{DEMO_DIR / 'vp-monitor.db'}",
            "secret_key_file": str(DEMO_DIR / "secret.key"),
            "monitor": {"intervals": {"reachability": 10, "stream": 20}},
            "alerts": {"group_wait_s": 5, "correlation_window_s": 15},
            "channels": {"email": {"host": "127.0.0.1", "port": smtp_port}},
        }
    )


def register_fleet(registry: Registry, fleet, webhook_url: str) -> int:
    """Municipalities, sites and cameras of the fleet, and one contact per audience."""
    from vp_monitor.sim.fleet import write_registry_csv

    for fc in fleet.cameras:
        site = fc.site
        try:
            registry.municipality(site.municipality)
        except NotFound:
            name = site.municipality_name or site.municipality
            registry.add_municipality(MunicipalityInput(insee=site.municipality, name=name))
            registry.add_contact(
                ContactInput(
                    name=f"Police municipale {name}",
                    channel="email",
                    address=f"pm-{site.municipality}@demo.invalid",
                    municipality=site.municipality,
                )  # fmt: skip
            )
    registry.add_contact(
        ContactInput(name="CSU", channel="webhook", address=webhook_url, secret=WEBHOOK_SECRET)
    )
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "fleet.csv"
        write_registry_csv(fleet, csv_path)
        plan = plan_import(registry, read_rows(csv_path))
    if plan.problems:
        raise click.ClickException("; ".join(str(p) for p in plan.problems))
    apply_import(registry, plan)
    for site in {fc.site for fc in fleet.cameras if fc.site.latitude is not None}:
        # The import's rows carry no coordinates: the map of sites needs them.
        registry.update_site(site.name, site.municipality, latitude=site.latitude,
                             longitude=site.longitude)  # fmt: skip
    return len(plan.create)


def create_demo_accounts(registry: Registry, fleet) -> list[tuple[str, str, str]]:
    """One account per role, each with a new random password: (role, name, password). The
    municipality account sees the first site's municipality; the maintainer account, the
    company that maintains that site's cameras."""
    from vp_monitor.accounts.principal import ROLES
    from vp_monitor.accounts.schemas import AccountInput
    from vp_monitor.accounts.service import add_account

    first_site = fleet.cameras[0].site
    registry.maintainer(DEMO_MAINTAINER)
    for fc in fleet.cameras:
        if fc.site == first_site:
            registry.update_camera(fc.camera.code, maintainer=DEMO_MAINTAINER)
    scopes = {
        "municipality": {"municipalities": [first_site.municipality]},
        "maintainer": {"maintainer": DEMO_MAINTAINER},
    }
    created = []
    for role in ROLES:
        name, password = f"demo-{role}", secrets.token_urlsafe(12)
        add_account(registry, AccountInput(name=name, role=role, **scopes.get(role, {})), password)
        created.append((role, name, password))
    return created


async def start_webhook_sink(texts: Texts) -> tuple[web.AppRunner, str]:
    """A local webhook receiver that prints each message it gets."""

    async def receive(request: web.Request) -> web.Response:
        payload = await request.json()
        for item in payload.get("items", []):
            event = texts.value("event", item["event"])
            click.echo(
                f"  webhook ← {event:<15} {texts.severity(item['severity']):<9} "
                f"{item['camera']['code']:<12} {texts.conditions(item['conditions'])}"
            )
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook"


def start_smtp_sink():
    """A local SMTP server that prints the subject and recipients of each mail."""
    from aiosmtpd.controller import Controller

    class PrintingHandler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            message = message_from_bytes(envelope.content)
            subject = str(make_header(decode_header(message.get("Subject", ""))))
            click.echo(f"  e-mail  → {', '.join(envelope.rcpt_tos)}: {subject}")
            return "250 OK"

    with socket.socket() as probe:  # aiosmtpd cannot take port 0: pick a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(PrintingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


async def run_demo(
    fleet_path: Path, duration: float | None, web_host: str = "127.0.0.1", web_port: int = 8080
) -> None:
    """Simulate, register, monitor, serve the web and print until `duration` elapses or
    Ctrl-C."""
    from vp_monitor.monitor.cli import change_printer
    from vp_monitor.service.app import App, build_monitor
    from vp_monitor.service.commands import approve_missing
    from vp_monitor.sim.fleet import RunningFleet, load_fleet
    from vp_monitor.web.server import start_web

    fleet = load_fleet(fleet_path)
    smtp = start_smtp_sink()
    settings = demo_settings(smtp.port)
    texts = Texts(settings.language, settings.timezone)
    webhook_runner, webhook_url = await start_webhook_sink(texts)
    database = DEMO_DIR / "vp-monitor.db"
    for leftover in DEMO_DIR.glob("vp-monitor.db*"):  # a fresh registry each run
        leftover.unlink()
    app = App.from_settings(settings, actor="demo")
    app.engine = open_database(settings.database_url, create=True)  # the demo makes its own
    with app.registry() as registry:
        count = register_fleet(registry, fleet, webhook_url)
        logins = create_demo_accounts(registry, fleet)
    click.echo(texts("demo.registered", count=count, database=database))
    click.echo(texts("demo.accounts"))
    for role, name, password in logins:
        role_label = texts.value("role", role)
        click.echo(texts("demo.account", role=role_label, name=name, password=password))
    running = RunningFleet(fleet, discovery_port=None)
    await running.start()
    await running.encoded()  # a camera still encoding its first loop would look down
    # A day reference for every camera, as technicians approve one at installation: covered
    # and moved are judged against it.
    await approve_missing(app, "day", "demo installation")
    monitor = build_monitor(app, on_change=change_printer(texts))
    await monitor.start()
    web_runner = await start_web(app, web_host, web_port, monitor)
    click.echo(texts("serve.web", url=f"http://{web_host}:{web_port}/"))
    click.echo(texts("demo.monitoring"))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), duration)
    finally:
        await web_runner.cleanup()
        await monitor.stop()
        await running.close()
        await webhook_runner.cleanup()
        smtp.stop()
        app.close()
    click.echo(json.dumps({"stopped": True, "database": str(database)}))


@click.command("demo")
@click.option("--fleet", "fleet_path", type=click.Path(exists=True, path_type=Path),
              default=DEFAULT_FLEET, show_default=True, help="Fleet file to simulate.")  # fmt: skip
@click.option("--duration", type=float, help="Stop after this many seconds (default: Ctrl-C).")
@click.option("--port", "web_port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="Port of the web service (on 127.0.0.1).")  # fmt: skip
def demo(fleet_path: Path, duration: float | None, web_port: int) -> None:
    """Simulate the demo fleet, register it, monitor it and show notifications (SQLite only)."""
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    logging.getLogger("vp_monitor").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(fleet_path, duration, web_port=web_port))
