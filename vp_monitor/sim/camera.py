"""State of one simulated camera, shared by its RTSP server, ONVIF device and control API."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vp_monitor.sim.ptz import HOME_VIEW, Position, PtzHead

# Faults a simulated camera can be switched into (control API and fleet timelines).
# Network faults act on every server of the camera; picture faults change the decoded frames.
# refuse: connections refused; hang: accepted, never answered; slow: answered piece by piece
# (`delay_s`, `byte_delay_s`, `chunk_bytes`); garbage: random bytes instead of an answer.
NETWORK_FAULTS = frozenset({"refuse", "hang", "slow", "garbage"})
GARBAGE_BYTES = 512  # what a camera in the `garbage` fault sends for each request
PROTOCOL_FAULTS = frozenset(
    {"wrong_credentials", "rtsp_5xx", "stream_stops", "packet_loss", "corrupt", "low_fps"}
)
PICTURE_FAULTS = frozenset(
    {
        "black",
        "frozen",
        "defocus",
        "covered_dark",
        "covered_light",
        "moved",
        "overexposed",
        "underexposed",
        "noise",
        "night",  # not a fault: the infrared night mode (a monochrome picture)
    }
)
DEVICE_FAULTS = frozenset({"clock_drift", "device_replaced", "firmware_changed"})
FAULTS = frozenset({"none"}) | NETWORK_FAULTS | PROTOCOL_FAULTS | PICTURE_FAULTS | DEVICE_FAULTS


def garbage() -> bytes:
    """Random bytes, the answer of a camera in the `garbage` fault: no protocol parses them."""
    return os.urandom(GARBAGE_BYTES)


def camera_address(index: int) -> str:
    """Loopback address of camera number `index` (1-based): cam001 -> 127.0.1.1."""
    if not 1 <= index <= 254 * 254:
        raise ValueError(f"camera index {index} out of range 1..{254 * 254}")
    return f"127.0.{1 + (index - 1) // 254}.{1 + (index - 1) % 254}"


@dataclass(frozen=True)
class StreamSpec:
    """One encoded stream of a camera (main or sub)."""

    width: int
    height: int
    fps: int
    bitrate_kbps: int
    gop_seconds: float = 2.0


@dataclass
class SimCamera:
    """One simulated camera: identity, credentials, streams and the fault it is in now."""

    index: int
    code: str = ""
    host: str = ""
    rtsp_port: int = 8554
    onvif_port: int = 8000
    username: str = "admin"
    password: str = "admin"
    manufacturer: str = "VPSim"
    model: str = "SIM-2000"
    serial: str = ""
    firmware: str = "1.0.0"
    codec: str = "h264"  # "h264" or "h265"
    main: StreamSpec = field(default_factory=lambda: StreamSpec(1280, 720, 15, 2000))
    sub: StreamSpec = field(default_factory=lambda: StreamSpec(640, 360, 10, 400))
    scene: str = "procedural"  # "procedural" or a path to a video file
    clock_offset_s: float = 0.0
    fault: str = "none"
    fault_params: dict[str, Any] = field(default_factory=dict)
    fault_since: float = field(default_factory=time.monotonic)
    # A PTZ camera's head (None: a fixed camera).
    ptz: PtzHead | None = None
    # When what it films last changed (fault or PTZ move): its streams switch loops then.
    picture_since: float = field(default_factory=time.monotonic)
    # Called after every change of fault (from any thread): servers that act on a fault (a
    # listener closed while refusing) wait for a change instead of polling the camera, which
    # cost a 5,000-camera simulator a quarter of a core doing nothing.
    fault_listeners: list[Callable[[], None]] = field(
        default_factory=list, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.code = self.code or f"cam{self.index:03d}"
        self.host = self.host or camera_address(self.index)
        self.serial = self.serial or f"SIM{self.index:08d}"

    def set_fault(self, fault: str, **params: Any) -> None:
        """Switch the camera into `fault` ("none" clears); raises ValueError for unknown faults."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULTS)}")
        self.fault, self.fault_params, self.fault_since = fault, dict(params), time.monotonic()
        self.picture_since = self.fault_since
        for listener in list(self.fault_listeners):
            listener()

    def picture_moved(self) -> None:
        """Its PTZ head moved: the streams switch to the new view's pictures."""
        self.picture_since = time.monotonic()

    @property
    def view(self) -> Position:
        """Where it looks: the PTZ position, or the one view of a fixed camera."""
        return self.ptz.position if self.ptz is not None else HOME_VIEW

    def device_clock(self) -> float:
        """The camera's own idea of the current UTC time (epoch seconds)."""
        drift = self.fault_params.get("offset_s", 7200.0) if self.fault == "clock_drift" else 0.0
        return time.time() + self.clock_offset_s + drift

    @property
    def effective_serial(self) -> str:
        return self.serial + "-R" if self.fault == "device_replaced" else self.serial

    @property
    def effective_firmware(self) -> str:
        return self.firmware + ".1" if self.fault == "firmware_changed" else self.firmware
