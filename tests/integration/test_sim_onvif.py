"""The simulated ONVIF device over real loopback sockets, driven by onvif-zeep-async."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from contextlib import asynccontextmanager

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp import web
from lxml import etree
from onvif import ONVIFCamera
from onvif.util import is_auth_error
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

from vp_monitor.sim.camera import SimCamera
from vp_monitor.sim.onvif import create_onvif_app
from vp_monitor.sim.onvif_templates import DEVICE_NS, ERROR_NS, SOAP_ENV

HOST = "127.0.9.1"
JPEG = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
TIMEOUT = aiohttp.ClientTimeout(total=5)
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


def free_port(host: str = HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
async def start_device():
    """Start simulated cameras on 127.0.9.1 with free ports; stop them after the test."""
    runners: list[web.AppRunner] = []

    async def start(**fields) -> SimCamera:
        port = free_port()
        camera = SimCamera(index=1, host=HOST, onvif_port=port, **fields)
        runner = web.AppRunner(create_onvif_app(camera, lambda: JPEG), shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, HOST, port).start()
        runners.append(runner)
        return camera

    yield start
    for runner in runners:
        await runner.cleanup()


@asynccontextmanager
async def onvif_client(camera: SimCamera, password: str = "admin", adjust_time: bool = True):
    client = ONVIFCamera(camera.host, camera.onvif_port, "admin", password, adjust_time=adjust_time)
    try:
        yield client
    finally:
        await client.close()


async def device_information(camera: SimCamera, password: str = "admin", adjust_time=True):
    async with onvif_client(camera, password, adjust_time) as client:
        await client.update_xaddrs()
        devicemgmt = await client.create_devicemgmt_service()
        return await devicemgmt.GetDeviceInformation()


def url(camera: SimCamera, path: str) -> str:
    return f"http://{camera.host}:{camera.onvif_port}{path}"


async def post_soap(camera: SimCamera, body: bytes) -> tuple[int, str]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.post(url(camera, "/onvif/device_service"), data=body) as response:
            return response.status, await response.text()


async def set_fault(camera: SimCamera, fault: str, **params) -> dict:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        payload = {"fault": fault, **params}
        async with session.post(url(camera, "/sim/fault"), json=payload) as response:
            assert response.status == 200, await response.text()
            return await response.json()


def soap(operation: str, header: str = "") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:tds="{DEVICE_NS}"><s:Header>{header}</s:Header>'
        f"<s:Body><tds:{operation}/></s:Body></s:Envelope>"
    ).encode()


async def test_client_reads_identity_profiles_and_stream_uris_with_digest_auth(start_device):
    """onvif-zeep-async reads device info, both profiles, stream and snapshot URIs, and a JPEG."""
    camera = await start_device(rtsp_port=8554)
    async with onvif_client(camera) as client:
        await client.update_xaddrs()
        devicemgmt = await client.create_devicemgmt_service()
        info = await devicemgmt.GetDeviceInformation()
        media = await client.create_media_service()
        profiles = await media.GetProfiles()
        uris = []
        for profile in profiles:
            request = {"StreamSetup": STREAM_SETUP, "ProfileToken": profile.token}
            uris.append((await media.GetStreamUri(request)).Uri)
        snapshot = await client.get_snapshot(profiles[0].token)
    assert (info.Manufacturer, info.Model) == ("VPSim", "SIM-2000")
    assert (info.SerialNumber, info.FirmwareVersion) == ("SIM00000001", "1.0.0")
    assert [p.token for p in profiles] == ["Profile_1", "Profile_2"]
    main = profiles[0].VideoEncoderConfiguration
    assert (main.Encoding, main.Resolution.Width, main.Resolution.Height) == ("H264", 1280, 720)
    assert (main.RateControl.FrameRateLimit, main.RateControl.BitrateLimit) == (15, 2000)
    assert uris == [f"rtsp://{HOST}:8554/main", f"rtsp://{HOST}:8554/sub"]
    assert cv2.imdecode(np.frombuffer(snapshot, np.uint8), cv2.IMREAD_COLOR) is not None


async def test_h265_camera_reports_h265_encoding(start_device):
    """A camera configured for H.265 reports H265 in its video encoder configuration."""
    camera = await start_device(codec="h265")
    async with onvif_client(camera) as client:
        await client.update_xaddrs()
        media = await client.create_media_service()
        profiles = await media.GetProfiles()
    assert {p.VideoEncoderConfiguration.Encoding for p in profiles} == {"H265"}


async def test_client_authenticates_to_a_device_whose_clock_is_two_hours_off(start_device):
    """With the measured clock offset the client authenticates; without it, it is refused."""
    camera = await start_device(clock_offset_s=7200)
    info = await device_information(camera, adjust_time=True)
    assert info.SerialNumber == "SIM00000001"
    with pytest.raises(Fault) as refused:
        await device_information(camera, adjust_time=False)
    assert is_auth_error(refused.value)


async def test_wrong_password_is_an_auth_error_not_a_transport_error(start_device):
    """A wrong password yields a SOAP fault that onvif-zeep-async classifies as auth error."""
    camera = await start_device()
    with pytest.raises(Fault) as refused:
        await device_information(camera, password="not-the-password")
    assert is_auth_error(refused.value)
    assert refused.value.code == "env:Sender"
    assert [q.text for q in refused.value.subcodes] == [f"{{{ERROR_NS}}}NotAuthorized"]
    assert "not-the-password" not in str(refused.value)


async def test_system_date_and_time_needs_no_credentials_and_reports_device_clock(start_device):
    """GetSystemDateAndTime answers without credentials and reports the device clock in UTC."""
    camera = await start_device(clock_offset_s=7200)
    async with onvif_client(camera, password="wrong") as client:
        devicemgmt = await client.create_devicemgmt_service()
        reply = await devicemgmt.authless_GetSystemDateAndTime()
    d, t = reply.UTCDateTime.Date, reply.UTCDateTime.Time
    reported = dt.datetime(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, tzinfo=dt.UTC)
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert abs((reported - expected).total_seconds()) < 5


async def test_refuse_fault_drops_connections_at_once(start_device):
    """Under `refuse` the client fails fast with a connection error (no HTTP answer at all)."""
    camera = await start_device()
    await set_fault(camera, "refuse")
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with asyncio.timeout(5):
            await device_information(camera)
    assert time.monotonic() - started < 2


async def test_hang_fault_never_answers_until_cleared(start_device):
    """Under `hang` the client times out; the control API still works and clearing restores."""
    camera = await start_device()
    await set_fault(camera, "hang")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):
            await device_information(camera)
    assert time.monotonic() - started < 2
    state = await set_fault(camera, "none")
    assert state["fault"] == "none"
    assert (await device_information(camera)).SerialNumber == "SIM00000001"


async def test_garbage_fault_answers_bytes_no_http_client_parses(start_device):
    """Under `garbage` the connection opens and random bytes come back, then it closes: the
    HTTP client fails at once with a protocol error (not a time-out); the control API still
    works."""
    camera = await start_device()
    await set_fault(camera, "garbage")
    reader, writer = await asyncio.open_connection(camera.host, camera.onvif_port)
    writer.write(b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 2)  # until the camera closes
    writer.close()
    assert len(answer) == 512 and not answer.startswith(b"HTTP/")
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientError):
        await post_soap(camera, soap("GetSystemDateAndTime"))
    assert time.monotonic() - started < 2
    assert (await set_fault(camera, "none"))["fault"] == "none"
    status, _text = await post_soap(camera, soap("GetSystemDateAndTime"))
    assert status == 200


async def test_slow_fault_can_answer_one_byte_at_a_time(start_device):
    """`chunk_bytes = 1`: each byte of the answer comes `delay_s` after the previous one."""
    camera = await start_device()
    await set_fault(camera, "slow", delay_s=0.2, chunk_bytes=1)
    reader, writer = await asyncio.open_connection(camera.host, camera.onvif_port)
    body = soap("GetSystemDateAndTime")
    writer.write(
        b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Type: "
        b"application/soap+xml\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)  # the head, then the body
    first = time.monotonic()
    received = await asyncio.wait_for(reader.read(64), 2)
    while len(received) < 4:
        received += await asyncio.wait_for(reader.read(64), 2)
    assert time.monotonic() - first > 0.5  # four bytes, 0.2 s apart: one at a time
    writer.close()


async def test_slow_fault_answers_completely_but_slowly(start_device):
    """Under `slow` the whole answer arrives, in small delayed pieces."""
    camera = await start_device()
    await set_fault(camera, "slow", delay_s=0.05)
    started = time.monotonic()
    status, text = await post_soap(camera, soap("GetSystemDateAndTime"))
    assert time.monotonic() - started > 0.5
    assert status == 200 and "GetSystemDateAndTimeResponse" in text


async def test_device_replaced_and_firmware_changed_show_in_device_information(start_device):
    """The device_replaced and firmware_changed faults change serial and firmware."""
    camera = await start_device()
    await set_fault(camera, "device_replaced")
    assert (await device_information(camera)).SerialNumber == "SIM00000001-R"
    await set_fault(camera, "firmware_changed")
    info = await device_information(camera)
    assert (info.SerialNumber, info.FirmwareVersion) == ("SIM00000001", "1.0.0.1")


async def test_wrong_credentials_fault_rejects_the_right_password(start_device):
    """Under wrong_credentials SOAP and snapshot refuse even the right password."""
    camera = await start_device()
    await set_fault(camera, "wrong_credentials")
    with pytest.raises(Fault) as refused:
        await device_information(camera)
    assert is_auth_error(refused.value)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        basic = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}
        async with session.get(url(camera, "/snapshot.jpg"), headers=basic) as response:
            assert response.status == 401


async def test_not_xml_gets_a_wellformed_fault(start_device):
    """A body that is not XML gets HTTP 400 with env:Sender / ter:WellFormed."""
    camera = await start_device()
    status, text = await post_soap(camera, b"GET me a picture please")
    assert status == 400
    assert "env:Sender" in text and "ter:WellFormed" in text


async def test_entity_bomb_is_rejected_without_expansion(start_device):
    """A billion-laughs DTD is refused at once with a WellFormed fault, never expanded."""
    camera = await start_device()
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY l0 "lol">{entities}]>'
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>&l9;</s:Body></s:Envelope>'
    ).encode()
    started = time.monotonic()
    status, text = await post_soap(camera, bomb)
    assert status == 400 and "ter:WellFormed" in text and "lol" not in text
    assert time.monotonic() - started < 1


async def test_oversized_request_is_refused_with_413(start_device):
    """A request body over 64 KiB is refused with HTTP 413."""
    camera = await start_device()
    status, _ = await post_soap(camera, b"<x>" + b"a" * 70_000 + b"</x>")
    assert status == 413


async def test_unknown_operation_is_action_not_supported(start_device):
    """An operation the device does not implement gets ter:ActionNotSupported."""
    camera = await start_device()
    status, text = await post_soap(camera, soap("GetHostname"))
    assert status == 500 and "ter:ActionNotSupported" in text


async def test_request_without_credentials_is_not_authorized(start_device):
    """GetDeviceInformation without a Security header gets HTTP 400 ter:NotAuthorized."""
    camera = await start_device()
    status, text = await post_soap(camera, soap("GetDeviceInformation"))
    assert status == 400 and "ter:NotAuthorized" in text


async def test_replayed_signed_request_is_refused(start_device):
    """The same signed request sent twice succeeds once and is then NotAuthorized."""
    camera = await start_device()
    envelope = etree.fromstring(soap("GetDeviceInformation"))
    UsernameToken("admin", "admin", use_digest=True, zulu_timestamp=True).apply(envelope, {})
    body = etree.tostring(envelope)
    first, second = await post_soap(camera, body), await post_soap(camera, body)
    assert first[0] == 200 and "SIM00000001" in first[1]
    assert second[0] == 400 and "ter:NotAuthorized" in second[1]


async def test_snapshot_requires_http_digest_or_basic_auth(start_device):
    """/snapshot.jpg challenges with Digest, serves the JPEG to Digest and Basic, not to guesses."""
    camera = await start_device()
    snapshot = url(camera, "/snapshot.jpg")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(snapshot) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Digest ")
        digest = aiohttp.DigestAuthMiddleware("admin", "admin")
        async with session.get(snapshot, middlewares=(digest,)) as response:
            assert (response.status, response.content_type) == (200, "image/jpeg")
            assert await response.read() == JPEG
        basic = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}
        async with session.get(snapshot, headers=basic) as response:
            assert response.status == 200
        wrong = aiohttp.DigestAuthMiddleware("admin", "guess")
        async with session.get(snapshot, middlewares=(wrong,)) as response:
            assert response.status == 401


async def test_control_api_sets_reports_and_rejects_faults(start_device):
    """POST /sim/fault sets and clears faults, names unknown ones; GET /sim/state reports."""
    camera = await start_device()
    state = await set_fault(camera, "clock_drift", offset_s=3600)
    assert state["fault"] == "clock_drift" and state["fault_params"] == {"offset_s": 3600}
    clock = dt.datetime.fromisoformat(state["device_clock"])
    assert abs((clock - dt.datetime.now(dt.UTC)).total_seconds() - 3600) < 5
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.post(url(camera, "/sim/fault"), json={"fault": "melting"}) as response:
            assert response.status == 400
            assert "melting" in (await response.json())["error"]
        bad = {"fault": "clock_drift", "offset_s": "soon"}
        async with session.post(url(camera, "/sim/fault"), json=bad) as response:
            assert response.status == 400 and "offset_s" in (await response.json())["error"]
        async with session.post(url(camera, "/sim/fault"), data=b"{not json") as response:
            assert response.status == 400
        await set_fault(camera, "none")
        async with session.get(url(camera, "/sim/state")) as response:
            state = await response.json()
    assert state == state | {"code": "cam001", "fault": "none", "serial": "SIM00000001"}
    assert state["firmware"] == "1.0.0"


async def test_unknown_profile_token_is_a_no_profile_fault(start_device):
    """GetStreamUri for a profile that does not exist gets ter:NoProfile, not a URI."""
    camera = await start_device()
    async with onvif_client(camera) as client:
        await client.update_xaddrs()
        media = await client.create_media_service()
        with pytest.raises(Fault) as refused:
            await media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": "Profile_9"})
    subcodes = [q.text for q in refused.value.subcodes]
    assert subcodes == [f"{{{ERROR_NS}}}InvalidArgVal", f"{{{ERROR_NS}}}NoProfile"]


async def test_password_never_appears_in_logs(start_device, caplog):
    """Neither the camera's password nor a wrong guess is logged, even at DEBUG."""
    caplog.set_level(logging.DEBUG)
    camera = await start_device(password="Camera-Secret-1")
    with pytest.raises(Fault):
        await device_information(camera, password="Guessed-Secret-2")
    await device_information(camera, password="Camera-Secret-1")
    await set_fault(camera, "wrong_credentials")
    with pytest.raises(Fault):
        await device_information(camera, password="Camera-Secret-1")
    sim_logs = [r.getMessage() for r in caplog.records if r.name.startswith("vp_monitor")]
    assert sim_logs, "the simulator should log what it rejects"
    assert not any("Secret" in message for message in sim_logs)
