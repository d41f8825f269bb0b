"""The tiers of checks in one table: which probes each runs, which conditions each can see, its
time-out; and the rules that turn a tier's probe results into one `TierResult`.

Which conditions a probe can see comes from the table of conditions (`conditions.observed_by`);
each tier's `blind` set says what it leaves to other tiers. A condition clears only in a check
that could have seen it (`observed`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vp_monitor import conditions

if TYPE_CHECKING:  # at run time only duck-typed: settings import this table without numpy
    from vp_monitor.probes.base import ProbeResult


@dataclass(frozen=True)
class Sight:
    """What a probe can see: `always` whatever its outcome, `when_ok` only when it succeeded."""

    always: frozenset[str]
    when_ok: frozenset[str] = frozenset()

    def all(self) -> frozenset[str]:
        """Every condition this probe can see."""
        return self.always | self.when_ok


def _sight(probe: str) -> Sight:
    # A probe that failed could not read the device facts or measure the stream, so those stay
    # as they were; one that reached the camera can say whether it is reachable and accepts us.
    always = conditions.observed_by(probe, answered=False)
    when_ok = conditions.observed_by(probe, answered=True) - always - PICTURE_SEES
    return Sight(always, when_ok)


# What the frame analysis sees, when the stream probe decoded a picture.
PICTURE_SEES = conditions.names(vision=True)
PROBE_SIGHTS: dict[str, Sight] = {
    probe: _sight(probe) for probe in ("onvif", "clock", "rtsp", "stream", "ptz")
}
# What a picture analysed without a reference cannot judge (a PTZ away from its presets).
NEEDS_REFERENCE = conditions.names(needs_reference=True)
# Conditions that mean "no usable video": the camera is down, not merely degraded.
DOWN_CONDITIONS = conditions.names(down=True)
# The probes talking ONVIF: the full read and the clock read alone.
ONVIF_PROBES = ("onvif", "clock")
# An ONVIF failure on a camera whose video works is not an outage: it is onvif_error.
ONVIF_OUTAGE = DOWN_CONDITIONS & frozenset().union(
    *(conditions.observed_by(probe, answered=False) for probe in ONVIF_PROBES)
)
# What only the full ONVIF read can show gone (identity, profiles, credentials, its errors):
# while one of these is open on a camera, its cheap checks read the whole device again, or
# the daily inventory alone could clear it.
FULL_READ_SEES = conditions.observed_by("onvif") - conditions.observed_by("clock")
# An RTSP failure of a camera whose ONVIF still answers suggests the device changed (replaced,
# reconfigured, new stream URLs): the full read then looks at what it announces.
CHANGE_SUSPECTED = conditions.observed_by("rtsp") - conditions.observed_by("clock")


@dataclass(frozen=True)
class Tier:
    """One kind of check: its probes (ONVIF first: it may announce the stream URLs; `clock`
    is replaced by the full `onvif` read when a change is suspected, see `full_read_first` and
    `full_read_after`), its
    default deadline, what a check abandoned at it means, where in its interval it runs,
    whether it judges the camera, the probe whose success means the video works (None: this
    tier cannot tell), what it leaves to other tiers (`blind`)."""

    name: str
    probes: tuple[str, ...]
    timeout_s: float
    # What a check abandoned at its deadline is taken to mean.
    overrun: str
    # Where in its interval a camera's check of this tier falls (spreads tiers apart).
    phase: float
    # A camera is `ok` only once every judging tier has run on it.
    judging: bool
    video_by: str | None = None
    analyses_picture: bool = False
    needs_onvif: bool = False
    blind: frozenset[str] = frozenset()
    # Its history row keeps the probes' full answers even when nothing is wrong.
    records_device: bool = False

    @property
    def plays_stream(self) -> bool:
        """Whether its checks play a stream: what loads a site's uplink (its stream slots)."""
        return "stream" in self.probes

    def sees(self) -> frozenset[str]:
        """Every condition a check of this tier can see (when all its probes succeed)."""
        seen = frozenset().union(*(PROBE_SIGHTS[probe].all() for probe in self.probes))
        return (seen | (PICTURE_SEES if self.analyses_picture else frozenset())) - self.blind


TIERS: dict[str, Tier] = {
    # Is the camera there? ONVIF clock (unauthenticated), RTSP DESCRIBE of both streams.
    "reachability": Tier(
        "reachability", ("clock", "rtsp"), 20.0, "unreachable", 0.0, judging=True, video_by="rtsp"
    ),  # fmt: skip
    # Full check (also `vp-monitor check`): the stream played, its picture decoded and analysed
    # (for a PTZ camera, against the reference of the preset it sits at: `ptz`, PTZ cameras only).
    "stream": Tier(
        "stream",
        ("clock", "rtsp", "stream", "ptz"),
        45.0,
        "no_video",
        1 / 3,
        judging=True,
        video_by="stream",
        analyses_picture=True,
    ),  # fmt: skip
    # The full ONVIF read (identity, firmware, profiles, stream URIs) once a day; reachability
    # is the reachability tier's to judge. It does not judge: waiting for it would leave a new
    # camera unknown for up to a day. Its history row keeps what the device said (`records`).
    "inventory": Tier(
        "inventory",
        ("onvif",),
        20.0,
        "onvif_error",
        2 / 3,
        judging=False,
        needs_onvif=True,
        blind=frozenset({"unreachable"}),
        records_device=True,
    ),  # fmt: skip
}
# What a check abandoned at its deadline is taken to mean, per tier.
OVERRUN = {name: tier.overrun for name, tier in TIERS.items()}
# A camera is `ok` only once every one of these has judged it.
# Metric of a check that analysed a picture: 1 when its reference is a provisional one.
PROVISIONAL_METRIC = "reference_provisional"
JUDGING_TIERS = frozenset(name for name, tier in TIERS.items() if tier.judging)


def probe_observed(kind: str, result: ProbeResult) -> frozenset[str]:
    """The conditions this probe result could have shown (its own always among them)."""
    sight = PROBE_SIGHTS[kind]
    return sight.always | (sight.when_ok if result.ok else frozenset()) | result.conditions


def tier_observed(tier: Tier, probes: dict[str, ProbeResult], has_picture: bool) -> frozenset[str]:
    """The conditions a check of `tier` could have shown, given its probes' results: only those
    may clear."""
    seen = frozenset().union(*(result.observed for result in probes.values()))
    return (seen | (PICTURE_SEES if has_picture else frozenset())) - tier.blind


def tier_conditions(
    tier: Tier, probes: dict[str, ProbeResult], video_ok: bool | None
) -> frozenset[str]:
    """Every probe's conditions; an ONVIF outage on a camera whose video works is onvif_error."""
    conditions: set[str] = set()
    for name, result in probes.items():
        found = set(result.conditions)
        if name in ONVIF_PROBES and video_ok and found & ONVIF_OUTAGE:
            found = (found - ONVIF_OUTAGE) | {"onvif_error"}
        conditions |= found
    return frozenset(conditions) - tier.blind


def full_read_first(target: Any) -> bool:
    """Whether a cheap check should read the whole device instead of its clock: no stream URL
    is registered (ONVIF announces them), or a condition only that read can clear is open."""
    if not target.onvif_host:
        return False
    return not (target.rtsp_main or target.rtsp_sub) or bool(
        target.open_conditions & FULL_READ_SEES
    )


def full_read_after(probes: dict[str, ProbeResult]) -> bool:
    """Whether the cheap probes' results suggest the device changed: its ONVIF clock answered
    but RTSP failed otherwise than by silence, or announces another stream."""
    clock, rtsp = probes.get("clock"), probes.get("rtsp")
    if clock is None or rtsp is None or "unreachable" in clock.conditions:
        return False
    return bool(rtsp.conditions & CHANGE_SUSPECTED)


def camera_state(conditions: set[str] | frozenset[str], has_video: bool) -> str:
    """down when there is no usable video, degraded for any other condition, else ok."""
    if conditions & DOWN_CONDITIONS and not has_video:
        return "down"
    return "degraded" if conditions else "ok"


@dataclass(frozen=True)
class TierResult:
    """What one check of one tier saw, as plain data (the runner's output, the evaluator's input,
    what `vp-monitor check` prints).

    `observed` names the conditions this check could have seen: only those can open or clear.
    `video_ok` is whether the camera delivered usable video (None: this tier cannot tell).
    `probes` are the probes' own results (without their frames), `analysis` the picture's metrics.
    `period` is the kind of reference its picture is judged by: day, or night for a monochrome
    (infrared) one; None when no picture was analysed.
    """

    tier: str
    conditions: frozenset[str]
    observed: frozenset[str]
    video_ok: bool | None
    metrics: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    evidence_jpeg: bytes | None = field(default=None, repr=False)
    evidence_size: tuple[int, int] | None = None  # its width and height, without decoding it
    thumbnail_jpeg: bytes | None = field(default=None, repr=False)  # the wall's tile picture
    clock_offset_s: float | None = None
    overran: bool = False
    camera: str = ""
    probes: dict[str, ProbeResult] = field(default_factory=dict, repr=False, compare=False)
    analysis: dict[str, float] = field(default_factory=dict)
    period: str | None = None

    @property
    def state(self) -> str:
        """This check's own verdict on the camera (no hysteresis: that is the evaluator's)."""
        return camera_state(self.conditions, bool(self.video_ok))

    def to_json(self) -> dict[str, Any]:
        """The `vp-monitor check --json` record."""
        probes = {name: result.to_json() for name, result in self.probes.items()}
        if self.analysis:
            probes["vision"] = {"metrics": {k: round(v, 4) for k, v in self.analysis.items()}}
        return {"camera": self.camera, "state": self.state, "conditions": sorted(self.conditions),
                "probes": probes}  # fmt: skip


def mark_reference(result: TierResult, provisional: Collection[str]) -> TierResult:
    """The result with `reference_provisional` among its metrics when it analysed a picture:
    1 when the reference it was judged by is provisional (`provisional` names those kinds,
    day or night), so its findings, and the incidents they open, say so."""
    if result.period is None:
        return result
    mark = {PROVISIONAL_METRIC: float(result.period in provisional)}
    return replace(result, metrics=result.metrics | mark, analysis=result.analysis | mark)


def overrun_result(tier: str, timeout_s: float) -> TierResult:
    """What a check abandoned at its deadline means: the camera did not answer in time."""
    condition = OVERRUN[tier]
    return TierResult(
        tier, frozenset({condition}), frozenset({condition}),
        None if TIERS[tier].video_by is None else False, duration_s=timeout_s,
        detail={"error": f"check abandoned after {timeout_s:g} s"}, overran=True,
    )  # fmt: skip


def error_result(tier: str, exc: BaseException) -> TierResult:
    """A bug in a check costs that check only: recorded, judged as nothing seen."""
    return TierResult(tier, frozenset(), frozenset(), None,
                      detail={"error": f"check failed: {type(exc).__name__}"})  # fmt: skip
