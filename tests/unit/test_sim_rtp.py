"""RTP packetisation (RFC 6184 / RFC 7798), SDP helpers and RTSP request parsing of the sim."""

from __future__ import annotations

import base64

import pytest

from vp_monitor.sim import rtp
from vp_monitor.sim.rtsp import BadRequest, parse_request, stream_of


def test_split_annexb_handles_3_and_4_byte_start_codes():
    """NAL units are cut at both start code lengths, trailing zero bytes dropped."""
    data = b"\x00\x00\x00\x01\x67\x42\x00" + b"\x00\x00\x01\x68\xce"
    data += b"\x00\x00\x00\x01\x65\x88\x00"
    assert rtp.split_annexb(data) == [b"\x67\x42", b"\x68\xce", b"\x65\x88"]


def test_small_h264_nal_is_sent_as_a_single_nal_unit_packet():
    """A NAL that fits the MTU is its own payload, unchanged."""
    nal = b"\x65" + bytes(100)
    assert rtp.packetize_h264(nal) == [nal]


def test_large_h264_nal_is_fragmented_as_fu_a_and_reassembled():
    """A NAL larger than the payload limit becomes FU-A fragments with S/E bits that
    reassemble to the original bytes."""
    nal = b"\x65" + bytes(range(256)) * 20
    payloads = rtp.packetize_h264(nal, max_payload=1000)
    assert len(payloads) == 6 and all(len(p) <= 1000 for p in payloads)
    assert all(p[0] & 0x1F == rtp.H264_FU_A and p[0] & 0x60 == 0x60 for p in payloads)
    assert payloads[0][1] == 0x80 | 5 and payloads[-1][1] == 0x40 | 5
    assert all(p[1] & 0xC0 == 0 for p in payloads[1:-1])
    depacketizer = rtp.Depacketizer("h264")
    nals = [n for p in payloads for n in depacketizer.push(p)]
    assert nals == [nal]


def test_large_h265_nal_is_fragmented_as_fu_and_reassembled():
    """An H.265 NAL is cut into FU packets (type 49, 3-byte header) that reassemble exactly."""
    nal = bytes((19 << 1, 1)) + bytes(range(256)) * 12  # IDR_W_RADL, TID 1
    payloads = rtp.packetize_h265(nal, max_payload=700)
    assert len(payloads) == 5
    assert all((p[0] >> 1) & 0x3F == rtp.H265_FU and p[1] == 1 for p in payloads)
    assert payloads[0][2] == 0x80 | 19 and payloads[-1][2] == 0x40 | 19
    depacketizer = rtp.Depacketizer("h265")
    assert [n for p in payloads for n in depacketizer.push(p)] == [nal]


def test_rtp_header_round_trips_with_marker_sequence_wrap_and_timestamp():
    """rtp_packet writes version 2, PT, marker, 16-bit seq (wrapping), 32-bit timestamp, SSRC."""
    packet = rtp.rtp_packet(
        b"abc", seq=65_536 + 7, timestamp=2**32 + 90_000, ssrc=0xDEADBEEF, marker=True
    )
    parsed = rtp.parse_rtp(packet)
    assert (parsed.seq, parsed.timestamp, parsed.ssrc) == (7, 90_000, 0xDEADBEEF)
    assert parsed.marker and parsed.payload_type == 96 and parsed.payload == b"abc"
    assert not rtp.parse_rtp(rtp.rtp_packet(b"x", 1, 2, 3, marker=False)).marker
    with pytest.raises(ValueError):
        rtp.parse_rtp(b"\x00" * 12)


def test_access_unit_payloads_keep_nal_order():
    """payloads_for_access_unit concatenates the per-NAL payloads in decoding order."""
    nals = [b"\x67" + bytes(10), b"\x68" + bytes(4), b"\x65" + bytes(3000)]
    payloads = rtp.payloads_for_access_unit(nals, "h264")
    assert payloads[0] == nals[0] and payloads[1] == nals[1] and len(payloads) == 5


def test_sdp_fmtp_lines_carry_parameter_sets():
    """H.264 fmtp has profile-level-id from the SPS and base64 sprop-parameter-sets; H.265
    has sprop-vps/sps/pps."""
    sps, pps = b"\x67\x42\xc0\x1e\xab", b"\x68\xce\x3c\x80"
    line = rtp.h264_fmtp(sps, pps)
    assert "packetization-mode=1" in line and "profile-level-id=42C01E" in line
    sprop = line.split("sprop-parameter-sets=")[1].split(",")
    assert [base64.b64decode(s) for s in sprop] == [sps, pps]
    line = rtp.h265_fmtp(b"\x40\x01", b"\x42\x01", b"\x44\x01")
    assert line.startswith("a=fmtp:96 sprop-vps=QAE=;sprop-sps=QgE=;sprop-pps=RAE=")


def test_rtsp_request_parsing_accepts_valid_and_rejects_malformed():
    """A valid request parses (headers case-insensitive); garbage and wrong versions raise."""
    request = parse_request(b"DESCRIBE rtsp://h/main RTSP/1.0\r\nCSeq: 3\r\nAccept: x\r\n\r\n")
    assert (request.method, request.cseq, request.headers["accept"]) == ("DESCRIBE", "3", "x")
    assert parse_request(b"GET_PARAMETER rtsp://h/main RTSP/1.0\r\nCSeq: 4\r\n\r\n").cseq == "4"
    malformed = (b"HELLO\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n", b"OPTIONS * RTSP/1.0\r\nX\r\n\r\n")
    for bad in malformed:
        with pytest.raises(BadRequest) as info:
            parse_request(bad)
        assert info.value.status == 400
    with pytest.raises(BadRequest) as info:
        parse_request(b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n")
    assert info.value.status == 505


def test_stream_paths():
    """Only /main and /sub (optionally /trackID=0) name a stream."""
    assert stream_of("rtsp://127.0.1.1:8554/main") == "main"
    assert stream_of("rtsp://127.0.1.1:8554/sub/trackID=0") == "sub"
    assert stream_of("rtsp://127.0.1.1:8554/sub/?x=1") == "sub"
    for url in ("rtsp://h/", "rtsp://h/other", "rtsp://h/main/trackID=1", "*"):
        assert stream_of(url) is None


def test_rtcp_sender_report_ties_rtp_time_to_wall_clock():
    """An RTCP SR carries SSRC, NTP wall time (to the microsecond) and the RTP timestamp."""
    report = rtp.rtcp_sender_report(0x1234, 1_790_000_000.25, 2**32 + 5, packets=10, octets=999)
    assert len(report) == 28 and report[1] == 200
    ssrc, wall, timestamp = rtp.parse_sender_report(report)
    assert (ssrc, timestamp) == (0x1234, 5) and abs(wall - 1_790_000_000.25) < 1e-6
    with pytest.raises(ValueError):
        rtp.parse_sender_report(rtp.rtp_packet(bytes(20), 1, 2, 3, marker=False))


async def test_loop_cursor_switches_picture_variant_only_at_a_gop_boundary():
    """After a fault changes, the cursor keeps the old pictures until the new loop is encoded
    and the next GOP starts, then continues from an IDR of the new variant."""
    from vp_monitor.sim.camera import SimCamera, StreamSpec
    from vp_monitor.sim.encoder import GopCache, LoopCursor

    cache = GopCache(loop_seconds=2.0)
    camera = SimCamera(1, sub=StreamSpec(64, 64, 5, 50, gop_seconds=1.0))
    try:
        normal = await cache.get(cache.key_for(camera, "sub"))
        cursor = LoopCursor(cache, camera, "sub", normal)
        assert [cursor.next()[0] for _ in range(2)] == list(normal.access_units[:2])
        camera.set_fault("black")
        black = await cache.get(cache.key_for(camera, "sub"))
        sent = [cursor.next()[0] for _ in range(5)]
        assert sent[:3] == list(normal.access_units[2:5])  # rest of the GOP: old pictures
        assert sent[3] is black.access_units[5] and sent[3].keyframe  # next GOP: black IDR
        camera.set_fault("low_fps", k=5)
        await cache.get(cache.key_for(camera, "sub"))
        durations = [cursor.next()[1] for _ in range(5)]
        assert durations[:1] == [18_000] and durations[-1] == 90_000  # 5 fps, then 1 fps
    finally:
        cache.close()
