"""Availability of cameras over a period, from the check history.

Available means usable video: the camera is `ok`, or `degraded` only by conditions that leave
the picture usable (USABLE_DEGRADED: a low frame rate, some packet loss, a clock or firmware
that differs, ONVIF trouble while the video works). `down`, and `degraded` by a picture that
shows nothing useful (black, frozen, blurred, covered, moved, over- or underexposed, or any
other condition), are unavailable. Degraded time is counted in the available time and also
shown on its own.

Each check record holds the camera's confirmed state from then until the next record; time in
a maintenance window counts for neither side, nor does time whose state is not known, nor time
still to come (a period that reaches into the future ends at now).

Check history is kept `monitor.retention_days`; before it is deleted, an hourly job rolls
each whole UTC day up into one row per camera (`availability_day`, kept for years). A period
reads its whole days from those rows where they exist and the rest from the history: the same
sums as the history alone would give (a day's records never change once it has ended), for a
fraction of the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, case, func, insert, or_, select
from sqlalchemy.orm import Session

from vp_monitor import conditions
from vp_monitor.db import observed_until
from vp_monitor.monitor.models import (
    AvailabilityDay,
    AvailabilityRollup,
    CameraStatus,
    CheckRecord,
)

# Conditions that leave a degraded camera's picture usable: it still counts as available.
USABLE_DEGRADED = conditions.names(picture_usable=True)
# What a history row says about availability: up, degraded (usable), down (unusable), unknown.
UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
# Rows written before the `availability` column: read from the state, as then (degraded = up).
BY_STATE = {"ok": UP, "degraded": DEGRADED, "down": DOWN}
# How far before a period to look for the state in force at its start: a camera's history
# has a row at least every `monitor.history_every_s` (an hour at most) while it is checked; a
# camera silent longer is "unknown" until its next record.
LOOKBACK = timedelta(hours=2)
DAY = timedelta(days=1)
# Days rolled up per run of the hourly job: each run's transaction stays short (a day of
# 10,000 cameras is about a million records), and a backlog (a monitor back after a long stop,
# a database upgraded with its history) is caught up at a day an hour.
ROLL_UP_DAYS_PER_RUN = 1


def classify(state: str, conditions: Iterable[str]) -> str:
    """What a camera's state and confirmed conditions mean for availability (up, degraded,
    down or unknown): the one definition, written into each history row."""
    if state == "degraded":
        return DEGRADED if set(conditions) <= USABLE_DEGRADED else DOWN
    return BY_STATE.get(state, UNKNOWN)


@dataclass
class Availability:
    """Seconds a camera spent up, down, in maintenance and unknown within the period; `up_s`
    includes `degraded_s`, the time it was degraded with a usable picture."""

    camera_id: int
    up_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    unknown_s: float = 0.0
    degraded_s: float = 0.0

    @property
    def ratio(self) -> float | None:
        """Up time over up and down time; None when neither was observed."""
        observed = self.up_s + self.down_s
        return self.up_s / observed if observed else None

    def add(self, seconds: float, availability: str, in_maintenance: bool) -> None:
        """Count `seconds` spent in one availability class (see `classify`)."""
        if in_maintenance:
            self.maintenance_s += seconds
        elif availability in (UP, DEGRADED):
            self.up_s += seconds
            if availability == DEGRADED:
                self.degraded_s += seconds
        elif availability == DOWN:
            self.down_s += seconds
        else:
            self.unknown_s += seconds

    def merge(self, other: Availability) -> None:
        """Add the seconds of another part of the period."""
        for name in SECONDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


SECONDS = tuple(f.name for f in fields(Availability) if f.name.endswith("_s"))


def availability(
    session: Session,
    start: datetime,
    end: datetime,
    camera_ids: Iterable[int] | Select | None = None,
    now: datetime | None = None,
) -> dict[int, Availability]:
    """Availability of each camera with history between `start` and `end` (at most `now`);
    `camera_ids` (ids or a query of ids) narrows it, None is every camera.

    Whole UTC days already rolled up come from `availability_day`, the rest of the period
    from the check history (`from_history`).
    """
    end = observed_until(end, now)
    if end <= start:
        return {}  # the whole period is still to come
    if camera_ids is not None:
        camera_ids = _wanted(camera_ids)  # read by up to three queries: not a one-pass iterable
    rolled = session.execute(
        select(func.min(AvailabilityRollup.day), func.max(AvailabilityRollup.day))
    ).one()
    first = max(_day_start(rolled[0]), _next_day_start(start)) if rolled[0] else None
    last = min(_day_start(rolled[1]) + DAY, _day_start(end)) if rolled[1] else None
    if first is None or last is None or first >= last:
        return from_history(session, start, end, camera_ids)
    found = from_days(session, first.date(), last.date(), camera_ids)
    for part in (from_history(session, start, first, camera_ids),
                 from_history(session, last, end, camera_ids)):  # fmt: skip
        for camera_id, seconds in part.items():
            found.setdefault(camera_id, Availability(camera_id)).merge(seconds)
    return found


def from_history(
    session: Session,
    start: datetime,
    end: datetime,
    camera_ids: Iterable[int] | Select | None = None,
) -> dict[int, Availability]:
    """Availability between `start` and `end` from the check history alone.

    The database keeps only the records where a camera's availability or maintenance changed
    (a window function), so a day of 10,000 cameras checked every minute, 14 million records,
    comes back as a few thousand rows.
    """
    if end <= start:
        return {}
    maintenance = func.coalesce(CheckRecord.detail["in_maintenance"].as_boolean(), False)
    available = func.coalesce(
        CheckRecord.availability, case(BY_STATE, value=CheckRecord.state, else_=UNKNOWN)
    )
    order = {"partition_by": CheckRecord.camera_id, "order_by": (CheckRecord.at, CheckRecord.id)}
    marks = select(
        CheckRecord.camera_id,
        CheckRecord.at,
        available.label("availability"),
        maintenance.label("in_maintenance"),
        func.lag(available).over(**order).label("previous_availability"),
        func.lag(maintenance).over(**order).label("previous_maintenance"),
    ).where(CheckRecord.at >= start - LOOKBACK, CheckRecord.at < end)
    if camera_ids is not None:
        marks = marks.where(CheckRecord.camera_id.in_(_wanted(camera_ids)))
    marks = marks.subquery()
    changes = (
        select(marks.c.camera_id, marks.c.at, marks.c.availability, marks.c.in_maintenance)
        .where(
            or_(
                marks.c.previous_availability.is_(None),
                marks.c.previous_availability != marks.c.availability,
                marks.c.previous_maintenance != marks.c.in_maintenance,
            )
        )
        .order_by(marks.c.camera_id, marks.c.at)
    )
    history: dict[int, list[tuple[datetime, str, bool]]] = {}
    for camera_id, at, available, in_maintenance in session.execute(changes):
        # Changes before `start` only say which state was in force when the period began.
        history.setdefault(camera_id, []).append((max(at, start), available, bool(in_maintenance)))
    return accumulate(history, end)


def from_days(
    session: Session, first: date, until: date, camera_ids: Iterable[int] | Select | None = None
) -> dict[int, Availability]:
    """Availability summed over the rolled-up days `first` to `until` (excluded)."""
    columns = [getattr(AvailabilityDay, name) for name in SECONDS]
    query = (
        select(AvailabilityDay.camera_id, *(func.sum(c) for c in columns))
        .where(AvailabilityDay.day >= first, AvailabilityDay.day < until)
        .group_by(AvailabilityDay.camera_id)
    )
    if camera_ids is not None:
        query = query.where(AvailabilityDay.camera_id.in_(_wanted(camera_ids)))
    return {
        camera_id: Availability(camera_id, **dict(zip(SECONDS, sums, strict=True)))
        for camera_id, *sums in session.execute(query)
    }


def roll_up(session: Session, now: datetime) -> list[date]:
    """Roll up each whole UTC day not rolled up yet, oldest first, from the day after the last
    one rolled up (or the first day with history) to yesterday, at most ROLL_UP_DAYS_PER_RUN;
    the days rolled up."""
    last = session.scalar(select(func.max(AvailabilityRollup.day)))
    if last is not None:
        day = last + DAY
    else:
        oldest = session.scalar(select(func.min(CheckRecord.at)))
        if oldest is None:
            return []
        day = _as_utc(oldest).date()
    today = now.astimezone(UTC).date()
    done = []
    while day < today and len(done) < ROLL_UP_DAYS_PER_RUN:
        start = _day_start(day)
        found = from_history(session, start, start + DAY)
        rows = [
            {"camera_id": a.camera_id, "day": day, **{n: getattr(a, n) for n in SECONDS}}
            for a in found.values()
        ]
        if rows:
            session.execute(insert(AvailabilityDay), rows)
        session.add(AvailabilityRollup(day=day, cameras=len(rows), rolled_at=now))
        session.flush()
        done.append(day)
        day += DAY
    return done


def rolled_up_until(session: Session) -> datetime | None:
    """The end of the last day rolled up (history before it may be deleted), or None."""
    last = session.scalar(select(func.max(AvailabilityRollup.day)))
    return None if last is None else _day_start(last) + DAY


def _wanted(camera_ids: Iterable[int] | Select) -> Select | list[int]:
    return camera_ids if isinstance(camera_ids, Select) else list(camera_ids)


def _as_utc(value: datetime) -> datetime:
    """min() of a column comes back naive on SQLite (the type is not applied to it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day_start(day: date | datetime) -> datetime:
    """Midnight UTC starting `day` (a date, or the day a time falls in)."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date()
    return datetime.combine(day, time(), tzinfo=UTC)


def _next_day_start(at: datetime) -> datetime:
    """`at` if it is midnight UTC, else the next midnight UTC."""
    start = _day_start(at)
    return start if start == at else start + DAY


def accumulate(
    history: dict[int, list[tuple[datetime, str, bool]]], end: datetime
) -> dict[int, Availability]:
    """Seconds in each class per camera: each point (time, availability class, in maintenance),
    in time order, holds until the next one or `end`."""
    found = {}
    for camera_id, points in history.items():
        result = found[camera_id] = Availability(camera_id)
        ends = [at for at, _, _ in points[1:]] + [end]
        for (at, state, in_maintenance), until in zip(points, ends, strict=True):
            result.add((until - at).total_seconds(), state, in_maintenance)
    return found


class RecordedFleet:
    """The fleet as the monitor recorded it, for alerting's daily reports: what
    `alerts.reports.FleetRecord` asks, so that alerting never imports the monitor's tables."""

    def states(self, session: Session, camera_ids: Select) -> Counter[str]:
        """How many of these cameras are in each state (a camera never checked has no row)."""
        query = select(CameraStatus.state).where(CameraStatus.camera_id.in_(camera_ids))
        return Counter(session.scalars(query))

    def availability(
        self, session: Session, start: datetime, end: datetime, camera_ids: Select
    ) -> dict[int, Availability]:
        """Each camera's availability over the period (see `availability`)."""
        return availability(session, start, end, camera_ids)


RECORDED_FLEET = RecordedFleet()
