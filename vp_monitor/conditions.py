"""The condition vocabulary in one table, with camera states and severities (the tiers of
checks are `probes/tiers.py`'s table, which reads this one).

Every other place derives from these tables: the evaluator's hysteresis families, what each
probe can judge, severity defaults, labels, availability, alert routing, the vision masks.
Adding a condition is adding one row here (plus the probe or check that raises it).
This module imports nothing from the project: every stage may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Severity = Literal["critical", "major", "minor"]
# Worst first.
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_RANK: dict[str, int] = {name: len(SEVERITIES) - 1 - i for i, name in enumerate(SEVERITIES)}

# How the evaluator confirms and clears a condition (monitor.settings names the counts):
#   outage    no usable video: opened after `down_after` failed checks, cleared after
#             `recover_after` (a camera failing for alternating reasons still goes down);
#   device    a fact about the device, not a glitch: opened on first sight;
#   quality   picture, stream or ONVIF quality: opened after `image_confirmations`;
#   alerting  raised by alerting itself (flapping, correlation), never by a probe.
Family = Literal["outage", "device", "quality", "alerting"]
# The probes of `probes.runner.PROBES` that can judge a camera condition. `clock` is the
# unauthenticated ONVIF clock read alone; `onvif` the full read (clock, identity, profiles);
# `ptz` the position of a PTZ camera (ONVIF PTZ service).
Probe = Literal["onvif", "clock", "rtsp", "stream", "ptz"]


@dataclass(frozen=True)
class Condition:
    """One condition: how it is confirmed, who sees it, how bad it is, what people read."""

    name: str
    family: Family
    severity: Severity
    fr: str
    en: str
    # Probes whose run can show it, or show it is gone (only those may clear it).
    observed_by: frozenset[Probe] = frozenset()
    # Judged only when the probe got an answer (for `stream`: a decoded picture).
    needs_answer: bool = False
    # Found on the stream probe's picture by vision.analyze (not by the probe itself).
    vision: bool = False
    # No usable video: the camera is `down`, and recovering takes `recover_after` checks.
    down: bool = False
    # A camera degraded only by such conditions still has a usable picture (available).
    picture_usable: bool = False
    # The network may not reach the camera: an uplink or site outage may explain it.
    network: bool = False
    # Follow-on conditions dropped when this one is found on the same frame (vision.MASKS).
    masks: frozenset[str] = frozenset()
    # Opened only once seen for this long without a break: the name of a [monitor] setting
    # (seconds). A state a camera may be in for a while by design, e.g. a PTZ off home.
    held_for: str | None = None
    # Judged only against a reference picture: a check without one can neither see nor clear it.
    needs_reference: bool = False
    # The measures that show it, as people read them beside it (texts.METRICS names them).
    explained_by: tuple[str, ...] = ()


def _probes(*names: Probe) -> frozenset[Probe]:
    return frozenset(names)


ONVIF, CLOCK, RTSP, STREAM = _probes("onvif"), _probes("clock"), _probes("rtsp"), _probes("stream")
PTZ = _probes("ptz")

# Name -> row. In priority order where it matters: a condition masks others only if it was not
# masked itself. Other modules derive their sets from this table when they are imported.
CONDITIONS: dict[str, Condition] = {condition.name: condition for condition in (
    Condition("unreachable", "outage", "critical", "caméra injoignable", "camera unreachable",
              ONVIF | CLOCK | RTSP | STREAM, down=True, network=True),
    Condition("auth_failed", "device", "major", "authentification refusée",
              "authentication failed", ONVIF | RTSP | STREAM, down=True),
    Condition("onvif_error", "quality", "major", "erreur ONVIF", "ONVIF error", ONVIF,
              picture_usable=True),
    Condition("rtsp_error", "outage", "major", "erreur de flux RTSP", "RTSP stream error",
              RTSP | STREAM, down=True),
    Condition("no_video", "outage", "critical", "pas de vidéo", "no video", STREAM,
              down=True, explained_by=("stream_frames", "stream_first_keyframe_s")),
    Condition("black", "quality", "major", "image noire", "black image", STREAM,
              needs_answer=True, vision=True,
              masks=frozenset({"covered", "blurred", "frozen", "moved", "underexposed"}),
              explained_by=("mean_luma", "contrast", "luma_ratio")),
    Condition("frozen", "quality", "major", "image figée", "frozen image", STREAM,
              needs_answer=True, vision=True, explained_by=("frame_diff", "noise_diff_ratio")),
    Condition("blurred", "quality", "major", "image floue", "blurred image", STREAM,
              needs_answer=True, vision=True, explained_by=("sharpness_ratio", "sharpness")),
    Condition("covered", "quality", "critical", "caméra masquée", "lens covered", STREAM,
              needs_answer=True, vision=True,
              masks=frozenset({"blurred", "frozen", "moved", "underexposed", "overexposed"}),
              explained_by=("covered_fraction", "flat_fraction")),
    Condition("moved", "quality", "critical", "caméra déplacée", "camera moved", STREAM,
              needs_answer=True, vision=True, needs_reference=True,
              explained_by=("displacement_pct", "rotation_deg", "in_place_share")),
    Condition("overexposed", "quality", "minor", "image surexposée", "overexposed image",
              STREAM, needs_answer=True, vision=True,
              explained_by=("bright_fraction", "luma_ratio")),
    Condition("underexposed", "quality", "minor", "image sous-exposée", "underexposed image",
              STREAM, needs_answer=True, vision=True, held_for="underexposed_after_s",
              explained_by=("dark_fraction", "luma_ratio")),
    Condition("low_fps", "quality", "minor", "débit d'images trop faible", "low frame rate",
              STREAM, needs_answer=True, picture_usable=True, explained_by=("stream_fps",)),
    Condition("packet_loss", "quality", "minor", "pertes de paquets", "packet loss", STREAM,
              needs_answer=True, picture_usable=True,
              explained_by=("stream_packet_loss", "stream_packets")),
    Condition("clock_drift", "device", "minor", "horloge décalée", "clock drift", ONVIF | CLOCK,
              needs_answer=True, picture_usable=True,
              explained_by=("clock_offset_s", "onvif_clock_offset_s")),
    Condition("device_replaced", "device", "critical", "équipement remplacé", "device replaced",
              ONVIF, needs_answer=True, picture_usable=True),
    Condition("firmware_changed", "device", "minor", "micrologiciel modifié", "firmware changed",
              ONVIF, needs_answer=True, picture_usable=True),
    Condition("config_mismatch", "device", "minor", "configuration non conforme",
              "configuration mismatch", ONVIF | RTSP, needs_answer=True, picture_usable=True),
    Condition("ptz_not_home", "quality", "minor", "caméra PTZ hors de sa position de repos",
              "PTZ camera away from home", PTZ, needs_answer=True, picture_usable=True,
              held_for="ptz_home_after_s", explained_by=("ptz_at_home", "ptz_at_preset")),
    Condition("flapping", "alerting", "major", "état instable (bascules répétées)", "flapping"),
    Condition("site_down", "alerting", "critical", "site entier hors service", "whole site down",
              network=True),
    Condition("monitor_isolated", "alerting", "critical", "supervision isolée du réseau",
              "monitor cut off from the network"),
)}  # fmt: skip


def names(**columns: object) -> frozenset[str]:
    """Names of the conditions whose columns have these values, e.g. names(family="device")."""
    return frozenset(
        condition.name
        for condition in CONDITIONS.values()
        if all(getattr(condition, column) == value for column, value in columns.items())
    )


def observed_by(probe: str, answered: bool = True) -> frozenset[str]:
    """The conditions one probe's run can judge; `answered`: it got an answer (a picture)."""
    return frozenset(
        condition.name
        for condition in CONDITIONS.values()
        if probe in condition.observed_by and (answered or not condition.needs_answer)
    )


def masks() -> tuple[tuple[str, frozenset[str]], ...]:
    """Each masking condition with what it masks, in table order (vision.MASKS)."""
    return tuple((c.name, c.masks) for c in CONDITIONS.values() if c.masks)


StateName = Literal["unknown", "ok", "degraded", "down", "maintenance", "decommissioned"]


@dataclass(frozen=True)
class CameraState:
    """One camera state (DESIGN.md contract) and what people read."""

    name: StateName
    fr: str
    en: str


# Same names and order as StateName (a test keeps them in step).
CAMERA_STATES: tuple[CameraState, ...] = (
    CameraState("unknown", "en cours de vérification", "being checked"),
    CameraState("ok", "en service", "ok"),
    CameraState("degraded", "dégradée", "degraded"),  # image or stream quality
    CameraState("down", "hors service", "down"),  # no usable video
    CameraState("maintenance", "en maintenance", "under maintenance"),
    CameraState("decommissioned", "retirée du service", "decommissioned"),
)
STATE_NAMES: tuple[StateName, ...] = get_args(StateName)
