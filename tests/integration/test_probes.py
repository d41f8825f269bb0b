"""Probes against real simulated cameras (RTSP + ONVIF on 127.0.x.y) and small hostile servers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import signal
import time
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp import web
from ports import free_port

from vp_monitor.probes.base import ProbeSettings, ProbeTarget
from vp_monitor.probes.capture import DecodeError, DecodeJob, decoder_pool
from vp_monitor.probes.check import run_tier
from vp_monitor.probes.onvif import close_clients, inventory
from vp_monitor.probes.rtsp import CHALLENGES
from vp_monitor.probes.runner import SECTION, run_probe
from vp_monitor.sim.camera import SimCamera, camera_address
from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.onvif import create_onvif_app
from vp_monitor.sim.rtsp import RtspServer

pytestmark = pytest.mark.timeout(60)

_CACHE = GopCache()
JPEG = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
FAST = ProbeSettings.model_validate(
    {
        "onvif": {"timeout_s": 2.0},
        "rtsp": {"timeout_s": 2.0},
        "stream": {"timeout_s": 8.0, "window_s": 2.2, "second_keyframe_delay_s": 1.5},
    }
)


@pytest.fixture
async def sim_camera():
    """Factory: a simulated camera with RTSP and ONVIF on its own loopback address."""
    runners, servers = [], []

    async def start(**fields) -> tuple[SimCamera, ProbeTarget]:
        host = camera_address(random.randrange(30_000, 60_000))
        camera = SimCamera(index=1, host=host, onvif_port=free_port(host),
                           rtsp_port=free_port(host), **fields)  # fmt: skip
        for stream in ("main", "sub"):  # encode the loops now, not inside a probe's deadline
            await _CACHE.get(_CACHE.key_for(camera, stream))
        server = RtspServer(camera, _CACHE, auth="both")
        await server.start()
        servers.append(server)
        runner = web.AppRunner(create_onvif_app(camera, lambda: JPEG), shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, host, camera.onvif_port).start()
        runners.append(runner)
        base = f"rtsp://{host}:{camera.rtsp_port}"
        target = ProbeTarget(camera.code, host, camera.onvif_port, "admin", "admin",
                             f"{base}/main", f"{base}/sub", expected_serial=camera.serial,
                             expected_firmware=camera.firmware)  # fmt: skip
        return camera, target

    start.servers = servers  # type: ignore[attr-defined]  # the RTSP servers, oldest first
    yield start
    await close_clients()
    for runner in runners:
        await runner.cleanup()
    for server in servers:
        await server.close()


async def test_onvif_probe_reads_device_information(sim_camera):
    """The ONVIF probe reads identity and both profiles, with no condition on a healthy camera."""
    camera, target = await sim_camera()
    result = await run_probe("onvif", target, FAST)
    assert result.ok and result.conditions == frozenset(), result.error
    assert result.detail["serial"] == camera.serial
    assert [p["rtsp_uri"] for p in result.detail["profiles"]] == [target.rtsp_main, target.rtsp_sub]
    assert abs(result.metrics["clock_offset_s"]) < 3


async def test_two_hour_clock_offset_is_clock_drift_and_still_authenticates(sim_camera):
    """A camera 2 h ahead gives clock_drift with offset ~7200 s, and its identity is still read."""
    _camera, target = await sim_camera(clock_offset_s=7200)
    result = await run_probe("onvif", target, FAST)
    assert result.conditions == {"clock_drift"}, result.error
    assert abs(result.metrics["clock_offset_s"] - 7200) < 5
    assert result.detail["serial"]


async def test_wrong_password_is_auth_failed_not_unreachable(sim_camera):
    """A wrong password gives auth_failed on ONVIF, RTSP and stream probes."""
    _camera, target = await sim_camera()
    wrong = ProbeTarget(**{**target.__dict__, "password": "not-the-password"})
    for kind in ("onvif", "rtsp", "stream"):
        result = await run_probe(kind, wrong, FAST)
        assert result.conditions == {"auth_failed"}, (kind, result.error)
        assert "not-the-password" not in str(result.to_json())


async def soap_requests(camera: SimCamera) -> tuple[dict[str, int], dict[str, int]]:
    """The SOAP requests a simulated camera got, by action: all, and those with credentials."""
    url = f"http://{camera.host}:{camera.onvif_port}/sim/state"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with http.get(url) as response:
            state = await response.json()
    return state["soap_requests"], state["signed_requests"]


async def test_reachability_reads_the_clock_alone_without_credentials(sim_camera):
    """A reachability check asks the camera its clock, unauthenticated, and nothing else over
    ONVIF (no identity, profiles or stream URIs); RTSP is described; the camera is ok."""
    _camera, target = await sim_camera()
    result = await run_tier("reachability", target, FAST)
    assert result.state == "ok" and set(result.probes) == {"clock", "rtsp"}, result.detail
    assert abs(result.clock_offset_s) < 3
    assert await soap_requests(_camera) == ({"GetSystemDateAndTime": 1}, {})


async def test_the_clock_read_sees_clock_drift_and_clears_it(sim_camera):
    """A camera 2 h ahead: clock_drift from the clock read alone, observed (so it clears) when
    the clock is right again."""
    camera, target = await sim_camera(clock_offset_s=7200)
    result = await run_tier("reachability", target, FAST)
    assert result.conditions == {"clock_drift"} and abs(result.clock_offset_s - 7200) < 5
    camera.clock_offset_s = 0
    again = await run_tier("reachability", target, FAST)
    assert again.conditions == frozenset() and "clock_drift" in again.observed


async def test_a_suspected_change_makes_the_cheap_check_read_the_whole_device(sim_camera):
    """The full ONVIF read replaces the clock read while a condition only it can clear is open,
    and follows it when RTSP fails on a camera whose ONVIF answers (a changed stream URL)."""
    camera, target = await sim_camera()
    camera.set_fault("device_replaced")
    suspect = dataclasses.replace(target, open_conditions=frozenset({"device_replaced"}))
    result = await run_tier("reachability", suspect, FAST)
    assert result.conditions == {"device_replaced"} and set(result.probes) == {"onvif", "rtsp"}
    camera.set_fault("none")
    cleared = await run_tier("reachability", suspect, FAST)
    assert cleared.conditions == frozenset() and "device_replaced" in cleared.observed
    moved = dataclasses.replace(target, rtsp_sub=target.rtsp_sub + "-old")
    result = await run_tier("reachability", moved, FAST)
    assert set(result.probes) == {"clock", "rtsp", "onvif"}
    assert "config_mismatch" in result.conditions  # the camera announces another sub-stream
    _all, signed = await soap_requests(camera)
    assert signed.get("GetDeviceInformation") == 3 and "GetSystemDateAndTime" not in signed


async def test_inventory_tier_reads_identity_and_profiles(sim_camera):
    """The inventory tier reads the device's identity and both profiles (signed)."""
    camera, target = await sim_camera()
    result = await run_tier("inventory", target, FAST)
    device = result.probes["onvif"].detail
    assert (device["serial"], device["firmware"]) == (camera.serial, camera.firmware)
    assert [p["rtsp_uri"] for p in device["profiles"]] == [target.rtsp_main, target.rtsp_sub]
    _all, signed = await soap_requests(camera)
    assert signed["GetDeviceInformation"] == 1 and signed["GetProfiles"] == 1


async def test_device_replaced_and_firmware_changed_are_detected(sim_camera):
    """Serial and firmware that differ from the registry give device_replaced/firmware_changed."""
    camera, target = await sim_camera()
    camera.set_fault("device_replaced")
    assert (await run_probe("onvif", target, FAST)).conditions == {"device_replaced"}
    camera.set_fault("firmware_changed")
    assert (await run_probe("onvif", target, FAST)).conditions == {"firmware_changed"}


async def test_registered_urls_that_differ_are_config_mismatch(sim_camera):
    """A registered RTSP URL or codec that the camera does not announce is config_mismatch."""
    _camera, target = await sim_camera()
    moved = ProbeTarget(**{**target.__dict__, "rtsp_sub": target.rtsp_sub + "2",
                           "expected_codec": "h265"})  # fmt: skip
    result = await run_probe("onvif", moved, FAST)
    assert result.conditions == {"config_mismatch"}
    assert len(result.detail["mismatches"]) == 2


@pytest.mark.parametrize("fault", ["refuse", "hang"])
async def test_refuse_and_hang_are_unreachable_within_the_timeout(sim_camera, fault):
    """Under refuse or hang every probe reports unreachable within its time-out."""
    camera, target = await sim_camera()
    camera.set_fault(fault)
    await asyncio.sleep(0.3)  # the RTSP server stops listening at its next fault poll
    for kind in ("onvif", "clock", "rtsp", "stream"):
        started = time.monotonic()
        result = await run_probe(kind, target, FAST)
        assert result.conditions == {"unreachable"}, (kind, result.error)
        assert time.monotonic() - started < getattr(FAST, SECTION.get(kind, kind)).timeout_s + 0.5


@pytest.mark.parametrize(
    ("fault", "params"), [("hang", {}), ("slow", {"byte_delay_s": 1.0}), ("garbage", {})]
)
async def test_stream_probe_gives_up_on_rtsp_answers_within_the_rtsp_timeout(
    sim_camera, fault, params
):
    """A camera that never answers RTSP, answers a byte a second or sends garbage fails the
    stream probe within the RTSP probe's time-out, not the stream probe's longer one (a stream
    check holds one of its site's stream slots while it waits)."""
    camera, target = await sim_camera()
    camera.set_fault(fault, **params)
    started = time.monotonic()
    result = await run_probe("stream", target, FAST)
    assert not result.ok and result.conditions <= {"unreachable", "rtsp_error"}, result
    assert time.monotonic() - started < FAST.rtsp.timeout_s + 1.0 < FAST.stream.timeout_s


async def test_checks_after_the_first_are_authorized_at_once(sim_camera):
    """A camera's first check learns its Digest challenge (one DESCRIBE refused); the next
    ones send their credentials at once and cost two DESCRIBEs (no OPTIONS); a nonce the
    camera no longer accepts costs one refusal and the check still succeeds; refused
    credentials are forgotten."""
    camera, target = await sim_camera()
    answered = sim_camera.servers[-1].answered
    assert (await run_probe("rtsp", target, FAST)).ok
    assert answered == {("DESCRIBE", 401): 1, ("DESCRIBE", 200): 2}, answered
    answered.clear()
    for _ in range(3):
        assert (await run_probe("rtsp", target, FAST)).ok
        assert (await run_probe("stream", target, FAST)).ok
    assert answered[("DESCRIBE", 401)] == 0 and answered[("DESCRIBE", 200)] == 9, answered
    assert sum(count for (method, _), count in answered.items() if method == "OPTIONS") == 0

    server = (camera.host, camera.rtsp_port, "admin")
    CHALLENGES[server].fields["nonce"] = "0" * 32  # stale: the camera no longer knows it
    answered.clear()
    assert (await run_probe("rtsp", target, FAST)).ok
    assert answered == {("DESCRIBE", 401): 1, ("DESCRIBE", 200): 2}, answered

    camera.fault = "wrong_credentials"
    result = await run_probe("rtsp", target, FAST)
    assert result.conditions == {"auth_failed"} and server not in CHALLENGES


async def test_rtsp_probe_parses_sdp(sim_camera):
    """The RTSP probe reads codec, size and frame rate of both streams from the SDP."""
    _camera, target = await sim_camera()
    result = await run_probe("rtsp", target, FAST)
    assert result.ok, result.error
    assert result.detail["main"] == {"codec": "h264", "width": 1280, "height": 720, "fps": 15.0}
    assert result.detail["sub"]["width"] == 640 and result.metrics["sub_response_s"] < 2


async def test_stream_probe_measures_fps_bitrate_and_decodes_two_keyframes(sim_camera):
    """The stream probe measures ~10 fps, a bitrate, no loss, and returns two decoded frames."""
    _camera, target = await sim_camera()
    result = await run_probe("stream", target, FAST)
    assert result.ok and result.conditions == frozenset(), result.error
    assert 8 < result.metrics["fps"] < 12
    assert 100 < result.metrics["bitrate_kbps"] < 2000
    assert result.metrics["packet_loss"] == 0
    assert len(result.frames) == 2 and result.frames[0].shape == (360, 640, 3)


async def test_black_fault_gives_black_through_the_stream_tier(sim_camera):
    """The stream tier on a black picture reports `black` and the degraded state."""
    camera, target = await sim_camera()
    camera.set_fault("black")
    report = await run_tier("stream", target, FAST)
    assert "black" in report.conditions and report.state == "degraded", report.to_json()
    assert report.evidence_jpeg and report.to_json()["camera"] == camera.code


@pytest.mark.parametrize("fault", ["covered_dark", "covered_light"])
async def test_covered_lens_is_covered_against_the_reference(sim_camera, fault):
    """A lens covered by a dark or light object, through the real encoder and decoder, is
    `covered` (critical), not `blurred` or `underexposed`: a dark cover over most of the view
    must not be mistaken for the scene getting darker."""
    camera, target = await sim_camera()
    reference = (await run_tier("stream", target, FAST)).evidence_jpeg
    camera.set_fault(fault)
    report = await run_tier("stream", target, FAST, {"day": reference})
    picture = set(report.conditions) - {"unreachable", "onvif_error"}  # ONVIF not under test
    assert picture == {"covered"}, report.to_json()


async def test_packet_loss_fault_gives_packet_loss(sim_camera):
    """RTP sequence gaps above the threshold give packet_loss."""
    camera, target = await sim_camera()
    camera.set_fault("packet_loss", rate=0.1)
    result = await run_probe("stream", target, FAST)
    assert "packet_loss" in result.conditions
    assert result.metrics["packet_loss"] > 0.03


async def test_stream_stops_gives_no_video_and_down(sim_camera):
    """A stream that sends nothing gives no_video, and the stream tier calls the camera down."""
    camera, target = await sim_camera()
    camera.set_fault("stream_stops", after_s=0)
    report = await run_tier("stream", target, FAST)
    assert "no_video" in report.conditions and report.state == "down"
    assert report.probes["stream"].error


async def test_h265_camera_is_decoded(sim_camera):
    """An H.265 camera's keyframes are decoded."""
    _camera, target = await sim_camera(codec="h265")
    result = await run_probe("stream", target, FAST)
    assert result.ok and result.detail["codec"] == "h265", result.error
    assert result.frames[0].shape == (360, 640, 3)


async def test_4k_main_stream_is_decoded_scaled_down_within_the_time_limit(sim_camera):
    """A camera with only a 4K stream: the frame comes back 640 wide, the true size in detail."""
    from vp_monitor.sim.camera import StreamSpec

    _camera, target = await sim_camera(main=StreamSpec(3840, 2160, 2, 6000, gop_seconds=1.0))
    only_main = ProbeTarget(**{**target.__dict__, "rtsp_sub": None})
    started = time.monotonic()
    result = await run_probe("stream", only_main, FAST)
    assert time.monotonic() - started < FAST.stream.timeout_s
    assert result.ok, result.error
    assert (result.detail["stream"], result.detail["width"], result.detail["height"]) == (
        "main", 3840, 2160)  # fmt: skip
    assert result.frames[0].shape == (360, 640, 3)


async def test_corrupt_nal_units_give_a_result_within_the_time_limit(sim_camera):
    """Corrupted NAL units never crash or hang the probe: a result comes within its time-out."""
    camera, target = await sim_camera()
    camera.set_fault("corrupt", rate=0.5)
    started = time.monotonic()
    result = await run_probe("stream", target, FAST)
    assert time.monotonic() - started < FAST.stream.timeout_s
    assert result.ok or result.error


async def test_worker_killed_mid_task_fails_one_check_and_the_next_works(sim_camera):
    """A decoder worker killed while busy fails that job; the next check decodes normally."""
    camera, target = await sim_camera()
    pool = decoder_pool(FAST.stream.workers)
    camera.set_fault("hang")  # PyAV waits on a silent server: the worker stays busy
    job = DecodeJob("mjpeg", url=target.rtsp_sub, timeout_s=4.0)
    task = asyncio.create_task(pool.decode(job))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if pool.busy_pids():
            break
    os.kill(pool.busy_pids()[0], signal.SIGKILL)
    with pytest.raises(DecodeError, match="died"):
        await task
    camera.set_fault("none")
    result = await run_probe("stream", target, FAST)
    assert result.ok and len(result.frames) == 2, result.error


# -- hostile servers ---------------------------------------------------------------------------
async def rtsp_fake(host: str, answer: bytes) -> asyncio.Server:
    """An RTSP 'server' that answers every request with the same bytes; a truncated answer
    (shorter than its Content-Length) is followed by closing the connection."""
    head, _, body = answer.partition(b"\r\n\r\n")
    truncated = b"Content-Length: 4000" in head

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(answer)
                await writer.drain()
                if truncated:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, 0)


def sdp_answer(sdp: str, declared: int | None = None) -> bytes:
    body = sdp.encode()
    head = f"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: {declared or len(body)}\r\n\r\n"
    return head.encode() + body


@pytest.mark.parametrize(
    ("answer", "condition", "reason"),
    [
        (sdp_answer("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n", 4000),
         "rtsp_error", "truncated"),
        (sdp_answer("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 MP4V-ES/90000\r\n"),
         "rtsp_error", "not supported"),
        (sdp_answer("v=0\r\ns=nothing here\r\n"), "rtsp_error", "no video"),
        (b"RTSP/1.0 503 Service Unavailable\r\nCSeq: 1\r\n\r\n", "rtsp_error", "503"),
        (b"HTTP/1.1 200 OK\r\n\r\n", "rtsp_error", "not an RTSP answer"),
        (b"RTSP/1.0 200 OK\r\nX: " + b"a" * 100_000 + b"\r\n\r\n", "rtsp_error", "too large"),
    ],
)  # fmt: skip
async def test_bad_rtsp_answers_give_rtsp_error_with_a_reason(answer, condition, reason):
    """Truncated SDP, unknown codec, no video, 5xx, non-RTSP and huge answers: clear reasons."""
    host = "127.0.8.1"
    server = await rtsp_fake(host, answer)
    port = server.sockets[0].getsockname()[1]
    target = ProbeTarget("fake", rtsp_main=f"rtsp://{host}:{port}/main")
    try:
        for kind in ("rtsp", "stream"):
            started = time.monotonic()
            result = await run_probe(kind, target, FAST)
            assert result.conditions == {condition}, (kind, result.error)
            assert reason in result.error
            assert time.monotonic() - started < 2.5
    finally:
        server.close()


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY a{i} "{"&a;" * 10}">' for i in range(5))
    + ']><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&a4;'
    "</e:Body></e:Envelope>"
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"this is not XML at all", "unusable reply"),
        (BOMB.encode(), "DTD or entity"),
        (b"<x>" + b"a" * 3_000_000 + b"</x>", "over"),
    ],
)
async def test_non_xml_dtd_and_huge_soap_replies_give_onvif_error(body, reason):
    """Non-XML, DTD/entity bombs and a 3 MB reply: onvif_error with a clear reason, quickly."""
    host = "127.0.8.2"

    async def reply(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/soap+xml")

    app = web.Application()
    app.router.add_post("/onvif/device_service", reply)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port(host)
    await web.TCPSite(runner, host, port).start()
    try:
        started = time.monotonic()
        target = ProbeTarget("fake", host, port, "admin", "admin")
        for kind in ("onvif", "clock"):  # the full read (zeep) and the clock read (ours)
            result = await run_probe(kind, target, FAST)
            assert result.conditions == {"onvif_error"}, (kind, result.error)
            assert reason in result.error and len(result.error) <= 300
        assert time.monotonic() - started < 5
    finally:
        await close_clients()
        await runner.cleanup()


async def huge_soap_reply(request: web.Request) -> web.StreamResponse:
    """100 MB of XML, streamed without a length, as a broken device might send."""
    response = web.StreamResponse(headers={"Content-Type": "application/soap+xml"})
    await response.prepare(request)
    chunk = b"<x>" + b"a" * 65_530 + b"</x>"
    with contextlib.suppress(ConnectionError):
        for _ in range(100 * 1024 * 1024 // len(chunk)):
            await response.write(chunk)
    return response


async def test_1000_hostile_checks_leak_no_memory_or_file_descriptors(sim_camera):
    """1,000 checks against truncated SDP, an undecodable codec, non-XML, DTD and 100 MB SOAP
    replies, a refused port and a wrong password: each a result with a reason, in time, and
    resident memory and open descriptors stay flat."""
    camera, target = await sim_camera()
    host = "127.0.8.3"
    truncated = sdp_answer("v=0\r\nm=video 0 RTP/AVP 96\r\n", 4000)
    undecodable = sdp_answer("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 VP9/90000\r\n")
    fakes = [await rtsp_fake(host, truncated), await rtsp_fake(host, undecodable)]

    async def not_xml(_request: web.Request) -> web.Response:
        return web.Response(body=b"not XML")

    async def entity_bomb(_request: web.Request) -> web.Response:
        return web.Response(body=BOMB.encode())

    handlers = [not_xml, entity_bomb, huge_soap_reply]
    runners, soap_ports = [], []
    for handler in handlers:  # stock ONVIF clients know one path: one device per port
        app = web.Application()
        app.router.add_post("/onvif/device_service", handler)
        runners.append(web.AppRunner(app))
        await runners[-1].setup()
        soap_ports.append(free_port(host))
        await web.TCPSite(runners[-1], host, soap_ports[-1]).start()
    rtsp_urls = [f"rtsp://{host}:{s.sockets[0].getsockname()[1]}/main" for s in fakes]
    checks = [("rtsp", ProbeTarget("fake", rtsp_main=url)) for url in rtsp_urls]
    checks += [("stream", ProbeTarget("fake", rtsp_main=url)) for url in rtsp_urls]
    checks += [("onvif", ProbeTarget(f"soap{port}", host, port, "admin", "x"))
               for port in soap_ports]  # fmt: skip
    checks += [
        ("rtsp", ProbeTarget("refused", rtsp_main=f"rtsp://{host}:1/main")),
        ("onvif", ProbeTarget(**{**target.__dict__, "password": "bad"})),
    ]

    async def batch(n: int) -> None:
        for i in range(n):
            kind, checked = checks[i % len(checks)]
            started = time.monotonic()
            result = await run_probe(kind, checked, FAST)
            assert not result.ok and result.error, (kind, checked.camera)
            assert time.monotonic() - started < 3.0, (kind, checked.camera)

    try:
        await batch(100)  # warm caches and allocators
        fds, rss = len(os.listdir("/proc/self/fd")), _rss_kib()
        await batch(1000)
        assert len(os.listdir("/proc/self/fd")) <= fds + 3
        assert _rss_kib() - rss < 20_000
    finally:
        await close_clients()
        for runner in runners:
            await runner.cleanup()
        for fake in fakes:
            fake.close()


def _rss_kib() -> int:
    """Current (not peak) resident memory of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


async def test_inventory_lists_identity_profiles_and_plain_urls(sim_camera):
    """inventory() gives manufacturer, model, serial, firmware and both stream URIs."""
    camera, target = await sim_camera(codec="h265")
    found = await inventory(target.onvif_host, target.onvif_port, "admin", "admin")
    assert (found.manufacturer, found.model, found.serial) == ("VPSim", "SIM-2000", camera.serial)
    assert (found.rtsp_main, found.rtsp_sub) == (target.rtsp_main, target.rtsp_sub)
    assert found.profiles[0].codec == "h265" and found.profiles[1].width == 640
