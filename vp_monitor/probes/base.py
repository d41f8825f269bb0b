"""What every probe shares: the target it looks at, the result it returns, its settings."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pydantic import Field

from vp_monitor.redaction import MASK, redact_url
from vp_monitor.redaction import redact as redact_text
from vp_monitor.section import Section

MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class ProbeTarget:
    """One camera as the probes see it; the password never shows in its repr."""

    camera: str
    onvif_host: str | None = None
    onvif_port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    rtsp_main: str | None = None
    rtsp_sub: str | None = None
    expected_serial: str | None = None
    expected_firmware: str | None = None
    expected_codec: str | None = None
    expected_width: int | None = None
    expected_height: int | None = None
    expected_fps: float | None = None
    clock_offset_s: float | None = None
    # The conditions the monitor has open on this camera (some call for the full ONVIF read).
    open_conditions: frozenset[str] = frozenset()
    # A PTZ camera: it moves by design, its position is read and its view judged per preset.
    ptz: bool = False

    def __repr__(self) -> str:
        password = MASK if self.password else None
        return (
            f"ProbeTarget(camera={self.camera!r}, onvif={self.onvif_host}:{self.onvif_port}, "
            f"username={self.username!r}, password={password!r}, "
            f"rtsp_main={redact_url(self.rtsp_main)!r}, rtsp_sub={redact_url(self.rtsp_sub)!r})"
        )

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in a result (the password, and URL credentials)."""
        return tuple(s for s in (self.password,) if s and len(s) >= 3)

    def with_urls(self, rtsp_main: str | None, rtsp_sub: str | None) -> ProbeTarget:
        """A copy with the RTSP URLs filled in where the registry had none."""
        return replace(
            self, rtsp_main=self.rtsp_main or rtsp_main, rtsp_sub=self.rtsp_sub or rtsp_sub
        )


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw: conditions, metrics, JSON-safe detail, decoded frames (in memory);
    `observed` names the conditions it could have shown (filled in by the probe runner)."""

    probe: str
    ok: bool
    conditions: frozenset[str] = frozenset()
    metrics: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    frames: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)
    observed: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """JSON-safe record (frames left out)."""
        return {
            "probe": self.probe,
            "ok": self.ok,
            "conditions": sorted(self.conditions),
            "metrics": {k: _finite(v) for k, v in sorted(self.metrics.items())},
            "detail": self.detail,
            "error": self.error,
            "duration_s": round(self.duration_s, 3),
        }


def camera_target(
    camera: Any,
    password: str | None,
    clock_offset_s: float | None = None,
    open_conditions: Iterable[str] = (),
) -> ProbeTarget:
    """A registry camera as the probes see it, with its password in clear, the camera clock's
    last measured offset and the conditions open on it (the monitor's and `vp-monitor check`'s
    one builder)."""
    return ProbeTarget(
        camera=camera.code, onvif_host=camera.onvif_host, onvif_port=camera.onvif_port,
        username=camera.username, password=password, rtsp_main=camera.rtsp_main,
        rtsp_sub=camera.rtsp_sub, expected_serial=camera.serial,
        expected_firmware=camera.firmware, expected_codec=camera.expected_codec,
        expected_width=camera.expected_width, expected_height=camera.expected_height,
        expected_fps=camera.expected_fps, clock_offset_s=clock_offset_s,
        open_conditions=frozenset(open_conditions), ptz=str(camera.kind) == "ptz",
    )  # fmt: skip


def reference_key(kind: str, preset: str | None = None) -> str:
    """How a check's references are keyed: "day" or "night", and "day@TOKEN" for the view of
    PTZ preset TOKEN."""
    return kind if preset is None else f"{kind}@{preset}"


def _finite(value: float) -> float | None:
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None


def failed(probe: str, condition: str | None, error: str, **detail: Any) -> ProbeResult:
    """A result for a probe that could not do its job (None: that means no condition)."""
    found = frozenset({condition}) if condition else frozenset()
    return ProbeResult(probe, False, found, error=error, detail=detail)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Text safe to put in a result: redacted (see vp_monitor.redaction) and short."""
    text = redact_text(text, secrets)
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text


class OnvifProbeSettings(Section):
    """ONVIF device probe."""

    timeout_s: float = Field(default=8.0, gt=0, le=120, description="Deadline of the whole probe.")
    max_clock_drift_s: float = Field(
        default=30.0,
        gt=0,
        description="clock_drift when the camera clock is off by more than this.",
    )
    max_reply_bytes: int = Field(
        default=1_000_000, ge=10_000, description="A SOAP reply larger than this is cut off."
    )
    clients: int = Field(
        default=256, ge=1, le=100_000, description="ONVIF clients kept open (LRU, one per camera)."
    )


class RtspProbeSettings(Section):
    """RTSP DESCRIBE probe (each stream)."""

    timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="Deadline of the whole probe; the stream probe waits as long for its "
        "DESCRIBE answer, then for its SETUP and PLAY answers.",
    )
    max_response_bytes: int = Field(
        default=64_000, ge=1_000, description="An RTSP answer larger than this is refused."
    )


class StreamProbeSettings(Section):
    """Stream probe: PLAY for a bounded window, measure, decode the keyframes needed."""

    timeout_s: float = Field(default=15.0, gt=0, le=300, description="Deadline of the whole probe.")
    window_s: float = Field(
        default=4.0, ge=0, le=120, description="Seconds of stream measured (fps, bitrate, loss)."
    )
    second_keyframe_delay_s: float = Field(
        default=2.0,
        ge=0,
        description="The second keyframe (for `frozen`) is at least this long after the first; "
        "0 decodes only one keyframe.",
    )
    fps_tolerance: float = Field(
        default=0.7, gt=0, le=1, description="low_fps when measured fps < expected x this."
    )
    max_packet_loss: float = Field(
        default=0.02, ge=0, le=1, description="packet_loss when this share of RTP packets is lost."
    )
    workers: int = Field(default=2, ge=1, le=64, description="Decoder worker processes.")
    decode_timeout_s: float = Field(
        default=5.0, gt=0, description="A decoder worker busy longer than this is killed."
    )
    max_width: int = Field(
        default=640, ge=64, le=3840, description="Frames are scaled down to this width at decode."
    )
    max_pixels: int = Field(
        default=3840 * 2160,
        ge=64 * 64,
        description="Streams announcing more pixels per frame than this are not decoded.",
    )
    max_keyframe_bytes: int = Field(
        default=4_000_000, ge=10_000, description="A keyframe larger than this is not decoded."
    )
    prefer_sub: bool = Field(default=True, description="Use the sub-stream when there is one.")


class PtzProbeSettings(Section):
    """PTZ position probe (PTZ cameras only): GetStatus, and GetPresets now and then."""

    timeout_s: float = Field(default=5.0, gt=0, le=120, description="Deadline of the whole probe.")
    preset_tolerance: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="The camera sits at a preset when every axis (pan, tilt, zoom, in ONVIF's "
        "generic spaces) is this close to it.",
    )
    presets_ttl_s: float = Field(
        default=600.0, ge=0, description="A camera's presets are read again after this long."
    )
    max_reply_bytes: int = Field(
        default=1_000_000, ge=10_000, description="A SOAP reply larger than this is cut off."
    )


class ProbeSettings(Section):
    """Every probe's settings: the `[probes]` section of the configuration."""

    onvif: OnvifProbeSettings = Field(default_factory=OnvifProbeSettings)
    ptz: PtzProbeSettings = Field(default_factory=PtzProbeSettings)
    rtsp: RtspProbeSettings = Field(default_factory=RtspProbeSettings)
    stream: StreamProbeSettings = Field(default_factory=StreamProbeSettings)
