"""The simulator's RTSP server against real clients: ffprobe, PyAV and a raw RTP reader."""

from __future__ import annotations

import asyncio
import json
import random
import time

import av
import numpy as np
import pytest

from vp_monitor.sim import rtp
from vp_monitor.sim.camera import SimCamera

pytestmark = pytest.mark.timeout(60)


async def ffprobe(url: str, transport: str = "tcp", timeout: float = 20) -> dict:
    """ffprobe's view of an RTSP stream's first video stream (codec, size, frame rate)."""
    proc = await asyncio.create_subprocess_exec(
        "ffprobe",
        "-v",
        "error",
        "-rtsp_transport",
        transport,
        "-timeout",
        "15000000",
        "-analyzeduration",
        "2000000",
        "-probesize",
        "1000000",
        "-show_entries",
        "stream=codec_name,width,height,r_frame_rate",
        "-of",
        "json",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        raise
    assert proc.returncode == 0, f"ffprobe {url} ({transport}): {err.decode()[-300:]}"
    return json.loads(out)["streams"][0]


def decode_gray(url: str, count: int, transport: str = "tcp") -> list[np.ndarray]:
    """`count` consecutive frames decoded by PyAV, as grey-level arrays (blocking)."""
    options = {"rtsp_transport": transport, "timeout": "15000000"}
    frames = []
    with av.open(url, options=options, timeout=10) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="gray").astype(np.float32))
            if len(frames) == count:
                break
    return frames


def mean_consecutive_diff(frames: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(a - b).mean() for a, b in zip(frames, frames[1:], strict=False)]))


def url_of(camera: SimCamera, stream: str, user: str = "", password: str = "") -> str:
    cred = f"{user}:{password}@" if user else ""
    return f"rtsp://{cred}{camera.host}:{camera.rtsp_port}/{stream}"


async def test_ffprobe_reads_both_streams_over_tcp_and_udp_with_basic_digest_and_no_auth(
    start_camera, gop_cache
):
    """ffprobe reads codec, size and frame rate of main and sub, over TCP and UDP, with no
    auth, Basic only and Digest only."""
    cams = {auth: (await start_camera(auth=auth))[0] for auth in ("none", "basic", "digest")}
    for stream in ("main", "sub"):  # encode first, as a fleet does at start, so a loaded CI
        await gop_cache.get(gop_cache.key_for(cams["none"], stream))  # stays within timeouts
    jobs, expected = [], []
    for auth, cam in cams.items():
        for stream, spec in (("main", cam.main), ("sub", cam.sub)):
            for transport in ("tcp", "udp"):
                user = "" if auth == "none" else "admin"
                jobs.append(ffprobe(url_of(cam, stream, user, "admin"), transport))
                expected.append((spec.width, spec.height, f"{spec.fps}/1"))
    results = await asyncio.gather(*jobs)
    for got, (width, height, rate) in zip(results, expected, strict=True):
        assert (got["codec_name"], got["width"], got["height"]) == ("h264", width, height)
        assert got["r_frame_rate"] == rate


async def test_wrong_password_and_wrong_credentials_fault_are_rejected(start_camera, rtsp_client):
    """A wrong password gets 401 with a challenge; under wrong_credentials even the right one."""
    cam, _server = await start_camera(auth="both")
    client = await rtsp_client(cam.host, cam.rtsp_port)
    client.use_basic("admin", "nope")
    status, headers, _ = await client.request("DESCRIBE", url_of(cam, "sub"))
    assert status == 401 and "www-authenticate" in headers
    client.use_basic("admin", "admin")
    assert (await client.request("DESCRIBE", url_of(cam, "sub")))[0] == 200
    cam.set_fault("wrong_credentials")
    assert (await client.request("DESCRIBE", url_of(cam, "sub")))[0] == 401


async def test_pyav_decodes_live_frames_that_change(start_camera):
    """PyAV decodes sub-stream frames of the right size, and the live scene keeps changing."""
    cam, _ = await start_camera()
    frames = await asyncio.to_thread(decode_gray, url_of(cam, "sub"), 6)
    assert frames[0].shape == (cam.sub.height, cam.sub.width)
    assert mean_consecutive_diff(frames) > 1.0


async def test_black_fault_switches_decoded_pictures_at_run_time(start_camera):
    """A client already streaming sees black pictures (mean < 20) soon after the fault flips."""
    cam, _ = await start_camera()

    def watch() -> tuple[float, float]:
        options = {"rtsp_transport": "tcp", "timeout": "15000000"}
        with av.open(url_of(cam, "sub"), options=options, timeout=10) as container:
            frames = container.decode(video=0)
            before = next(frames).to_ndarray(format="gray").mean()
            cam.set_fault("black")
            for n, frame in enumerate(frames):
                mean = frame.to_ndarray(format="gray").mean()
                if mean < 20 or n > 60:  # 60 frames = 6 s: three GOPs
                    return before, mean
        return before, 255.0

    before, after = await asyncio.to_thread(watch)
    assert before > 60 and after < 20


async def test_frozen_frames_differ_by_encoder_noise_only(start_camera):
    """Under `frozen`, consecutive frames differ by < 3 grey levels, far less than live."""
    live_cam, _ = await start_camera()
    frozen_cam, _ = await start_camera()
    frozen_cam.set_fault("frozen")
    live, frozen = await asyncio.gather(
        asyncio.to_thread(decode_gray, url_of(live_cam, "sub"), 8),
        asyncio.to_thread(decode_gray, url_of(frozen_cam, "sub"), 8),
    )
    frozen_diff, live_diff = mean_consecutive_diff(frozen), mean_consecutive_diff(live)
    assert frozen_diff < 3
    assert live_diff > 3 * frozen_diff


async def test_packet_loss_shows_as_sequence_gaps(start_camera, rtsp_client):
    """Under packet_loss the client sees gaps in RTP sequence numbers; without it, none."""
    cam, _ = await start_camera()
    client = await rtsp_client(cam.host, cam.rtsp_port)
    await client.play_tcp(url_of(cam, "sub"))
    seqs = [(await client.read_rtp()).seq for _ in range(60)]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    cam.set_fault("packet_loss", rate=0.2)
    seqs = [(await client.read_rtp()).seq for _ in range(100)]
    gaps = sum((b - a) & 0xFFFF != 1 for a, b in zip(seqs, seqs[1:], strict=False))
    assert gaps >= 3


async def test_sender_reports_carry_the_camera_clock(start_camera, rtsp_client):
    """RTCP sender reports come with the stream, stamped with the camera's clock: under
    clock_drift (2 h by default) the reported wall time is 2 h ahead."""
    cam, _ = await start_camera()
    cam.set_fault("clock_drift")
    client = await rtsp_client(cam.host, cam.rtsp_port)
    await client.play_tcp(url_of(cam, "sub"))
    while not client.rtcp:
        packet = await client.read_rtp()
    ssrc, wall, _timestamp = rtp.parse_sender_report(client.rtcp[0])
    assert ssrc == packet.ssrc
    assert abs(wall - time.time() - 7200) < 5


async def test_refuse_closes_the_port_and_clearing_reopens_it(start_camera):
    """`refuse` gives connection refused; clearing the fault accepts connections again."""
    cam, _ = await start_camera()
    cam.set_fault("refuse")
    await asyncio.sleep(0.4)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(cam.host, cam.rtsp_port)
    cam.set_fault("none")
    await asyncio.sleep(0.4)
    _reader, writer = await asyncio.open_connection(cam.host, cam.rtsp_port)
    writer.close()


async def test_hang_accepts_but_never_answers(start_camera, rtsp_client):
    """Under `hang` the TCP connection opens but an OPTIONS request times out."""
    cam, _ = await start_camera()
    cam.set_fault("hang")
    client = await rtsp_client(cam.host, cam.rtsp_port)
    with pytest.raises(TimeoutError):
        await client.request("OPTIONS", url_of(cam, "main"), timeout=1.0)


async def test_garbage_fault_answers_random_bytes_to_every_request(start_camera):
    """Under `garbage` the TCP connection opens and every request gets 512 random bytes, no RTSP
    answer; clearing the fault brings RTSP back."""
    cam, _ = await start_camera()
    cam.set_fault("garbage")
    reader, writer = await asyncio.open_connection(cam.host, cam.rtsp_port)
    writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    answer = await asyncio.wait_for(reader.readexactly(512), 2)
    assert not answer.startswith(b"RTSP/")
    cam.set_fault("none")
    writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n")
    assert (await asyncio.wait_for(reader.readuntil(b"\r\n"), 2)).startswith(b"RTSP/1.0 200")
    writer.close()


async def test_slow_fault_answers_byte_by_byte(start_camera, rtsp_client):
    """Under `slow` a response starts arriving but takes far longer than a normal one."""
    cam, _ = await start_camera()
    cam.set_fault("slow", byte_delay_s=0.02)
    reader, writer = await asyncio.open_connection(cam.host, cam.rtsp_port)
    writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    assert await asyncio.wait_for(reader.read(1), 2) == b"R"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.5)
    writer.close()


async def test_corrupt_fault_alters_nal_bytes_but_keeps_rtp_valid(
    start_camera, rtsp_client, gop_cache
):
    """Under `corrupt` RTP packets still parse but their NAL bytes differ from the encoded loop."""
    cam, _ = await start_camera()
    loop = await gop_cache.get(gop_cache.key_for(cam, "sub"))
    encoded = {p for au in loop.access_units for p in au.payloads}
    cam.set_fault("corrupt", rate=1.0)
    client = await rtsp_client(cam.host, cam.rtsp_port)
    await client.play_tcp(url_of(cam, "sub"))
    payloads = [(await client.read_rtp()).payload for _ in range(30)]
    altered = [p for p in payloads if len(p) > 8 and p not in encoded]
    assert altered and len(altered) == len([p for p in payloads if len(p) > 8])


async def test_video_file_scene_loops_any_file_pyav_reads(tmp_path, gop_cache):
    """A scene given as a video file is resampled to the stream's size and rate and looped."""
    from vp_monitor.sim.camera import StreamSpec
    from vp_monitor.sim.encoder import LoopKey

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(30):  # 1.2 s: shorter than the loop, so it must repeat
            img = np.full((240, 320, 3), (i * 8) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    loop = await gop_cache.get(LoopKey(str(path), "h264", StreamSpec(640, 360, 10, 400)))
    assert (loop.width, loop.height, len(loop.access_units)) == (640, 360, 40)
    with pytest.raises(ValueError, match="cannot open scene video"):
        await gop_cache.get(LoopKey(str(tmp_path / "none.mp4"), "h264", StreamSpec(64, 64, 5, 50)))


async def test_h265_camera_is_read_as_hevc(start_camera):
    """An H.265 camera's sub stream is read by ffprobe as hevc of the right size, TCP and UDP."""
    cam, _ = await start_camera(codec="h265")
    for got in await asyncio.gather(
        ffprobe(url_of(cam, "sub"), "tcp"), ffprobe(url_of(cam, "sub"), "udp")
    ):
        assert (got["codec_name"], got["width"], got["height"]) == ("hevc", 640, 360)


async def test_idle_session_times_out_and_keepalive_holds_it(start_camera, rtsp_client):
    """A connection silent past the session timeout is closed; GET_PARAMETER keeps it open."""
    cam, _ = await start_camera(session_timeout=1.0)
    quiet = await rtsp_client(cam.host, cam.rtsp_port)
    chatty = await rtsp_client(cam.host, cam.rtsp_port)
    for _ in range(8):
        assert (await chatty.request("GET_PARAMETER", url_of(cam, "main")))[0] == 200
        await asyncio.sleep(0.2)
    assert await asyncio.wait_for(quiet.reader.read(), 3) == b""  # closed by the server
    assert (await chatty.request("GET_PARAMETER", url_of(cam, "main")))[0] == 200


async def test_malformed_request_gets_400_and_other_streams_continue(start_camera, rtsp_client):
    """Garbage gets 400, oversize headers 431 and a close, a client vanishes mid-stream, and
    another client's stream continues without a gap."""
    cam, _ = await start_camera()
    viewer = await rtsp_client(cam.host, cam.rtsp_port)
    await viewer.play_tcp(url_of(cam, "sub"))
    await viewer.read_rtp()

    reader, writer = await asyncio.open_connection(cam.host, cam.rtsp_port)
    writer.write(b"HELLO there\r\n\r\n")
    assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"RTSP/1.0 400")
    writer.close()
    reader, writer = await asyncio.open_connection(cam.host, cam.rtsp_port)
    writer.write(b"OPTIONS * RTSP/1.0\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n")
    assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"RTSP/1.0 431")
    await asyncio.wait_for(reader.read(), 5)  # the server closed the connection
    writer.close()

    leaver = await rtsp_client(cam.host, cam.rtsp_port)
    await leaver.play_tcp(url_of(cam, "sub"))
    await leaver.read_rtp()
    leaver.writer.transport.abort()  # gone mid-stream, without TEARDOWN

    first = (await viewer.read_rtp()).seq
    for _ in range(20):
        last = (await viewer.read_rtp()).seq
    assert (last - first) & 0xFFFF == 20


async def test_unknown_path_method_and_5xx_fault(start_camera, rtsp_client):
    """Unknown path 404, RECORD 405, unknown method 501, and rtsp_5xx gives 503 on DESCRIBE."""
    cam, _ = await start_camera()
    client = await rtsp_client(cam.host, cam.rtsp_port)
    assert (await client.request("DESCRIBE", url_of(cam, "third")))[0] == 404
    assert (await client.request("RECORD", url_of(cam, "main")))[0] == 405
    assert (await client.request("BREW", url_of(cam, "main")))[0] == 501
    status, headers, _ = await client.request("OPTIONS", url_of(cam, "main"))
    assert status == 200 and "DESCRIBE" in headers["public"]
    cam.set_fault("rtsp_5xx")
    assert (await client.request("DESCRIBE", url_of(cam, "main")))[0] == 503


async def test_stream_stops_and_low_fps(start_camera, rtsp_client):
    """stream_stops ends RTP after `after_s`; low_fps sends 1 frame in k, 90 kHz spacing kept."""
    cam, _ = await start_camera()
    cam.set_fault("low_fps", k=5)
    client = await rtsp_client(cam.host, cam.rtsp_port)
    await client.play_tcp(url_of(cam, "sub"))
    stamps = []
    while len(stamps) < 3:
        packet = await client.read_rtp()
        if packet.marker:
            stamps.append(packet.timestamp)
    assert [b - a for a, b in zip(stamps, stamps[1:], strict=False)] == [45_000, 45_000]

    cam.set_fault("stream_stops", after_s=0.5)
    with pytest.raises(TimeoutError):
        while True:
            await client.read_rtp(timeout=1.5)


FLEET_TOML = """
[fleet]
rtsp_port = {rtsp}
onvif_port = {onvif}

[[site]]
name = "Gare"
municipality = "78646"
uplink = "VE-01"

[[camera]]
code = "T-01"
index = {index}
site = "Gare"
rtsp_auth = "none"
  [[camera.timeline]]
  at = 0.3
  fault = "black"

[[camera]]
code = "T-02"
index = {index2}
site = "Gare"
codec = "h265"
password = "s3cret"
"""


async def test_fleet_file_starts_rtsp_onvif_and_plays_its_timeline(tmp_path, gop_cache):
    """A TOML fleet starts RTSP and ONVIF on each camera's address, the control API and the
    timeline switch faults, and the registry CSV lists the cameras with the agreed columns."""
    import csv

    import aiohttp

    from vp_monitor.sim.fleet import REGISTRY_COLUMNS, RunningFleet, load_fleet, write_registry_csv

    index = random.randrange(20_000, 60_000)
    rtsp_port, onvif_port = random.randrange(20_000, 30_000), random.randrange(30_000, 40_000)
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET_TOML.format(rtsp=rtsp_port, onvif=onvif_port, index=index,
                                      index2=index + 1))  # fmt: skip
    fleet = load_fleet(path)
    running = RunningFleet(fleet, cache=gop_cache, discovery_port=0)
    await running.start()
    try:
        first, second = (fc.camera for fc in fleet.cameras)
        reader, writer = await asyncio.open_connection(second.host, rtsp_port)
        writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"RTSP/1.0 200")
        writer.close()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            url = f"http://{second.host}:{onvif_port}/sim/fault"
            async with http.post(url, json={"fault": "rtsp_5xx"}) as response:
                assert response.status == 200
        assert second.fault == "rtsp_5xx"
        await asyncio.sleep(0.5)
        assert first.fault == "black"

        csv_path = tmp_path / "cameras.csv"
        write_registry_csv(fleet, csv_path)
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert tuple(rows[0])[: len(REGISTRY_COLUMNS)] == REGISTRY_COLUMNS
        assert rows[1]["rtsp_sub"] == f"rtsp://{second.host}:{rtsp_port}/sub"
        assert (rows[1]["password"], rows[1]["municipality"]) == ("s3cret", "78646")
    finally:
        await running.close()


def test_fleet_file_errors_name_the_culprit(tmp_path):
    """A bad fleet file is rejected with a message naming the camera and the problem."""
    from vp_monitor.sim.fleet import FleetError, load_fleet

    path = tmp_path / "bad.toml"
    path.write_text('[[camera]]\ncode = "X-1"\n[[camera.timeline]]\nat = 5\nfault = "explode"\n')
    with pytest.raises(FleetError, match=r"camera #1 \(X-1\) timeline #1: fault 'explode'"):
        load_fleet(path)
    path.write_text('[[camera]]\ncode = "X-1"\ncolour = "red"\n')
    with pytest.raises(FleetError, match="unknown key"):
        load_fleet(path)
    csv_path = tmp_path / "fleet.csv"
    csv_path.write_text("code,site,municipality,codec\nA-1,Gare,78646,h265\nA-2,Gare,78646,\n")
    fleet = load_fleet(csv_path, rtsp_port=9554)
    assert [fc.camera.codec for fc in fleet.cameras] == ["h265", "h264"]
    assert fleet.cameras[1].camera.host == "127.0.1.2" and fleet.cameras[1].camera.rtsp_port == 9554
    csv_path.write_text("code,site,colour\nA-1,Gare,red\n")
    with pytest.raises(FleetError, match="unexpected: \\['colour'\\]"):
        load_fleet(csv_path)


def test_demo_fleet_file_is_valid():
    """config/demo-fleet.toml loads: 12 cameras, 4 sites in 3 communes, one H.265 camera, and
    scripted black, covered, unreachable and frozen failures."""
    from pathlib import Path

    from vp_monitor.sim.fleet import load_fleet

    fleet = load_fleet(Path(__file__).parents[2] / "config" / "demo-fleet.toml")
    assert len(fleet.cameras) == 12
    assert len({fc.site.name for fc in fleet.cameras}) == 4
    assert {fc.site.municipality for fc in fleet.cameras} == {"92012", "92050", "78646"}
    assert [fc.camera.codec for fc in fleet.cameras].count("h265") == 1
    faults = {step.fault for fc in fleet.cameras for step in fc.timeline}
    assert {"black", "covered_dark", "refuse", "frozen"} <= faults


def test_snapshot_shows_the_current_picture_fault():
    """The ONVIF snapshot is a JPEG of the main stream's size that follows picture faults."""
    import cv2

    from vp_monitor.sim.scene import snapshot_jpeg

    camera = SimCamera(1)

    def decode() -> np.ndarray:
        return cv2.imdecode(np.frombuffer(snapshot_jpeg(camera), np.uint8), cv2.IMREAD_GRAYSCALE)

    live = decode()
    assert live.shape == (720, 1280) and live.mean() > 60
    camera.set_fault("black")
    assert decode().mean() < 20
