"""Pure parts of the probes: SDP, RTP depacketizing, loss counting, settings, redaction."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from vp_monitor.probes.base import ProbeResult, ProbeSettings, ProbeTarget, redact
from vp_monitor.probes.cli import parse_matches, probe_message
from vp_monitor.probes.ptz import Presets, home_of, preset_at
from vp_monitor.probes.rtsp import RtspFailure, Sdp, _challenge, parse_sdp, split_credentials
from vp_monitor.probes.stream import Depacketizer, KeyframeCollector, StreamStats
from vp_monitor.probes.tiers import camera_state

SPS, PPS = b"\x67\x42\x00\x1e\xab", b"\x68\xce\x3c\x80"
SDP = (
    "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nm=audio 0 RTP/AVP 0\r\na=control:audio\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={base64.b64encode(SPS).decode()},"
    f"{base64.b64encode(PPS).decode()}\r\na=framerate:12.5\r\na=cliprect:0,0,360,640\r\n"
    "a=control:trackID=1\r\n"
)


def test_sdp_video_stream_codec_size_rate_parameter_sets_and_control_url():
    """The first video stream's codec, size (cliprect), rate, SPS/PPS and control URL are read."""
    sdp = parse_sdp(SDP.encode(), "rtsp://cam/sub/")
    assert (sdp.codec, sdp.width, sdp.height, sdp.fps) == ("h264", 640, 360, 12.5)
    assert sdp.parameter_sets == (SPS, PPS)
    assert sdp.control == "rtsp://cam/sub/trackID=1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("v=0\r\nm=audio 0 RTP/AVP 0\r\n", "no video"),
        ("v=0\r\nm=video 0 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n", "not supported"),
        ("v=0\r\nm=video 0 RTP/AVP\r\n", "malformed"),
    ],
)
def test_sdp_without_a_decodable_video_stream_is_rtsp_error(body, reason):
    """No video, an unsupported codec or a broken media line are rtsp_error with a reason."""
    with pytest.raises(RtspFailure, match=reason) as failure:
        parse_sdp(body.encode(), "rtsp://cam/")
    assert failure.value.condition == "rtsp_error"


def test_static_payload_26_is_mjpeg():
    """Payload type 26 without rtpmap is MJPEG (RFC 3551)."""
    assert parse_sdp(b"v=0\r\nm=video 0 RTP/AVP 26\r\n", "rtsp://c/").codec == "mjpeg"


def test_depacketizer_rebuilds_fu_a_and_stap_a_and_drops_a_headless_fragment():
    """FU-A fragments join into one NAL, STAP-A splits, a fragment without start is dropped."""
    nal = bytes([0x65]) + bytes(range(50))
    d = Depacketizer("h264")
    fu = lambda flags, chunk: bytes([0x7C, flags | 5]) + chunk  # noqa: E731
    assert d.push(fu(0x80, nal[1:20])) == [] and d.push(fu(0x40, nal[20:])) == [nal]
    stap = b"\x18" + len(SPS).to_bytes(2, "big") + SPS + len(PPS).to_bytes(2, "big") + PPS
    assert d.push(stap) == [SPS, PPS]
    assert d.push(fu(0x40, nal[20:])) == []


def test_h265_fragmentation_units_are_rebuilt():
    """H.265 FU (type 49) fragments rebuild the original two-byte NAL header."""
    nal = bytes([19 << 1, 1]) + b"x" * 30
    d = Depacketizer("h265")
    fu = lambda flags, chunk: bytes([49 << 1, 1, flags | 19]) + chunk  # noqa: E731
    assert d.push(fu(0x80, nal[2:10])) == [] and d.push(fu(0x40, nal[10:])) == [nal]


def test_second_keyframe_is_spaced_by_rtp_time_not_arrival():
    """Keyframes every 2 s of stream time arriving in one burst: the second one kept is the one
    2 s later (a whole GOP further would be the same picture on a looping camera)."""
    sdp = Sdp("h264", "H264", 96, "rtsp://x/track1", parameter_sets=(b"\x67sps", b"\x68pps"))
    collector = KeyframeCollector(sdp, wanted=2, delay_s=2.0, max_bytes=1 << 20)
    stats = StreamStats()
    start = 0xFFFF0000  # the RTP clock wraps between the first and the second keyframe
    for n in range(4):
        idr = bytes((0x65, 0x88, n))  # an IDR slice; its last byte tells which one was kept
        collector.push((start + n * 180_000) & 0xFFFFFFFF, True, idr, stats)
    assert [k[-1] for k in collector.keyframes] == [0, 1]


def test_a_monochrome_picture_is_compared_with_the_night_reference():
    """Infrared (grey) pictures use the night reference, colour ones the day reference; an
    infrared picture is never compared with a day reference."""
    import numpy as np

    from vp_monitor.probes.check import _period, _reference

    colour = np.zeros((36, 64, 3), np.uint8)
    colour[..., 2] = 200  # red
    grey = np.full((36, 64, 3), 90, np.uint8)
    day, night = np.full_like(colour, 1), np.full_like(colour, 2)
    both = {"day": day, "night": night}
    assert _reference(_period(colour, None), both, None) is day
    assert _reference(_period(grey, None), both, None) is night
    assert _reference(_period(grey, None), {"day": day}, None) is None


def test_packet_loss_counts_sequence_gaps_across_wrap():
    """Loss is the share of missing sequence numbers, across the 16-bit wrap."""
    stats = StreamStats()
    lost = [stats.count_packet(seq & 0xFFFF, 100) for seq in range(65530, 65550) if seq % 5]
    assert any(lost)
    assert stats.metrics()["packet_loss"] == pytest.approx(4 / 20, abs=0.06)


def test_digest_preferred_over_basic_challenge():
    """When a camera offers Basic and Digest, Digest is answered (no password in clear)."""
    chosen = _challenge(['Basic realm="x"', 'Digest realm="cam", nonce="abc", qop="auth"'])
    assert (chosen["scheme"], chosen["nonce"], chosen["qop"]) == ("digest", "abc", "auth")


def test_settings_reject_unknown_keys_and_document_every_field():
    """[probes] rejects unknown keys; every field has a description."""
    with pytest.raises(ValidationError, match="extra"):
        ProbeSettings.model_validate({"stream": {"windows_s": 3}})
    for section in (ProbeSettings().onvif, ProbeSettings().rtsp, ProbeSettings().stream):
        assert all(f.description for f in type(section).model_fields.values())


def test_target_repr_and_results_never_show_secrets():
    """The password and URL credentials are masked in repr and in redacted errors."""
    target = ProbeTarget("c1", "h", 80, "admin", "s3cret!", "rtsp://admin:s3cret!@h/main")
    assert "s3cret" not in repr(target)
    assert "s3cret" not in redact("failed rtsp://admin:s3cret!@h/main pwd=s3cret!", ("s3cret!",))
    assert split_credentials("rtsp://u:p%40ss@h:554/x") == ("rtsp://h:554/x", "u", "p@ss")
    record = ProbeResult("rtsp", False, frozenset({"auth_failed"}), {"x": float("nan")}).to_json()
    assert record["metrics"] == {"x": None} and record["conditions"] == ["auth_failed"]


def test_camera_state_rule():
    """down without video and a down condition, degraded for any other condition, ok otherwise."""
    assert camera_state({"no_video"}, False) == "down"
    assert camera_state({"unreachable"}, True) == "degraded"
    assert camera_state({"black"}, True) == "degraded"
    assert camera_state(set(), True) == "ok"


def test_probe_matches_answer_is_parsed_and_foreign_answers_ignored():
    """A ProbeMatches relating to our probe yields its XAddrs; others and DTDs are ignored."""
    assert b"NetworkVideoTransmitter" in probe_message("urn:uuid:1")
    answer = (
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header>'
        b"<a:RelatesTo>urn:uuid:1</a:RelatesTo></e:Header><e:Body><d:ProbeMatches><d:ProbeMatch>"
        b"<a:EndpointReference><a:Address>urn:uuid:dev</a:Address></a:EndpointReference>"
        b"<d:XAddrs>http://127.9.9.5:8000/onvif/device_service</d:XAddrs>"
        b"</d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>"
    )
    (device,) = parse_matches(answer, "urn:uuid:1")
    assert (device.host, device.port, device.address) == ("127.9.9.5", 8000, "urn:uuid:dev")
    assert parse_matches(answer, "urn:uuid:2") == []
    assert parse_matches(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "urn:uuid:1") == []


def test_ptz_home_is_the_preset_called_home_else_the_first():
    """The home preset is the one named or tokened "home" (any case), else the first one;
    a camera without presets has no home to be away from."""
    assert home_of({"1": "Entrée", "7": "HOME"}) == "7"
    assert home_of({"home": "Repos", "2": "Parvis"}) == "home"
    assert home_of({"3": "Parvis", "1": "Carrefour"}) == "3"
    assert home_of({}) is None


def test_ptz_preset_is_the_nearest_within_the_tolerance_on_every_axis():
    """A position sits at a preset only when every axis is within the tolerance; between two
    close presets, the nearer one."""
    presets = Presets({"1": (0.0, 0.0, 0.0), "2": (0.5, 0.1, 0.0), "3": (0.505, 0.1, 0.0)},
                      {}, "1", "Profile_1", 0.0)  # fmt: skip
    assert preset_at((0.004, -0.003, 0.0), presets, 0.01) == "1"
    assert preset_at((0.0, 0.0, 0.02), presets, 0.01) is None  # zoomed in: off the preset
    assert preset_at((0.504, 0.1, 0.0), presets, 0.01) == "3"
    assert preset_at((0.3, 0.0, 0.0), presets, 0.01) is None
