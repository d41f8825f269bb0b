"""Planner: schedule rows for the fleet, spread first due times, leases and their expiry."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.models import CheckSchedule
from vp_monitor.monitor.planner import (
    Done,
    claim_due,
    ensure_schedule,
    finish,
    finish_all,
    release_owner,
)
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.registry.models import Camera, Lifecycle, Municipality, Site

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
# Only the reachability tier falls due in the first minutes of these tests.
SETTINGS = MonitorSettings(
    jitter=0.1, lease_s=120, intervals={"stream": 100_000, "inventory": 100_000}
)


def add_fleet(factory, count: int, site_name: str = "Gare") -> list[int]:
    """`count` active cameras on one site; their ids."""
    with transaction(factory) as session:
        town = Municipality(insee="78646", name="Versailles", departement="78")
        site = Site(name=site_name, municipality=town)
        session.add_all([town, site])
        session.flush()
        rows = [{"code": f"CAM-{n:05d}", "site_id": site.id, "municipality_id": town.id,
                 "name": "", "kind": "fixed", "lifecycle": "active", "tags": [], "notes": ""}
                for n in range(count)]  # fmt: skip
        session.execute(insert(Camera), rows)
        return list(session.scalars(select(Camera.id).order_by(Camera.id)))


def schedule(factory, settings=SETTINGS, now=T0):
    with transaction(factory) as session:
        return ensure_schedule(session, settings, now)


def claim(factory, owner, now, limit=10_000):
    with transaction(factory) as session:
        return claim_due(session, owner, now, limit, lease_s=120, jitter=0.1,
                         rng=random.Random(1))  # fmt: skip


def test_first_due_times_are_spread_over_the_interval(engine):
    """1,000 new cameras: reachability checks spread over 60 s, at most 2x the mean per second."""
    factory = session_factory(engine)
    add_fleet(factory, 1000)
    change = schedule(factory)
    assert change.added == 3000
    with transaction(factory) as session:
        rows = session.execute(select(CheckSchedule.tier, CheckSchedule.next_due_at)).all()
    due = Counter(int((at - T0).total_seconds()) for tier, at in rows if tier == "reachability")
    assert min(due) >= 0 and max(due) < 60
    assert max(due.values()) <= 2 * 1000 / 60


def test_schedule_follows_lifecycle_and_overrides(engine):
    """Decommissioned cameras are unscheduled; an override by camera code wins over its site's."""
    factory = session_factory(engine)
    ids = add_fleet(factory, 3)
    settings = SETTINGS.model_copy(
        update={"overrides": MonitorSettings.model_validate(
            {"overrides": {"Gare": {"stream": 120}, "CAM-00001": {"stream": 30}}}).overrides}
    )  # fmt: skip
    schedule(factory, settings)
    with transaction(factory) as session:
        session.get(Camera, ids[2]).lifecycle = Lifecycle.DECOMMISSIONED
    change = schedule(factory, settings, T0 + timedelta(seconds=5))
    assert change.removed == 3 and change.added == 0
    with transaction(factory) as session:
        streams = dict(session.execute(select(CheckSchedule.camera_id, CheckSchedule.interval_s)
                                       .where(CheckSchedule.tier == "stream")).all())  # fmt: skip
    assert streams == {ids[0]: 120, ids[1]: 30}


def test_claim_leases_and_moves_the_next_due_time(engine):
    """A claimed row is leased and due again about one interval later; nobody else gets it."""
    factory = session_factory(engine)
    add_fleet(factory, 50)
    schedule(factory)
    now = T0 + timedelta(seconds=60)
    claims = claim(factory, "node-a", now)
    assert {c.tier for c in claims} == {"reachability"} and len(claims) == 50
    assert claim(factory, "node-b", now) == []
    with transaction(factory) as session:
        row = session.get(CheckSchedule, claims[0].schedule_id)
        assert row.lease_owner == "node-a" and row.lease_expires_at == now + timedelta(seconds=120)
        assert timedelta(seconds=54) <= row.next_due_at - now <= timedelta(seconds=66)


def test_finish_with_retry_brings_the_next_check_forward_never_back(engine):
    """A check that saw an unconfirmed fault is due again after retry_s, not a whole interval
    later; a retry later than the regular due time leaves that time alone."""
    factory = session_factory(engine)
    add_fleet(factory, 2)
    schedule(factory)
    now = T0 + timedelta(seconds=60)
    early, late = claim(factory, "node-a", now)
    with transaction(factory) as session:
        regular = session.get(CheckSchedule, late.schedule_id).next_due_at
        assert finish(session, early, now, retry_s=10)
        assert finish(session, late, now, retry_s=600)
    with transaction(factory) as session:
        assert session.get(CheckSchedule, early.schedule_id).next_due_at == now + timedelta(
            seconds=10
        )
        assert session.get(CheckSchedule, late.schedule_id).next_due_at == regular


def test_finish_all_releases_a_batch_in_one_go_but_not_a_lease_taken_over(engine):
    """finish_all() gives back a batch's leases with each one's overrun and retry; the lease of
    a check another node took over is left to that node, and is not counted."""
    factory = session_factory(engine)
    add_fleet(factory, 4)
    schedule(factory)
    now = T0 + timedelta(seconds=60)
    plain, overran, retried, lost = claim(factory, "node-a", now)
    with transaction(factory) as session:
        regular = {c.schedule_id: session.get(CheckSchedule, c.schedule_id).next_due_at
                   for c in (plain, overran, lost)}  # fmt: skip
        session.get(CheckSchedule, lost.schedule_id).lease_owner = "node-b"
    done = [Done(plain), Done(overran, overran=True), Done(retried, retry_s=10), Done(lost)]
    with transaction(factory) as session:
        assert finish_all(session, done, now) == 3
    with transaction(factory) as session:
        rows = {d.claim.schedule_id: session.get(CheckSchedule, d.claim.schedule_id) for d in done}
        assert all(rows[c.schedule_id].lease_owner is None for c in (plain, overran, retried))
        assert [rows[c.schedule_id].overruns for c in (plain, overran, retried)] == [0, 1, 0]
        assert rows[plain.schedule_id].next_due_at == regular[plain.schedule_id]
        assert rows[retried.schedule_id].next_due_at == now + timedelta(seconds=10)
        assert rows[lost.schedule_id].lease_owner == "node-b"
        assert rows[lost.schedule_id].last_finished_at is None
        assert rows[lost.schedule_id].next_due_at == regular[lost.schedule_id]


def test_claim_respects_the_limit_oldest_first(engine):
    """A batch takes the most overdue rows first."""
    factory = session_factory(engine)
    add_fleet(factory, 100)
    schedule(factory)
    claims = claim(factory, "node-a", T0 + timedelta(seconds=60), limit=10)
    with transaction(factory) as session:
        due = sorted(session.scalars(select(CheckSchedule.next_due_at)
                     .where(CheckSchedule.tier == "reachability",
                            CheckSchedule.lease_owner.is_(None))))  # fmt: skip
    assert len(claims) == 10 and due[0] >= T0 + timedelta(seconds=5)


def test_expired_lease_of_a_dead_node_is_claimed_again(engine):
    """A lease not released (node killed) blocks the row until it expires, then anyone takes it."""
    factory = session_factory(engine)
    add_fleet(factory, 5)
    schedule(factory)
    first = claim(factory, "node-dead", T0 + timedelta(seconds=60))
    assert claim(factory, "node-b", T0 + timedelta(seconds=130)) == []  # due, but still leased
    again = claim(factory, "node-b", T0 + timedelta(seconds=181))
    assert {c.schedule_id for c in again} == {c.schedule_id for c in first}


def test_finish_and_release_give_leases_back(engine):
    """finish() frees the lease and counts an overrun; a lease taken over is not touched; at
    shutdown release_owner() makes the checks still held due at once for the next node."""
    factory = session_factory(engine)
    add_fleet(factory, 2)
    schedule(factory)
    mine, lost = claim(factory, "node-a", T0 + timedelta(seconds=60))
    with transaction(factory) as session:
        assert finish(session, mine, T0 + timedelta(seconds=70), overran=True)
        session.get(CheckSchedule, lost.schedule_id).lease_owner = "node-b"
    with transaction(factory) as session:
        assert not finish(session, lost)
        row = session.get(CheckSchedule, mine.schedule_id)
        assert row.lease_owner is None and row.overruns == 1
        assert session.get(CheckSchedule, lost.schedule_id).lease_owner == "node-b"
        assert release_owner(session, "node-b", T0 + timedelta(seconds=71)) == 1
    assert [c.schedule_id for c in claim(factory, "node-c", T0 + timedelta(seconds=72))] == [
        lost.schedule_id
    ]


def test_never_run_claims_new_rows_whatever_their_due_time(engine):
    """`serve --once` takes every row never run, due or not, once."""
    factory = session_factory(engine)
    add_fleet(factory, 4)
    schedule(factory)
    with transaction(factory) as session:
        claims = claim_due(session, "once", T0, 100, never_run=True)
    assert len(claims) == 12
    with transaction(factory) as session:
        assert claim_due(session, "once", T0, 100, never_run=True) == []


def test_two_nodes_claim_disjoint_batches_with_skip_locked(engine):
    """On PostgreSQL two open transactions claiming at once get disjoint rows (SKIP LOCKED)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one node")
    factory = session_factory(engine)
    add_fleet(factory, 40)
    schedule(factory)
    now = T0 + timedelta(seconds=60)
    with factory() as first, factory() as second:
        with first.begin():
            a = claim_due(first, "node-a", now, 25)
            with second.begin():  # runs while node-a's transaction still holds its row locks
                b = claim_due(second, "node-b", now, 25)
    ids_a, ids_b = {c.schedule_id for c in a}, {c.schedule_id for c in b}
    assert len(ids_a) == 25 and len(ids_b) == 15 and not ids_a & ids_b
