"""WS-Discovery responder: answers a Probe (SOAP-over-UDP) for every simulated camera."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from vp_monitor.sim.camera import SimCamera
from vp_monitor.sim.onvif import camera_scopes, device_url
from vp_monitor.sim.onvif_templates import DEVICE_NS, SOAP_ENV

log = logging.getLogger(__name__)

MULTICAST_GROUP = "239.255.255.250"
WSA_NS = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD_NS = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NETWORK_NS = "http://www.onvif.org/ver10/network/wsdl"
MAX_PROBE_BYTES = 16 * 1024
MAX_PENDING_ANSWERS = 16  # probes beyond this are dropped, as a busy device would
BURST = 32  # answers sent before yielding, so a large fleet does not flood the receiver
MATCHED_TYPES = frozenset({"NetworkVideoTransmitter", "Device"})


@dataclass(frozen=True)
class Probe:
    """What a WS-Discovery Probe asks for."""

    message_id: str
    types: tuple[str, ...]  # local names only: prefixes are not resolvable after parsing
    scopes: tuple[str, ...]


def parse_probe(datagram: bytes) -> Probe | None:
    """The Probe in a datagram, None if it is not a well-formed WS-Discovery Probe."""
    if len(datagram) > MAX_PROBE_BYTES:
        return None
    try:
        root = SafeET.fromstring(datagram, forbid_dtd=True)
    except (DefusedXmlException, ParseError):
        return None
    probe = root.find(f"{{{SOAP_ENV}}}Body/{{{WSD_NS}}}Probe")
    message_id = root.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA_NS}}}MessageID")
    if probe is None or not message_id:
        return None
    return Probe(
        message_id=message_id.strip(),
        types=tuple(t.rpartition(":")[2] for t in _words(probe, "Types")),
        scopes=tuple(_words(probe, "Scopes")),
    )


def _words(probe: Element, name: str) -> list[str]:
    return (probe.findtext(f"{{{WSD_NS}}}{name}") or "").split()


def camera_matches(camera: SimCamera, probe: Probe) -> bool:
    """Whether the camera answers the probe (types, and scopes by prefix as RFC 3986 match)."""
    if not set(probe.types) <= MATCHED_TYPES:
        return False
    mine = camera_scopes(camera)
    return all(any(s.startswith(wanted) for s in mine) for wanted in probe.scopes)


def endpoint_address(camera: SimCamera) -> str:
    """The camera's stable WS-Discovery endpoint reference (urn:uuid)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'vp-monitor-sim:{camera.code}')}"


def probe_match(camera: SimCamera, relates_to: str, instance_id: int, number: int) -> bytes:
    """One ProbeMatches message for one camera, in answer to the probe `relates_to`."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<env:Envelope xmlns:env="{SOAP_ENV}" xmlns:wsa="{WSA_NS}" xmlns:wsd="{WSD_NS}"'
        f' xmlns:dn="{NETWORK_NS}" xmlns:tds="{DEVICE_NS}"><env:Header>'
        f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
        f"<wsa:RelatesTo>{escape(relates_to)}</wsa:RelatesTo>"
        f"<wsa:To>{WSA_NS}/role/anonymous</wsa:To>"
        f"<wsa:Action>{WSD_NS}/ProbeMatches</wsa:Action>"
        f'<wsd:AppSequence InstanceId="{instance_id}" MessageNumber="{number}"/>'
        "</env:Header><env:Body><wsd:ProbeMatches><wsd:ProbeMatch>"
        "<wsa:EndpointReference>"
        f"<wsa:Address>{endpoint_address(camera)}</wsa:Address></wsa:EndpointReference>"
        "<wsd:Types>dn:NetworkVideoTransmitter tds:Device</wsd:Types>"
        f"<wsd:Scopes>{escape(' '.join(camera_scopes(camera)))}</wsd:Scopes>"
        f"<wsd:XAddrs>{escape(device_url(camera))}</wsd:XAddrs>"
        "<wsd:MetadataVersion>1</wsd:MetadataVersion>"
        "</wsd:ProbeMatch></wsd:ProbeMatches></env:Body></env:Envelope>"
    ).encode()


class Responder(asyncio.DatagramProtocol):
    """Answers Probes received on a unicast (and, when possible, a multicast) UDP socket."""

    def __init__(self, cameras: Sequence[SimCamera]) -> None:
        self.cameras = list(cameras)
        self.port = 0
        self._unicast: asyncio.DatagramTransport | None = None
        self._multicast: asyncio.DatagramTransport | None = None
        self._answers: set[asyncio.Task[None]] = set()
        self._instance_id = int(time.time())
        self._message_number = 0

    @property
    def multicast(self) -> bool:
        """Whether the responder also listens on the WS-Discovery multicast group."""
        return self._multicast is not None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """Start answering a Probe; anything else is ignored, as devices do."""
        probe = parse_probe(data)
        if probe is None or self._unicast is None or len(self._answers) >= MAX_PENDING_ANSWERS:
            return
        task = asyncio.get_running_loop().create_task(self._answer(probe, addr))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _answer(self, probe: Probe, addr: tuple[str, int]) -> None:
        sent = 0
        for camera in self.cameras:
            if self._unicast is None or self._unicast.is_closing():
                return
            if not camera_matches(camera, probe):
                continue
            self._message_number += 1
            match = probe_match(camera, probe.message_id, self._instance_id, self._message_number)
            self._unicast.sendto(match, addr)
            sent += 1
            if sent % BURST == 0:
                await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Stop answering and release the sockets."""
        for task in list(self._answers):
            task.cancel()
        await asyncio.gather(*self._answers, return_exceptions=True)
        for transport in (self._unicast, self._multicast):
            if transport is not None:
                transport.close()
        self._unicast = self._multicast = None


def _multicast_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((MULTICAST_GROUP, port))
        membership = struct.pack("4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton(host))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    except OSError:
        sock.close()
        raise
    return sock


async def start_discovery_responder(
    cameras: Sequence[SimCamera], host: str = "127.0.0.1", port: int = 3702
) -> Responder:
    """Answer WS-Discovery Probes on UDP (host, port) with one ProbeMatch per camera."""
    loop = asyncio.get_running_loop()
    responder = Responder(cameras)
    transport, _ = await loop.create_datagram_endpoint(lambda: responder, local_addr=(host, port))
    responder._unicast = transport
    responder.port = transport.get_extra_info("sockname")[1]
    try:
        sock = _multicast_socket(host, responder.port)
        responder._multicast, _ = await loop.create_datagram_endpoint(lambda: responder, sock=sock)
    except OSError as exc:
        # Loopback often has no multicast route; unicast probes still work.
        log.debug("WS-Discovery multicast not available on %s: %s", host, exc)
    log.info("WS-Discovery answering for %d cameras on %s:%d", len(cameras), host, responder.port)
    return responder
