"""Planner: one schedule row per camera and tier; due rows are claimed in batches under a lease.

Several `vp-monitor serve` nodes can share one PostgreSQL database: each claims due rows with
`SELECT ... FOR UPDATE SKIP LOCKED`, so two nodes never take the same row, and a node that dies
only loses its leases, which expire. SQLite serves one process, so a plain SELECT is enough.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, delete, or_, select, update
from sqlalchemy.orm import Session

from vp_monitor.db import UTCDateTime, insert_ignoring_duplicates, utcnow
from vp_monitor.monitor.models import CheckSchedule
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.tiers import TIERS
from vp_monitor.registry.models import SCHEDULED_LIFECYCLES, Camera, Site

GOLDEN = 0.6180339887498949
# A different phase per tier so a camera's three tiers do not start in the same second.
TIER_PHASE = {name: tier.phase for name, tier in TIERS.items()}
CHUNK = 5_000  # rows per bulk statement: stays far below any driver's parameter limit


@dataclass(frozen=True)
class Claim:
    """One check this node holds the lease of, until `lease_expires_at`."""

    schedule_id: int
    camera_id: int
    site_id: int
    tier: str
    interval_s: float
    owner: str
    claimed_at: datetime
    lease_expires_at: datetime
    due_at: datetime | None = None  # when it was due before the claim moved it on


@dataclass(frozen=True)
class Done:
    """A finished check whose lease `finish_all` gives back.

    `overran`: it ran past its deadline (counted). `retry_s`: run it again that soon, unless it
    is due sooner anyway.
    """

    claim: Claim
    overran: bool = False
    retry_s: float | None = None


@dataclass(frozen=True)
class ScheduleChange:
    """What `ensure_schedule` did."""

    added: int = 0
    removed: int = 0
    updated: int = 0


def first_due_fraction(camera_id: int, tier: str) -> float:
    """Where in its first interval a camera's check falls (0..1), evenly spread over the fleet.

    The golden-ratio sequence spreads any run of ids evenly (no clumps, unlike random offsets)
    and gives the same answer after a restart.
    """
    return (camera_id * GOLDEN + TIER_PHASE.get(tier, 0.0)) % 1.0


def ensure_schedule(
    session: Session, settings: MonitorSettings, now: datetime | None = None
) -> ScheduleChange:
    """Schedule every active/maintenance camera on every tier; unschedule the others."""
    now = now or utcnow()
    cameras = session.execute(
        select(Camera.id, Camera.code, Camera.lifecycle, Site.name).join(Site)
    ).all()
    wanted: dict[tuple[int, str], float] = {}
    for camera_id, code, lifecycle, site_name in cameras:
        if lifecycle in SCHEDULED_LIFECYCLES:
            for tier, interval in settings.intervals_for(code, site_name).items():
                wanted[(camera_id, tier)] = interval
    existing = {
        (row.camera_id, row.tier): (row.id, row.interval_s)
        for row in session.execute(
            select(
                CheckSchedule.id,
                CheckSchedule.camera_id,
                CheckSchedule.tier,
                CheckSchedule.interval_s,
            )  # fmt: skip
        )
    }
    stale = [row_id for key, (row_id, _) in existing.items() if key not in wanted]
    new = [
        {"camera_id": camera_id, "tier": tier, "interval_s": interval, "overruns": 0,
         "next_due_at": now + timedelta(seconds=interval * first_due_fraction(camera_id, tier))}
        for (camera_id, tier), interval in wanted.items()
        if (camera_id, tier) not in existing
    ]  # fmt: skip
    changed = [
        {"id": existing[key][0], "interval_s": interval,
         "next_due_at": now + timedelta(seconds=interval * first_due_fraction(*key))}
        for key, interval in wanted.items()
        if key in existing and existing[key][1] != interval
    ]  # fmt: skip
    for start in range(0, len(stale), CHUNK):
        session.execute(
            delete(CheckSchedule).where(CheckSchedule.id.in_(stale[start : start + CHUNK]))
        )
    for start in range(0, len(new), CHUNK):
        session.execute(
            insert_ignoring_duplicates(session, CheckSchedule), new[start : start + CHUNK]
        )
    if changed:
        session.execute(update(CheckSchedule), changed)
    return ScheduleChange(len(new), len(stale), len(changed))


def claim_due(
    session: Session,
    owner: str,
    now: datetime,
    limit: int,
    *,
    lease_s: float = 120.0,
    jitter: float = 0.1,
    never_run: bool = False,
    rng: random.Random | None = None,
    tiers: Collection[str] | None = None,
) -> list[Claim]:
    """Lease up to `limit` due checks (oldest first) to `owner`; move each to its next due time.

    `never_run` also takes rows that never ran, due or not (for `serve --once`); `tiers`, if
    given, limits the claim to checks of those tiers.
    """
    rng = rng or random
    due = CheckSchedule.next_due_at <= now
    if never_run:
        due = or_(due, CheckSchedule.last_started_at.is_(None))
    free = or_(CheckSchedule.lease_owner.is_(None), CheckSchedule.lease_expires_at < now)
    if tiers is not None:
        free = and_(free, CheckSchedule.tier.in_(tuple(tiers)))
    query = (
        select(
            CheckSchedule.id,
            CheckSchedule.camera_id,
            Camera.site_id,
            CheckSchedule.tier,
            CheckSchedule.interval_s,
            CheckSchedule.next_due_at,
        )  # fmt: skip
        .join(Camera, Camera.id == CheckSchedule.camera_id)
        .where(and_(due, free))
        .order_by(CheckSchedule.next_due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another node is claiming right now are skipped, not waited for.
        query = query.with_for_update(skip_locked=True, of=CheckSchedule)
    rows = session.execute(query).all()
    if not rows:
        return []
    expires = now + timedelta(seconds=lease_s)
    claims, changes = [], []
    for schedule_id, camera_id, site_id, tier, interval, due_at in rows:
        claims.append(
            Claim(schedule_id, camera_id, site_id, tier, interval, owner, now, expires, due_at)
        )
        step = interval * (1.0 + rng.uniform(-jitter, jitter))
        changes.append({"id": schedule_id, "lease_owner": owner, "lease_expires_at": expires,
                        "last_started_at": now,
                        "next_due_at": now + timedelta(seconds=step)})  # fmt: skip
    session.execute(update(CheckSchedule), changes)
    return claims


def finish(
    session: Session,
    claim: Claim,
    now: datetime | None = None,
    overran: bool = False,
    retry_s: float | None = None,
) -> bool:
    """Release the lease of a done check (counting an overrun); False if the lease was lost.

    `retry_s`: run this check again that soon, unless it is due sooner anyway.
    """
    return finish_all(session, [Done(claim, overran, retry_s)], now) == 1


def finish_all(session: Session, done: list[Done], now: datetime | None = None) -> int:
    """Release the leases of done checks in one statement; how many were still ours.

    A lease another node took over (ours expired) is not touched: that node's run owns it now.
    """
    if not done:
        return 0
    now = now or utcnow()
    rows = [
        {"schedule_id": d.claim.schedule_id, "owner": d.claim.owner, "finished_at": now,
         "overran": int(d.overran),
         "retry_at": None if d.retry_s is None else now + timedelta(seconds=d.retry_s)}
        for d in done
    ]  # fmt: skip
    return session.execute(_FINISH, rows).rowcount


def _finish_statement():
    table = CheckSchedule.__table__  # a Core statement: one executemany, no ORM bulk mode
    retry_at = bindparam("retry_at", type_=UTCDateTime)
    return (
        update(table)
        .where(table.c.id == bindparam("schedule_id"), table.c.lease_owner == bindparam("owner"))
        .values(
            lease_owner=None, lease_expires_at=None,
            last_finished_at=bindparam("finished_at", type_=UTCDateTime),
            overruns=table.c.overruns + bindparam("overran"),
            # No retry: retry_at is NULL, the comparison is not true, next_due_at stays.
            next_due_at=case((table.c.next_due_at > retry_at, retry_at),
                             else_=table.c.next_due_at),
        )
    )  # fmt: skip


_FINISH = _finish_statement()  # built once: finish runs for every check


def release_owner(session: Session, owner: str, now: datetime | None = None) -> int:
    """Give back every lease `owner` still holds (at shutdown): those checks are due at once."""
    result = session.execute(
        update(CheckSchedule)
        .where(CheckSchedule.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None, next_due_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def give_back(session: Session, claims: list[Claim]) -> int:
    """Give back the leases of checks that did not run (at shutdown), each due again when it
    was before its claim: the next node runs them first, in their order; how many were ours."""
    table = CheckSchedule.__table__
    rows = [
        {"schedule_id": c.schedule_id, "owner": c.owner, "due_at": c.due_at or c.claimed_at}
        for c in claims
    ]
    if not rows:
        return 0
    statement = (
        update(table)
        .where(table.c.id == bindparam("schedule_id"), table.c.lease_owner == bindparam("owner"))
        .values(lease_owner=None, lease_expires_at=None,
                next_due_at=bindparam("due_at", type_=UTCDateTime))
    )  # fmt: skip
    return session.execute(statement, rows).rowcount
