"""WS-Discovery responder of the simulator, probed over real UDP on loopback."""

from __future__ import annotations

import asyncio
import socket
import uuid
import xml.etree.ElementTree as ET

import pytest

from vp_monitor.sim.camera import SimCamera
from vp_monitor.sim.discovery import WSA_NS, WSD_NS, start_discovery_responder

HOST = "127.0.9.1"


def probe(message_id: str, types: str = "dn:NetworkVideoTransmitter") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        f' xmlns:a="{WSA_NS}" xmlns:d="{WSD_NS}"'
        ' xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        f"<a:Action>{WSD_NS}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
        f"<s:Body><d:Probe><d:Types>{types}</d:Types></d:Probe></s:Body></s:Envelope>"
    ).encode()


class Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue(maxsize=100)

    def datagram_received(self, data: bytes, addr) -> None:
        self.replies.put_nowait(data)


async def collect(responder_port: int, datagrams: list[bytes], wait_s: float) -> list[ET.Element]:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(Collector, local_addr=(HOST, 0))
    try:
        for datagram in datagrams:
            transport.sendto(datagram, (HOST, responder_port))
        replies = []
        while True:
            try:
                data = await asyncio.wait_for(client.replies.get(), wait_s)
            except TimeoutError:
                return replies
            replies.append(ET.fromstring(data))
    finally:
        transport.close()


@pytest.fixture
async def responder():
    cameras = [SimCamera(index=i, onvif_port=8000 + i) for i in (1, 2, 255)]
    responder = await start_discovery_responder(cameras, host=HOST, port=0)
    yield responder
    await responder.close()


async def test_probe_gets_one_probe_match_per_camera_with_xaddrs(responder):
    """A unicast Probe gets one ProbeMatch per camera, relating to it, listing its XAddrs."""
    message_id = f"uuid:{uuid.uuid4()}"
    replies = await collect(responder.port, [probe(message_id)], wait_s=0.5)
    xaddrs = sorted(r.findtext(f".//{{{WSD_NS}}}XAddrs") for r in replies)
    assert xaddrs == [
        "http://127.0.1.1:8001/onvif/device_service",
        "http://127.0.1.2:8002/onvif/device_service",
        "http://127.0.2.1:8255/onvif/device_service",
    ]
    for reply in replies:
        assert reply.findtext(f".//{{{WSA_NS}}}RelatesTo") == message_id
        assert "dn:NetworkVideoTransmitter" in reply.findtext(f".//{{{WSD_NS}}}Types")
        assert "onvif://www.onvif.org/" in reply.findtext(f".//{{{WSD_NS}}}Scopes")
    addresses = {r.findtext(f".//{{{WSA_NS}}}Address") for r in replies}
    assert len(addresses) == 3 and all(a.startswith("urn:uuid:") for a in addresses)


async def test_garbage_and_foreign_probes_get_no_answer(responder):
    """Non-XML, entity bombs and probes for other device types are ignored silently."""
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><x>&a;</x>'
    printer = probe("uuid:printer", types="pr:Printer")
    replies = await collect(responder.port, [b"hello", bomb, printer], wait_s=0.3)
    assert replies == []
    replies = await collect(responder.port, [probe("uuid:after")], wait_s=0.3)
    assert len(replies) == 3


async def test_multicast_probe_is_answered_when_loopback_multicast_works():
    """A Probe sent to 239.255.255.250 on loopback is answered (skipped where unsupported)."""
    responder = await start_discovery_responder([SimCamera(index=1)], host="127.0.0.1", port=0)
    try:
        if not responder.multicast:
            pytest.skip("no multicast on loopback here")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1")
            )
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            sock.sendto(probe("uuid:multicast"), ("239.255.255.250", responder.port))
            loop = asyncio.get_running_loop()
            reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), 2)
        assert b"http://127.0.1.1:8000/onvif/device_service" in reply
    finally:
        await responder.close()
