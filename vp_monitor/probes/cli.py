"""Command-line faces of the probes: `check`, `discover`, `camera reference`; the work is done
by the service layer's commands."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import click
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from vp_monitor.cli_context import (
    Context,
    fail,
    json_option,
    pass_context,
    print_records,
    run_at_edge,
)
from vp_monitor.probes.base import reference_key
from vp_monitor.probes.tiers import PICTURE_SEES
from vp_monitor.service import commands
from vp_monitor.service.scope import Scope

WSD_MULTICAST = ("239.255.255.250", 3702)
SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA_NS = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD_NS = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
MAX_DATAGRAM = 16 * 1024
MAX_DEVICES = 10_000
# `check` exit codes, as monitoring plugins give them (2 stays the usage error of every command).
CHECK_EXIT_CODES = {"ok": 0, "degraded": 1, "down": 3}


# -- check -------------------------------------------------------------------------------------
@click.command("check")
@click.argument("code")
@json_option
@click.option("--save-frame", type=click.Path(dir_okay=False), help="Write the frame (JPEG).")
@pass_context
def check(context: Context, code: str, as_json: bool, save_frame: str | None) -> None:
    """Run every probe once on a camera and print what was found; exit 0 ok, 1 degraded,
    3 down (2: bad input)."""
    from vp_monitor.probes.onvif import close_clients

    async def run():
        try:
            return await commands.check_registered_camera(context.app, code)
        finally:
            await close_clients()

    report = run_at_edge(run())
    if save_frame and report.evidence_jpeg:
        with open(save_frame, "wb") as handle:
            handle.write(report.evidence_jpeg)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print_check(report, context.texts)
    exit_code = CHECK_EXIT_CODES.get(report.state, CHECK_EXIT_CODES["down"])
    if exit_code:
        sys.exit(exit_code)


def print_check(report: Any, texts: Any) -> None:
    """The check for people: the state, each probe, then what the picture showed."""
    conditions = texts.conditions(sorted(report.conditions))
    found = f"  ({conditions})" if conditions else ""
    click.echo(f"{report.camera}{texts('colon')}{texts.state(report.state)}{found}")
    for name, result in report.probes.items():
        metrics = ", ".join(f"{k}={v:.3g}" for k, v in sorted(result.metrics.items()))
        verdict = texts("check.ok" if result.ok else "check.failed")
        line = f"  {name:7} {verdict:6} {result.duration_s:6.2f} s  "
        click.echo(line + (result.error or metrics))
    findings = sorted(report.conditions & PICTURE_SEES)
    image = texts("check.image")
    if not report.analysis:
        click.echo(f"  {image:7} {texts('check.no_picture')}")
        return
    verdict = texts.conditions(findings) if findings else texts("check.ok")
    click.echo(f"  {image:7} {verdict}")
    metrics = ", ".join(
        f"{texts.metric(k)} {texts.number(v)}" for k, v in sorted(report.analysis.items())
    )
    click.echo(f"          {metrics}")


# -- camera reference ----------------------------------------------------------------------------
@click.command("reference")
@click.argument("code", required=False)
@click.option("--approve", is_flag=True, help="Capture a frame now and make it the reference.")
@click.option(
    "--night", is_flag=True, help="The night (infrared) reference instead of the day one."
)
@click.option("--note", default="", help="Why the reference changes (intervention, ...).")
@click.option(
    "--preset",
    metavar="TOKEN",
    help="A PTZ camera: the reference of this preset (it must sit there now).",
)
@click.option(
    "--list",
    "list_",
    is_flag=True,
    help="Show the reference history: approved or provisional (learned by the monitor), and "
    "which is in force.",
)
@click.option(
    "--missing",
    is_flag=True,
    help="With --approve and no CODE: every camera without an approved reference of this kind.",
)
@click.option("--municipality", help="INSEE: with --missing, only this municipality's cameras.")
@json_option
@pass_context
def reference(
    context: Context, code, approve, night, note, preset, list_, missing, municipality, as_json
) -> None:
    """Approve a new reference image for a camera (captured now), or list the history; with
    --missing, for every camera that has none yet (after an import)."""
    if approve == list_:
        raise click.UsageError("give either --approve or --list")
    if missing != (code is None) or (missing and not approve):
        raise click.UsageError("give a CODE, or --approve --missing without one")
    if preset is not None and (missing or not approve):
        raise click.UsageError("--preset goes with --approve and a CODE")
    kind = "night" if night else "day"
    texts = context.texts
    if missing:
        scope = Scope.narrowed(municipality)
        note = note or "approved in bulk"
        missed = run_at_edge(commands.approve_missing(context.app, kind, note, scope))
        if missed:
            fail(texts("reference.missed", count=len(missed), codes=", ".join(missed)))
        click.echo(texts("reference.all", kind=texts.value("kind", kind)))
        return
    if list_:
        with context.registry() as registry:
            history = registry.references(registry.camera(code))  # the one in force first
            first = {reference_key(str(r.kind.value), r.preset): r.id for r in reversed(history)}
            rows = [{"id": r.id, "kind": str(r.kind.value), "preset": r.preset,
                     "provisional": r.provisional,
                     "in_force": first[reference_key(str(r.kind.value), r.preset)] == r.id,
                     "captured_at": r.captured_at, "size": f"{r.width}x{r.height}",
                     "approved_by": r.approved_by, "note": r.note} for r in history]  # fmt: skip
        columns = ("id", "kind", "preset", "provisional", "in_force", "captured_at", "size",
                   "approved_by", "note")  # fmt: skip
        print_records(rows, columns, as_json)
        return
    from vp_monitor.probes.onvif import close_clients

    async def approve():
        try:
            return await commands.approve_reference(context.app, code, kind, note, preset=preset)
        finally:
            await close_clients()  # a PTZ position read opened an ONVIF client

    stored = run_at_edge(approve())
    click.echo(texts("reference.approved", code=code, kind=texts.value("kind", kind),
                     size=f"{stored.width}x{stored.height}"))  # fmt: skip


# -- discover ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Device:
    """One ONVIF device that answered a WS-Discovery Probe."""

    address: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]

    @property
    def host(self) -> str:
        return urlsplit(self.xaddrs[0]).hostname or "" if self.xaddrs else ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.xaddrs[0]) if self.xaddrs else None
        return (parts.port or 80) if parts else 80


def probe_message(message_id: str) -> bytes:
    """A WS-Discovery Probe for NetworkVideoTransmitter devices."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP_ENV}" '
        f'xmlns:a="{WSA_NS}" xmlns:d="{WSD_NS}" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        f"<a:Action>{WSD_NS}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
        "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


def parse_matches(datagram: bytes, message_id: str) -> list[Device]:
    """Devices in a ProbeMatches answer to our probe; [] for anything else (never raises)."""
    if len(datagram) > MAX_DATAGRAM:
        return []
    try:
        root = SafeET.fromstring(datagram, forbid_dtd=True)
    except (DefusedXmlException, ParseError):
        return []
    relates = root.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA_NS}}}RelatesTo") or ""
    if relates.strip() != message_id:
        return []
    devices = []
    for match in root.iter(f"{{{WSD_NS}}}ProbeMatch"):
        address = match.findtext(f"{{{WSA_NS}}}EndpointReference/{{{WSA_NS}}}Address") or ""
        xaddrs = (match.findtext(f"{{{WSD_NS}}}XAddrs") or "").split()
        scopes = (match.findtext(f"{{{WSD_NS}}}Scopes") or "").split()
        if xaddrs:
            devices.append(Device(address.strip(), tuple(xaddrs), tuple(scopes)))
    return devices


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.devices: dict[str, Device] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for device in parse_matches(data, self.message_id):
            if len(self.devices) < MAX_DEVICES:
                self.devices.setdefault(device.address or device.xaddrs[0], device)


async def discover_devices(
    timeout_s: float = 3.0, unicast: tuple[str, int] | None = None, interface: str | None = None,
    multicast: bool = True,
) -> list[Device]:  # fmt: skip
    """ONVIF devices answering a WS-Discovery Probe within `timeout_s` (multicast + unicast)."""
    message_id = f"urn:uuid:{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((interface or ("127.0.0.1" if unicast and not multicast else "0.0.0.0"), 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    if interface:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    transport, collector = await loop.create_datagram_endpoint(
        lambda: _Collector(message_id), sock=sock
    )
    try:
        message = probe_message(message_id)
        for destination in ([WSD_MULTICAST] if multicast else []) + ([unicast] if unicast else []):
            try:
                transport.sendto(message, destination)
            except OSError:
                continue  # no multicast route here: the unicast probe may still answer
        await asyncio.sleep(timeout_s)
    finally:
        transport.close()
    return sorted(collector.devices.values(), key=lambda d: d.xaddrs[0])


@click.command("discover")
@click.option("--interface", help="Local IPv4 address to send the multicast probe from.")
@click.option("--address", help="Also probe this address by unicast (e.g. 127.0.0.1).")
@click.option("--port", default=3702, show_default=True, help="WS-Discovery port for --address.")
@click.option("--timeout", default=3.0, show_default=True, help="Seconds to wait for answers.")
@click.option("--all", "show_all", is_flag=True, help="Also list devices already registered.")
@json_option
@pass_context
def discover(context: Context, interface, address, port, timeout, show_all, as_json) -> None:
    """List ONVIF devices on the network (WS-Discovery) that are not registered yet."""
    unicast = (address, port) if address else None
    devices = asyncio.run(discover_devices(timeout, unicast, interface))
    with context.registry() as registry:
        known = {(c.onvif_host, c.onvif_port or 80) for c in registry.cameras()}
    rows = [
        {"xaddr": d.xaddrs[0], "host": d.host, "port": d.port, "endpoint": d.address,
         "scopes": " ".join(s.rsplit("/", 1)[-1] for s in d.scopes if "/name/" in s or
                            "/hardware/" in s)}
        for d in devices if show_all or (d.host, d.port) not in known
    ]  # fmt: skip
    print_records(rows, ("host", "port", "xaddr", "endpoint", "scopes"), as_json)
