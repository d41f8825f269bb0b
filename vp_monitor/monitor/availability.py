"""Availability of cameras over a period, from the check history.

Each check record holds the camera's confirmed state from then until the next record; time in
a maintenance window counts for neither side, nor does time whose state is not known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from vp_monitor.monitor.models import CheckRecord

UP_STATES = frozenset({"ok", "degraded"})  # a degraded camera still films
DOWN_STATES = frozenset({"down"})


@dataclass
class Availability:
    """Seconds a camera spent up, down, in maintenance and unknown within the period."""

    camera_id: int
    up_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    unknown_s: float = 0.0

    @property
    def ratio(self) -> float | None:
        """Up time over up and down time; None when neither was observed."""
        observed = self.up_s + self.down_s
        return self.up_s / observed if observed else None

    def add(self, seconds: float, state: str, in_maintenance: bool) -> None:
        if in_maintenance:
            self.maintenance_s += seconds
        elif state in UP_STATES:
            self.up_s += seconds
        elif state in DOWN_STATES:
            self.down_s += seconds
        else:
            self.unknown_s += seconds


def availability(
    session: Session, start: datetime, end: datetime, camera_ids: Iterable[int] | None = None
) -> dict[int, Availability]:
    """Availability of each camera with history between `start` and `end`."""
    wanted = None if camera_ids is None else list(camera_ids)

    def only_wanted(query):
        return query if wanted is None else query.where(CheckRecord.camera_id.in_(wanted))

    # The state in force at `start`: each camera's last record before it.
    before = only_wanted(
        select(CheckRecord.camera_id, func.max(CheckRecord.at)).where(CheckRecord.at < start)
    ).group_by(CheckRecord.camera_id)
    columns = (CheckRecord.camera_id, CheckRecord.at, CheckRecord.state, CheckRecord.detail)
    opening = select(*columns).where(
        tuple_(CheckRecord.camera_id, CheckRecord.at).in_(before.subquery().select())
    )
    inside = only_wanted(
        select(*columns).where(CheckRecord.at >= start, CheckRecord.at < end)
    ).order_by(CheckRecord.camera_id, CheckRecord.at, CheckRecord.id)
    history: dict[int, list[tuple[datetime, str, bool]]] = {}
    for rows in (session.execute(opening), session.execute(inside)):
        for camera_id, at, state, detail in rows:
            in_maintenance = bool((detail or {}).get("in_maintenance"))
            history.setdefault(camera_id, []).append((max(at, start), state, in_maintenance))
    found = {}
    for camera_id, points in history.items():
        points.sort(key=lambda point: point[0])
        result = found[camera_id] = Availability(camera_id)
        ends = [at for at, _, _ in points[1:]] + [end]
        for (at, state, in_maintenance), until in zip(points, ends, strict=True):
            result.add((until - at).total_seconds(), state, in_maintenance)
    return found
