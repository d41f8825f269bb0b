"""Encode a few seconds of a scene once per (scene, picture fault, stream spec, codec) into a
looping GOP cache, shared by every camera and client that needs the same pictures.

Each cached loop starts with an IDR and holds whole GOPs (SPS/PPS, or VPS/SPS/PPS, repeated
before every IDR), already cut into RTP payloads, so serving a client is only a matter of
prepending RTP headers and pacing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from vp_monitor.sim import rtp
from vp_monitor.sim.camera import PICTURE_FAULTS, SimCamera, StreamSpec
from vp_monitor.sim.ptz import HOME_VIEW, Position
from vp_monitor.sim.scene import fault_frames

log = logging.getLogger(__name__)

DEFAULT_LOOP_SECONDS = 4.0
ENCODE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class AccessUnit:
    """One encoded picture, already cut into RTP payloads."""

    payloads: tuple[bytes, ...]
    keyframe: bool
    size: int


@dataclass(frozen=True)
class EncodedLoop:
    """A looping run of encoded pictures; access unit i plays at i * frame_ticks (90 kHz)."""

    codec: str
    width: int
    height: int
    fps: float
    frame_ticks: int
    gop_frames: int
    access_units: tuple[AccessUnit, ...]
    parameter_sets: dict[str, bytes]

    @property
    def bitrate_kbps(self) -> float:
        """Average bit rate of the loop."""
        seconds = len(self.access_units) * self.frame_ticks / rtp.RTP_CLOCK_HZ
        return sum(au.size for au in self.access_units) * 8 / 1000 / seconds

    def fmtp(self, pt: int = rtp.DEFAULT_PAYLOAD_TYPE) -> str:
        """SDP a=fmtp line carrying the parameter sets."""
        ps = self.parameter_sets
        if self.codec == "h265":
            return rtp.h265_fmtp(ps["vps"], ps["sps"], ps["pps"], pt)
        return rtp.h264_fmtp(ps["sps"], ps["pps"], pt)

    @property
    def encoding_name(self) -> str:
        """RTP encoding name for a=rtpmap."""
        return "H265" if self.codec == "h265" else "H264"


@dataclass(frozen=True)
class LoopKey:
    """What identifies a cached loop: same key, same bytes."""

    scene: str
    codec: str
    spec: StreamSpec
    variant: str = "none"
    params: tuple[tuple[str, Any], ...] = ()
    view: Position = HOME_VIEW  # a PTZ camera's position (pan, tilt, zoom)

    def same_stream(self, other: LoopKey) -> bool:
        """Same scene, codec and stream size: the two loops differ only by their picture fault."""
        return (self.scene, self.codec, self.spec) == (other.scene, other.codec, other.spec)


def variant_for(camera: SimCamera) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The picture variant a camera in its current fault sends (and the params that matter)."""
    return fault_variant(camera.fault, camera.fault_params)


def fault_variant(fault: str, params: dict[str, Any]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The picture variant a camera in `fault` with `params` sends."""
    if fault in PICTURE_FAULTS:
        keep = {"moved": ("dx", "dy", "tilt_deg"), "defocus": ("sigma",), "noise": ("sigma",)}
        return fault, tuple((k, params[k]) for k in keep.get(fault, ()) if k in params)
    if fault == "low_fps":  # one frame in k is sent (param `k`, default 5)
        return "low_fps", (("k", max(2, int(params.get("k", 5)))),)
    return "none", ()


def _encoder_options(codec: str, spec: StreamSpec, gop: int) -> tuple[str, dict[str, str]]:
    kbps = spec.bitrate_kbps
    if codec == "h265":
        x265 = (
            f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:bframes=0:repeat-headers=1:"
            f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:log-level=error:pools=1:frame-threads=1"
        )
        return "libx265", {"preset": "ultrafast", "tune": "zerolatency", "x265-params": x265}
    # Baseline, no B-frames, SPS/PPS repeated before each IDR, like an IP camera.
    x264 = (
        f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:repeat-headers=1:annexb=1:"
        f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:sliced-threads=0"
    )
    return "libx264", {
        "preset": "superfast",
        "tune": "zerolatency",
        "profile": "baseline",
        "x264-params": x264,
    }


def encode_loop(
    frames: Iterable[np.ndarray], codec: str, spec: StreamSpec, fps: float, gop_frames: int
) -> EncodedLoop:
    """Encode BGR frames of spec's size (a whole number of GOPs) into an EncodedLoop."""
    name, options = _encoder_options(codec, spec, gop_frames)
    width, height = spec.width, spec.height
    ctx = av.CodecContext.create(name, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    rate = Fraction(fps).limit_denominator(1000)
    ctx.time_base, ctx.framerate = 1 / rate, rate
    ctx.bit_rate = spec.bitrate_kbps * 1000
    ctx.gop_size = gop_frames
    ctx.thread_count = 1  # bounded CPU: one encoder thread per loop
    ctx.options = options
    packets: list[bytes] = []
    count = 0
    for i, img in enumerate(frames):
        count += 1
        frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
        frame.pts = i
        packets.extend(bytes(p) for p in ctx.encode(frame))
    packets.extend(bytes(p) for p in ctx.encode(None))
    if not count or count % gop_frames:
        raise ValueError("a loop must hold a whole, non-zero number of GOPs")
    if len(packets) != count:
        raise RuntimeError(f"{name} returned {len(packets)} packets for {count} frames")
    return _build_loop(packets, codec, width, height, fps, gop_frames)


def _build_loop(
    packets: list[bytes], codec: str, width: int, height: int, fps: float, gop_frames: int
) -> EncodedLoop:
    nal_type = rtp.h265_nal_type if codec == "h265" else rtp.h264_nal_type
    names = (
        {rtp.H265_VPS: "vps", rtp.H265_SPS: "sps", rtp.H265_PPS: "pps"}
        if codec == "h265"
        else {rtp.H264_SPS: "sps", rtp.H264_PPS: "pps"}
    )
    parameter_sets: dict[str, bytes] = {}
    units = []
    for n, data in enumerate(packets):
        nals = rtp.split_annexb(data)
        for nal in nals:
            if nal_type(nal) in names:
                parameter_sets.setdefault(names[nal_type(nal)], nal)
        payloads = rtp.payloads_for_access_unit(nals, codec)
        units.append(AccessUnit(payloads, n % gop_frames == 0, sum(map(len, payloads))))
    missing = set(names.values()) - set(parameter_sets)
    if missing:
        raise RuntimeError(f"encoder gave no {sorted(missing)} in band")
    ticks = round(rtp.RTP_CLOCK_HZ / fps)
    return EncodedLoop(codec, width, height, fps, ticks, gop_frames, tuple(units), parameter_sets)


def build_loop(key: LoopKey, loop_seconds: float = DEFAULT_LOOP_SECONDS) -> EncodedLoop:
    """Render and encode the loop for `key` (blocking; minutes of CPU are never spent here)."""
    spec, params = key.spec, dict(key.params)
    step = int(params.get("k", 1)) if key.variant == "low_fps" else 1
    fps = spec.fps / step
    gop_frames = max(1, round(spec.gop_seconds * fps))
    gops = max(1, round(loop_seconds * fps / gop_frames))
    fault = "none" if key.variant == "low_fps" else key.variant
    frames = fault_frames(
        key.scene, spec.width, spec.height, spec.fps, gops * gop_frames, fault, params, step,
        key.view,
    )  # fmt: skip
    return encode_loop(frames, key.codec, spec, fps, gop_frames)


class GopCache:
    """Lazily encoded loops, shared by every camera; encoding runs in worker threads."""

    def __init__(
        self, loop_seconds: float = DEFAULT_LOOP_SECONDS, max_entries: int = 128, workers: int = 2
    ) -> None:
        self.loop_seconds = loop_seconds
        self.max_entries = max_entries
        self._loops: OrderedDict[LoopKey, EncodedLoop] = OrderedDict()
        self._pending: dict[LoopKey, concurrent.futures.Future[EncodedLoop]] = {}
        self._failed: dict[LoopKey, Exception] = {}  # not retried: a bad scene stays bad
        # The loop each camera stream was last given, served while its new fault encodes.
        self._playing: dict[tuple[str, str], LoopKey] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "sim-encode")

    def key_for(
        self,
        camera: SimCamera,
        stream: str,
        fault: str | None = None,
        params: dict[str, Any] | None = None,
        view: Position | None = None,
    ) -> LoopKey:
        """The loop a camera's `stream` ("main" or "sub") needs in `fault` at `view` (default:
        what it films now)."""
        spec = camera.main if stream == "main" else camera.sub
        if fault is None:
            variant, variant_params = variant_for(camera)
        else:
            variant, variant_params = fault_variant(fault, params or {})
        view = camera.view if view is None else view
        return LoopKey(camera.scene, camera.codec, spec, variant, variant_params, view)

    async def current(
        self, camera: SimCamera, stream: str, timeout: float = ENCODE_TIMEOUT_S
    ) -> tuple[LoopKey, EncodedLoop]:
        """The loop a camera's stream should play now, and its key. While a new fault's loop
        encodes, the stream's previous loop: a camera keeps answering, and the player switches
        to the new pictures once they are ready. Only a stream with no loop yet waits."""
        wanted = self.key_for(camera, stream)
        slot = (camera.code, stream)
        loop = self.get_nowait(wanted)
        if loop is None:
            with self._lock:
                previous = self._playing.get(slot)
                old = self._loops.get(previous) if previous is not None else None
            if old is not None and previous.same_stream(wanted):
                return previous, old
            loop = await self.get(wanted, timeout)
        with self._lock:
            self._playing[slot] = wanted
        return wanted, loop

    def get_nowait(self, key: LoopKey) -> EncodedLoop | None:
        """The loop if already encoded, else None (and its encoding is started)."""
        with self._lock:
            loop = self._loops.get(key)
            if loop is not None:
                self._loops.move_to_end(key)
                return loop
            if key not in self._pending and key not in self._failed:
                self._pending[key] = self._pool.submit(self._encode, key)
            return None

    async def get(self, key: LoopKey, timeout: float = ENCODE_TIMEOUT_S) -> EncodedLoop:
        """The loop for `key`, encoding it first if needed."""
        loop = self.get_nowait(key)
        if loop is not None:
            return loop
        with self._lock:
            future = self._pending.get(key)
            failure = self._failed.get(key)
        if failure is not None:
            raise failure
        if future is None:  # finished between the two looks
            return await self.get(key, timeout)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)

    def _encode(self, key: LoopKey) -> EncodedLoop:
        started = time.monotonic()
        try:
            loop = build_loop(key, self.loop_seconds)
        except Exception as exc:
            log.exception("encoding %s %s variant %s failed", key.scene, key.spec, key.variant)
            with self._lock:
                self._failed[key] = exc
                self._pending.pop(key, None)
            raise
        with self._lock:
            self._loops[key] = loop
            self._pending.pop(key, None)
            while len(self._loops) > self.max_entries:
                self._loops.popitem(last=False)
        log.info(
            "encoded %s %s %dx%d@%g variant %s: %d frames, %.0f kbps, %.2f s",
            key.scene, key.codec, loop.width, loop.height, loop.fps, key.variant,
            len(loop.access_units), loop.bitrate_kbps, time.monotonic() - started,
        )  # fmt: skip
        return loop

    def close(self) -> None:
        """Stop the encoder threads (running encodes finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class LoopCursor:
    """Plays the cached loops of one camera stream in order, following the camera's picture
    fault: a new variant takes over at the next GOP boundary once it is encoded."""

    def __init__(
        self,
        cache: GopCache,
        camera: SimCamera,
        stream: str,
        loop: EncodedLoop,
        key: LoopKey | None = None,
    ) -> None:
        self.cache, self.camera, self.stream = cache, camera, stream
        self.wanted = cache.key_for(camera, stream)
        self.key = key or self.wanted  # the loop given may be the previous fault's
        self.loop = loop
        self.index = 0
        self._picture_since = camera.picture_since

    def next(self) -> tuple[AccessUnit, int]:
        """The next access unit to send and its duration in 90 kHz ticks."""
        if self.camera.picture_since != self._picture_since:  # fault or view changed
            self._picture_since = self.camera.picture_since
            self.wanted = self.cache.key_for(self.camera, self.stream)
            self.cache.get_nowait(self.wanted)
        if self.wanted != self.key and self.index % self.loop.gop_frames == 0:
            self._maybe_switch()
        loop = self.loop
        au = loop.access_units[self.index]
        self.index = (self.index + 1) % len(loop.access_units)
        return au, loop.frame_ticks

    def _maybe_switch(self) -> None:
        key = self.wanted
        new = self.cache.get_nowait(key)
        if new is None:
            return  # keep playing the old pictures until the new ones are encoded
        position = self.index * self.loop.frame_ticks
        self.key, self.loop = key, new
        # GOPs last the same time in every variant, so a GOP boundary maps to a GOP boundary.
        self.index = (position // new.frame_ticks) % len(new.access_units)
        if self.index % new.gop_frames:
            self.index -= self.index % new.gop_frames
