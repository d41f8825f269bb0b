"""Stream probe: PLAY one stream for a bounded window over RTSP/TCP, measure frame rate, bit rate,
RTP loss (sequence gaps) and time to first keyframe, and decode just the keyframes needed.

Why our own RTP reader instead of PyAV's demuxer: it sees true sequence gaps, costs almost no
CPU for the packets it only counts, and hands the decoder exactly two keyframes.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from vp_monitor.probes.base import ProbeResult, ProbeTarget, failed, redact
from vp_monitor.probes.capture import Decoded, DecodeError, DecodeJob, decoder_pool
from vp_monitor.probes.rtsp import RtspClient, RtspFailure, Sdp, split_credentials, stream_url

START_CODE = b"\x00\x00\x00\x01"
RTP_VIDEO_CLOCK_HZ = 90_000
T = TypeVar("T")
H264_IDR, H264_PARAMS = {5}, {7, 8}
H265_IRAP, H265_PARAMS = set(range(16, 22)), {32, 33, 34}


def nal_type(codec: str, nal: bytes) -> int:
    """NAL unit type of an H.264 or H.265 NAL unit."""
    return (nal[0] >> 1) & 0x3F if codec == "h265" else nal[0] & 0x1F


class Depacketizer:
    """NAL units out of RTP payloads: single NAL, STAP-A / AP, FU-A / FU (RFC 6184, RFC 7798)."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.fragment: bytearray | None = None

    def push(self, payload: bytes) -> list[bytes]:
        """NAL units this payload completes."""
        if len(payload) < 3:
            return []
        kind = nal_type(self.codec, payload)
        if self.codec == "h265":
            if kind == 49:
                return self._fragment(payload[3:], payload[2], _h265_header(payload))
            return self._aggregate(payload, 2) if kind == 48 else [payload]
        if kind == 28:
            header = bytes(((payload[0] & 0xE0) | (payload[1] & 0x1F),))
            return self._fragment(payload[2:], payload[1], header)
        return self._aggregate(payload, 1) if kind == 24 else [payload]

    def _fragment(self, chunk: bytes, fu: int, header: bytes) -> list[bytes]:
        if fu & 0x80:
            self.fragment = bytearray(header)
        if self.fragment is None:  # the start was lost: drop the rest of this NAL
            return []
        self.fragment += chunk
        if not fu & 0x40:
            return []
        nal, self.fragment = bytes(self.fragment), None
        return [nal]

    @staticmethod
    def _aggregate(payload: bytes, pos: int) -> list[bytes]:
        nals = []
        while pos + 2 <= len(payload):
            size = struct.unpack_from(">H", payload, pos)[0]
            nals.append(payload[pos + 2 : pos + 2 + size])
            pos += 2 + size
        return [n for n in nals if n]


def _rtp_seconds(ticks: int) -> float:
    """An RTP timestamp difference (90 kHz video clock, modulo 2^32) in seconds."""
    return (ticks & 0xFFFFFFFF) / RTP_VIDEO_CLOCK_HZ


def _h265_header(payload: bytes) -> bytes:
    return bytes(((payload[0] & 0x81) | ((payload[2] & 0x3F) << 1), payload[1]))


@dataclass
class StreamStats:
    """Counters of one PLAY window."""

    started: float = field(default_factory=time.monotonic)
    packets: int = 0
    payload_bytes: int = 0
    frames: int = 0
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    first_seq: int | None = None
    highest_seq: int = 0  # extended (wraps counted)
    first_keyframe_s: float | None = None
    keyframes: int = 0
    oversize_keyframes: int = 0
    damaged_keyframes: int = 0

    def count_packet(self, seq: int, size: int) -> bool:
        """Count one RTP packet; True when packets were lost just before it."""
        self.packets += 1
        self.payload_bytes += size
        if self.first_seq is None:
            self.first_seq = self.highest_seq = seq
            return False
        delta = (seq - self.highest_seq) & 0xFFFF
        if 0 < delta < 0x8000:  # forward (late and duplicate packets are not counted twice)
            self.highest_seq += delta
        return 1 < delta < 0x8000

    def count_frame(self, now: float) -> None:
        self.frames += 1
        self.first_frame_at = self.first_frame_at or now
        self.last_frame_at = now

    def metrics(self) -> dict[str, float]:
        """fps, bitrate, loss and timings measured so far."""
        now = time.monotonic()
        metrics = {"packets": float(self.packets), "frames": float(self.frames)}
        span = (self.last_frame_at or 0) - (self.first_frame_at or 0)
        if self.frames >= 3 and span >= 0.5:
            metrics["fps"] = (self.frames - 1) / span
        if self.packets:
            metrics["bitrate_kbps"] = self.payload_bytes * 8 / 1000 / max(now - self.started, 1e-3)
        if self.first_seq is not None:
            expected = self.highest_seq - self.first_seq + 1
            metrics["packet_loss"] = max(0.0, (expected - self.packets) / expected)
        if self.first_keyframe_s is not None:
            metrics["first_keyframe_s"] = self.first_keyframe_s
        return metrics


class KeyframeCollector:
    """Reassembles access units and keeps the keyframes the check needs (Annex B bytes)."""

    def __init__(self, sdp: Sdp, wanted: int, delay_s: float, max_bytes: int) -> None:
        self.codec = sdp.codec
        self.depacketizer = Depacketizer(sdp.codec)
        self.params: dict[int, bytes] = {nal_type(sdp.codec, p): p for p in sdp.parameter_sets if p}
        self.wanted, self.delay_s, self.max_bytes = wanted, delay_s, max_bytes
        self.keyframes: list[bytes] = []
        self.first_timestamp: int | None = None  # RTP time of the first keyframe kept
        self.unit: list[bytes] = []
        self.unit_bytes = 0
        self.damaged = False  # a packet of the unit being assembled was lost
        self.timestamp: int | None = None

    @property
    def done(self) -> bool:
        return len(self.keyframes) >= self.wanted

    def push(
        self, timestamp: int, marker: bool, payload: bytes, stats: StreamStats, lost: bool = False
    ) -> None:
        """Feed one RTP payload; completes an access unit on marker or new timestamp."""
        if self.timestamp is not None and timestamp != self.timestamp and self.unit:
            self._finish(stats)
        if lost:
            self.damaged = True
            self.depacketizer.fragment = None
        self.timestamp = timestamp
        for nal in self.depacketizer.push(payload):
            self.unit.append(nal)
            self.unit_bytes += len(nal)
        if marker:
            self._finish(stats)

    def _finish(self, stats: StreamStats) -> None:
        unit, size, damaged, timestamp = self.unit, self.unit_bytes, self.damaged, self.timestamp
        self.unit, self.unit_bytes, self.timestamp, self.damaged = [], 0, None, False
        if not unit:
            return
        now = time.monotonic()
        stats.count_frame(now)
        types = [nal_type(self.codec, n) for n in unit]
        h265 = self.codec == "h265"
        for kind, nal in zip(types, unit, strict=True):
            if kind in (H265_PARAMS if h265 else H264_PARAMS):
                self.params[kind] = nal
        irap = H265_IRAP if h265 else H264_IDR
        if not irap.intersection(types):
            return
        stats.keyframes += 1
        if stats.first_keyframe_s is None:
            stats.first_keyframe_s = now - stats.started
        if size > self.max_bytes:
            stats.oversize_keyframes += 1
            return
        if damaged:  # decoding half a picture would fake a blurred or covered image
            stats.damaged_keyframes += 1
            return
        # Spacing by the stream's own clock, not arrival time: jitter or a burst must not make
        # the keyframe `delay_s` later look early and push the second pick a whole GOP further.
        if self.done or (
            self.first_timestamp is not None
            and timestamp is not None
            and _rtp_seconds(timestamp - self.first_timestamp) < self.delay_s
        ):
            return
        if self.first_timestamp is None:
            self.first_timestamp = timestamp
        self.keyframes.append(self._annexb(unit, types))

    def _annexb(self, unit: list[bytes], types: list[int]) -> bytes:
        """Parameter sets (from SDP or in band) followed by the keyframe's NAL units."""
        order = (32, 33, 34) if self.codec == "h265" else (7, 8)
        present = set(types)
        head = [self.params[k] for k in order if k in self.params and k not in present]
        return b"".join(START_CODE + nal for nal in head + unit)


async def run(target: ProbeTarget, settings: Any) -> ProbeResult:
    """PLAY the sub-stream (main when none) for a window; measure it and decode two keyframes."""
    conf = settings.stream
    url, which = stream_url(target, conf.prefer_sub)
    if not url:
        return failed("stream", "rtsp_error", "no RTSP URL known for this camera")
    client = RtspClient(url, target.username, target.password, settings.rtsp.max_response_bytes)
    stats = StreamStats()
    probe_end = stats.started + conf.timeout_s - 1.0  # leave time to decode before the deadline
    answer_s = settings.rtsp.timeout_s
    try:
        sdp = await _answered(_describe(client), answer_s, "DESCRIBE")
        if sdp.codec == "mjpeg":
            return await _grab_mjpeg(target, url, which, sdp, conf)
        wanted = 2 if conf.second_keyframe_delay_s > 0 else 1
        collector = KeyframeCollector(sdp, wanted, conf.second_keyframe_delay_s,
                                      conf.max_keyframe_bytes)  # fmt: skip
        _check_size(sdp, conf.max_pixels)
        await _answered(_play(client, sdp), answer_s, "SETUP/PLAY")
        stats.started = time.monotonic()
        await _receive(client, collector, stats, conf, probe_end)
    except RtspFailure as exc:
        error = redact(f"{which}: {exc}", target.secrets())
        return ProbeResult("stream", False, frozenset({exc.condition}), stats.metrics(),
                           {"stream": which}, error)  # fmt: skip
    finally:
        await client.close()
    return await _decode(target, which, sdp, collector, stats, conf)


async def _answered(step: Awaitable[T], timeout_s: float, what: str) -> T:
    """One step of the RTSP control exchange, given the RTSP probe's time-out rather than the
    whole probe's: a camera that accepts the connection but never answers, answers a byte at a
    time or sends garbage is given up on when the RTSP probe gives up on it, and its check
    stops holding one of its site's stream slots sooner (with the defaults: after 8 s, the
    ONVIF clock read's time-out, instead of 15 s)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await step
    except TimeoutError:
        raise RtspFailure("unreachable", f"{what}: no answer within {timeout_s:g} s") from None


async def _describe(client: RtspClient) -> Sdp:
    await client.connect()
    return await client.describe()


def _check_size(sdp: Sdp, max_pixels: int) -> None:
    if sdp.width and sdp.height and sdp.width * sdp.height > max_pixels:
        raise RtspFailure("rtsp_error", f"stream of {sdp.width}x{sdp.height} over the size limit")


async def _play(client: RtspClient, sdp: Sdp) -> None:
    transport = "RTP/AVP/TCP;unicast;interleaved=0-1"
    response = await client.request("SETUP", sdp.control, Transport=transport)
    client.session = response.header("session").split(";")[0].strip()
    if not client.session:
        raise RtspFailure("rtsp_error", "SETUP answer has no session")
    await client.request("PLAY", client.url, Range="npt=0.000-")


async def _receive(client: RtspClient, collector: KeyframeCollector, stats: StreamStats,
                   conf: Any, probe_end: float) -> None:  # fmt: skip
    """Read RTP until the window is over and the keyframes are in (or no more time for them)."""
    window_end = stats.started + conf.window_s
    # Past the window we only wait for missing keyframes (a long GOP), and not for ever.
    hard_end = window_end + max(conf.window_s, conf.second_keyframe_delay_s, 1.0)
    hard_end = min(hard_end, probe_end)
    try:
        async with asyncio.timeout(hard_end - time.monotonic()):
            while not (time.monotonic() >= window_end and collector.done):
                _take_packet(await client.read_interleaved(), collector, stats)
    except TimeoutError:
        return
    except (asyncio.IncompleteReadError, ConnectionError):
        return  # the camera closed the stream: what we got is the result
    except asyncio.LimitOverrunError as exc:
        raise RtspFailure("rtsp_error", "garbage on the stream connection") from exc


def _take_packet(packet: tuple[int, bytes], collector: KeyframeCollector, stats: StreamStats
                 ) -> None:  # fmt: skip
    """Count one interleaved packet and feed its payload to the keyframe collector."""
    channel, data = packet
    if channel != 0 or len(data) < 12 or data[0] >> 6 != 2:
        return  # RTCP or not RTP
    seq, timestamp = struct.unpack_from(">HI", data, 2)
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10 and len(data) >= offset + 4:
        offset += 4 + 4 * struct.unpack_from(">H", data, offset + 2)[0]
    payload = data[offset : len(data) - (data[-1] if data[0] & 0x20 else 0)]
    lost = stats.count_packet(seq, len(payload))
    collector.push(timestamp, bool(data[1] & 0x80), payload, stats, lost)


async def _decode(target: ProbeTarget, which: str, sdp: Sdp, collector: KeyframeCollector,
                  stats: StreamStats, conf: Any) -> ProbeResult:  # fmt: skip
    metrics = stats.metrics()
    detail: dict[str, Any] = {"stream": which, **sdp.to_json()}
    decoded, error = Decoded(), None
    if collector.keyframes:
        job = DecodeJob(sdp.codec, tuple(collector.keyframes), max_width=conf.max_width,
                        max_pixels=conf.max_pixels, timeout_s=conf.decode_timeout_s)  # fmt: skip
        try:
            decoded = await decoder_pool(conf.workers).decode(job)
        except DecodeError as exc:
            error = str(exc)
    elif stats.oversize_keyframes:
        error = "keyframes over the size limit were not decoded"
    elif stats.damaged_keyframes:
        error = f"all {stats.damaged_keyframes} keyframes received had lost packets"
    else:
        error = f"no keyframe received in {time.monotonic() - stats.started:.1f} s"
    error = error or "; ".join(decoded.errors) or None
    if decoded.width:
        detail |= {"width": decoded.width, "height": decoded.height}
    expected_fps = sdp.fps or (target.expected_fps if which == "main" else None)
    conditions = _conditions(metrics, expected_fps, decoded, conf)
    if error:
        error = redact(error, target.secrets())
    ok = "no_video" not in conditions
    return ProbeResult("stream", ok, conditions, metrics, detail, error, frames=decoded.frames)


def _conditions(metrics: dict[str, float], expected_fps: float | None, decoded: Decoded,
                conf: Any) -> frozenset[str]:  # fmt: skip
    conditions = set()
    if not decoded.frames:
        conditions.add("no_video")
    if "fps" in metrics and expected_fps and metrics["fps"] < expected_fps * conf.fps_tolerance:
        conditions.add("low_fps")
    if metrics.get("packet_loss", 0.0) > conf.max_packet_loss:
        conditions.add("packet_loss")
    return frozenset(conditions)


async def _grab_mjpeg(target: ProbeTarget, url: str, which: str, sdp: Sdp, conf: Any
                      ) -> ProbeResult:  # fmt: skip
    """MJPEG (RFC 2435) is not depacketized here: a worker grabs pictures with PyAV."""
    clean, _, _ = split_credentials(url)
    user, password = target.username, target.password
    if user:
        host = clean.split("://", 1)[1]
        clean = f"rtsp://{quote(user, safe='')}:{quote(password or '', safe='')}@{host}"
    count = 2 if conf.second_keyframe_delay_s > 0 else 1
    job = DecodeJob("mjpeg", url=clean, max_width=conf.max_width, max_pixels=conf.max_pixels,
                    timeout_s=conf.decode_timeout_s, count=count)  # fmt: skip
    detail: dict[str, Any] = {"stream": which, **sdp.to_json()}
    try:
        decoded = await decoder_pool(conf.workers).decode(job)
    except DecodeError as exc:
        return ProbeResult("stream", False, frozenset({"no_video"}), {}, detail,
                           redact(str(exc), target.secrets()))  # fmt: skip
    error = redact("; ".join(decoded.errors), target.secrets()) or None
    conditions = frozenset() if decoded.frames else frozenset({"no_video"})
    return ProbeResult("stream", bool(decoded.frames), conditions, {}, detail, error,
                       frames=decoded.frames)  # fmt: skip
