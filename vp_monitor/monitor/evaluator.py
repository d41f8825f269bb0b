"""Evaluator: what one check's result means for a camera, with hysteresis and flapping.

A condition is opened after enough consecutive checks saw it and cleared after enough
consecutive checks that could have seen it did not. A check only moves the conditions it can
judge (its `observed` set): a reachability check says nothing about a black picture, and a
stream check without a decoded frame says nothing about blur. So a camera is `ok` only once
each tier that judges it (JUDGING_TIERS) has run; until then, problems aside, it is `unknown`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vp_monitor import conditions
from vp_monitor.db import insert_ignoring_duplicates, utcnow
from vp_monitor.monitor.availability import classify
from vp_monitor.monitor.events import CameraChange
from vp_monitor.monitor.models import CameraStatus, CheckRecord
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.tiers import JUDGING_TIERS, TIERS, TierResult  # defined with the tiers
from vp_monitor.registry.models import Camera, Lifecycle, MaintenanceScope, MaintenanceWindow

# The families of the condition table (vp_monitor/conditions.py says how each is confirmed).
NO_VIDEO = conditions.names(family="outage")
DEVICE = conditions.names(family="device")
QUALITY = conditions.names(family="quality")
DOWN = conditions.names(down=True)  # DESIGN.md: `down` = no usable video
ALL_CONDITIONS = NO_VIDEO | DEVICE | QUALITY
# Conditions opened after a time seen without a break: name -> the [monitor] setting (seconds).
HELD = {c.name: c.held_for for c in conditions.CONDITIONS.values() if c.held_for}
# The tiers a camera is `ok` by: is it there (reachability) and is its picture usable (stream).


def initial_status(camera_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Column values of a camera never checked yet: every counter at its start value."""
    return dict(
        camera_id=camera_id, state="unknown", conditions=[], since=now or utcnow(),
        consecutive_failures=0, consecutive_successes=0, pending={}, transitions=[],
        flapping=False, metrics={}, tiers_checked=[], held_since={},
    )  # fmt: skip


def new_status(camera_id: int, now: datetime | None = None) -> CameraStatus:
    """A status for a camera never checked yet (not added to any session)."""
    return CameraStatus(**initial_status(camera_id, now))


def _needed_to_open(condition: str, settings: MonitorSettings) -> int:
    if condition in NO_VIDEO:
        return settings.down_after
    return 1 if condition in DEVICE else settings.image_confirmations


def _needed_to_clear(condition: str, settings: MonitorSettings) -> int:
    return settings.recover_after if condition in DOWN else 1


def confirm(
    confirmed: set[str],
    pending: dict[str, int],
    result: TierResult,
    failures: int,
    settings: MonitorSettings,
    held_since: dict[str, float] | None = None,
    now_s: float = 0.0,
) -> set[str]:
    """Confirmed conditions after this result; `pending` and `held_since` are updated in place.

    pending[c] > 0: consecutive checks that saw c; < 0: consecutive checks that did not see
    a confirmed c. `failures` (checks in a row without video) opens every no-video condition
    seen now, so a camera failing for alternating reasons still goes down. A HELD condition
    also waits until it has been seen since `held_since[c]` for its setting's seconds.
    """
    confirmed = set(confirmed)
    held_since = {} if held_since is None else held_since
    for condition in result.observed | result.conditions:
        count = pending.get(condition, 0)
        if condition in result.conditions:
            pending[condition] = count = max(count, 0) + 1
            enough = count >= _needed_to_open(condition, settings)
            if condition in NO_VIDEO and failures >= settings.down_after:
                enough = True
            if condition in HELD:
                since = held_since.setdefault(condition, now_s)
                enough = enough and now_s - since >= getattr(settings, HELD[condition])
            if enough:
                confirmed.add(condition)
            continue
        held_since.pop(condition, None)
        if condition in confirmed:
            pending[condition] = count = min(count, 0) - 1
            if -count >= _needed_to_clear(condition, settings):
                confirmed.discard(condition)
                pending.pop(condition, None)
        else:
            pending.pop(condition, None)
    return confirmed


def state_of(
    confirmed: set[str], pending: dict[str, int], previous: str, unchecked: bool = False
) -> str:
    """down for no usable video, degraded for any other condition, else ok (unknown until sure:
    `unchecked` says a judging tier has not run yet)."""
    if confirmed & DOWN:
        return "down"
    if confirmed:
        return "degraded"
    if unchecked:
        return "unknown"  # e.g. reachable, but the picture not looked at yet
    if previous == "unknown" and any(count > 0 for count in pending.values()):
        return "unknown"  # a first failure not yet confirmed: too early to say ok
    return "ok"


def flapping_after(transitions: list[float], was_flapping: bool, settings: MonitorSettings) -> bool:
    """Flapping above K transitions in the window; it stays until a whole window is quiet."""
    if len(transitions) > settings.flapping_transitions:
        return True
    return was_flapping and bool(transitions)


def step(
    status: CameraStatus,
    result: TierResult,
    settings: MonitorSettings,
    now: datetime,
    in_maintenance: bool = False,
) -> CameraChange:
    """Apply one result to a camera's status (in place) and say what changed."""
    previous_state = status.state or "unknown"
    before = set(status.conditions or [])
    pending = dict(status.pending or {})
    if result.video_ok is not None:
        failed = not result.video_ok
        status.consecutive_failures = (status.consecutive_failures or 0) + 1 if failed else 0
        status.consecutive_successes = 0 if failed else (status.consecutive_successes or 0) + 1
    held_since = dict(status.held_since or {})
    confirmed = confirm(before, pending, result, status.consecutive_failures or 0, settings,
                        held_since, now.timestamp())  # fmt: skip
    # A HELD condition waits for its time at the usual interval: an early retry would not help.
    confirming = bool(result.conditions - confirmed - HELD.keys()) or any(
        pending.get(condition, 0) < 0 for condition in confirmed
    )
    checked = set(status.tiers_checked or [])
    if result.observed:  # a check that crashed judged nothing
        checked.add(result.tier)
    if status.tiers_checked is None and previous_state != "unknown":
        checked |= JUDGING_TIERS  # judged before tiers were counted (an older database)
    state = state_of(confirmed, pending, previous_state, bool(JUDGING_TIERS - checked))
    if status.tiers_checked is None or checked != set(status.tiers_checked):
        status.tiers_checked = sorted(checked)
    epoch = now.timestamp()
    transitions = [t for t in status.transitions or [] if t > epoch - settings.flapping_window_s]
    if state != previous_state:
        status.since = now
        if previous_state != "unknown":  # the first verdict after start-up is not a flap
            transitions.append(epoch)
    status.flapping = flapping_after(transitions, bool(status.flapping), settings)
    status.state, status.conditions, status.pending = state, sorted(confirmed), pending
    if held_since or status.held_since:
        status.held_since = held_since
    status.transitions = transitions
    status.metrics = {**(status.metrics or {}), **finite(result.metrics)}
    status.last_check_at = now
    if result.clock_offset_s is not None:
        status.clock_offset_s = result.clock_offset_s
    return CameraChange(
        camera_id=status.camera_id, at=now, state=state, previous_state=previous_state,
        conditions=frozenset(confirmed), opened=frozenset(confirmed - before),
        cleared=frozenset(before - confirmed), flapping=status.flapping,
        in_maintenance=in_maintenance, confirming=confirming, metrics=finite(result.metrics),
        evidence_jpeg=result.evidence_jpeg,
    )  # fmt: skip


def finite(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics safe for JSON columns: finite numbers only, rounded."""
    out = {}
    for name, value in metrics.items():
        if isinstance(value, int | float) and math.isfinite(value):
            out[name] = round(float(value), 4)
    return out


def active_windows(session: Session, now: datetime) -> list[MaintenanceWindow]:
    """Maintenance windows open now (few at any time: loaded once per batch of results)."""
    query = select(MaintenanceWindow).where(
        MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now
    )
    return list(session.scalars(query))


def covers(window: MaintenanceWindow, camera: Camera) -> bool:
    """Whether the window applies to the camera: itself, its site or its municipality."""
    if window.scope == MaintenanceScope.CAMERA:
        return window.camera_id == camera.id
    if window.scope == MaintenanceScope.SITE:
        return window.site_id == camera.site_id
    return window.municipality_id == camera.municipality_id


def in_maintenance(
    session: Session,
    camera: Camera,
    now: datetime,
    windows: list[MaintenanceWindow] | None = None,
) -> bool:
    """Whether the camera is in maintenance: by lifecycle, or a window on it, its site or town."""
    if camera.lifecycle == Lifecycle.MAINTENANCE:
        return True
    windows = active_windows(session, now) if windows is None else windows
    return any(covers(window, camera) for window in windows)


def locked_status(session: Session, camera_id: int, now: datetime) -> CameraStatus:
    """The camera's status row, created if missing, locked until commit (PostgreSQL)."""
    return locked_statuses(session, [camera_id], now)[camera_id]


def locked_statuses(
    session: Session, camera_ids: list[int], now: datetime
) -> dict[int, CameraStatus]:
    """The cameras' status rows by camera id, created if missing, locked until commit.

    Rows are locked in camera id order, so writers locking overlapping batches cannot deadlock.
    Two writers finishing a new camera's first checks at once both see no row: the insert
    that skips an existing row, then the locking read, makes them apply their results in turn.
    """

    def lock(ids: list[int]) -> dict[int, CameraStatus]:
        query = (
            select(CameraStatus)
            .where(CameraStatus.camera_id.in_(ids))
            .order_by(CameraStatus.camera_id)
            .with_for_update()
            .execution_options(populate_existing=True)  # read again under the lock
        )
        return {status.camera_id: status for status in session.scalars(query)}

    ids = sorted(set(camera_ids))
    statuses = lock(ids)
    missing = [camera_id for camera_id in ids if camera_id not in statuses]
    if missing:
        rows = [initial_status(camera_id, now) for camera_id in missing]
        session.execute(insert_ignoring_duplicates(session, CameraStatus), rows)
        statuses.update(lock(missing))
    return statuses


def retire_decommissioned(session: Session, now: datetime) -> list[CameraChange]:
    """Show decommissioned cameras as such; the changes let the alert stage resolve what was
    still open about them (a retired camera must not stay "down" on the wall for ever)."""
    query = (
        select(CameraStatus)
        .join(Camera, Camera.id == CameraStatus.camera_id)
        .where(Camera.lifecycle == Lifecycle.DECOMMISSIONED, CameraStatus.state != "decommissioned")
        .with_for_update()
    )
    changes = []
    for status in session.scalars(query):
        before = frozenset(status.conditions or [])
        changes.append(
            CameraChange(camera_id=status.camera_id, at=now, state="decommissioned",
                         previous_state=status.state, conditions=frozenset(), cleared=before)
        )  # fmt: skip
        status.state, status.conditions, status.pending = "decommissioned", [], {}
        status.since = now
    return changes


def watched(camera: Camera | None) -> bool:
    """Whether results for this camera still count (not deleted, planned or retired)."""
    return camera is not None and camera.lifecycle not in (
        Lifecycle.PLANNED,
        Lifecycle.DECOMMISSIONED,
    )


def history_due(
    status: CameraStatus, result: TierResult, change: CameraChange, every_s: float
) -> bool:
    """Whether this check goes into the history, noting it in `status` if so.

    Yes when it saw something else than its tier's last history row (state, confirmed or seen
    conditions, maintenance), overran, or that row is `every_s` old: 10,000 cameras checked
    every minute would otherwise write 17 million rows a day, the same rows over and over.
    """
    key = [change.state, sorted(change.conditions), sorted(result.conditions),
           change.in_maintenance]  # fmt: skip
    recorded = dict(status.recorded or {})
    last = recorded.get(result.tier)
    epoch = change.at.timestamp()
    if last and last["key"] == key and epoch - last["at"] < every_s and not result.overran:
        return False
    recorded[result.tier] = {"at": epoch, "key": key}
    status.recorded = recorded
    return True


def history_row(result: TierResult, change: CameraChange) -> dict[str, Any]:
    """The CheckRecord columns of one evaluated result.

    A check that found nothing keeps its probes' figures but not what they read from the
    camera (profiles, stream URLs): the registry and the status hold that already; the daily
    inventory keeps it (the device's identity, firmware and profiles as read that day).
    """
    detail = dict(result.detail)
    tier = TIERS.get(result.tier)
    keep_answers = tier is not None and tier.records_device
    if not result.conditions and not keep_answers and isinstance(detail.get("probes"), dict):
        detail["probes"] = {
            name: {key: value for key, value in probe.items() if key != "detail"}
            if isinstance(probe, dict) else probe
            for name, probe in detail["probes"].items()
        }  # fmt: skip
    return dict(
        camera_id=change.camera_id, tier=result.tier, at=change.at, state=change.state,
        availability=classify(change.state, change.conditions),
        conditions=sorted(result.conditions), duration_s=round(result.duration_s, 3),
        detail={**detail, "confirmed": sorted(change.conditions),
                "in_maintenance": change.in_maintenance, "overran": result.overran},
    )  # fmt: skip


def evaluate(
    session: Session,
    camera_id: int,
    result: TierResult,
    settings: MonitorSettings,
    now: datetime | None = None,
    windows: list[MaintenanceWindow] | None = None,
) -> CameraChange | None:
    """Update the camera's status and history from one result; None if it is no longer watched.

    `windows` are the maintenance windows open now, when the caller loaded them already.
    """
    now = now or utcnow()
    camera = session.get(Camera, camera_id)
    if not watched(camera):
        return None  # retired while its check ran: the planner unschedules it
    status = locked_status(session, camera_id, now)
    change = step(status, result, settings, now, in_maintenance(session, camera, now, windows))
    if history_due(status, result, change, settings.history_every_s):
        session.add(CheckRecord(**history_row(result, change)))
    return change
